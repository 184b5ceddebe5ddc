package source

import (
	"fmt"
	"time"

	"github.com/moby/moby/api/types/events"
)

// EventID identifies an Engine event: the Engine stamps each with
// nanoseconds, but two events of one container can share a stamp, so the
// type, action and actor make it unique. Whoever reads the Engine's events
// across a reconnect (the source, or events' direct fallback) replays some
// of them, and drops the ones whose EventID it has passed on.
type EventID struct {
	TimeNano int64
	Type     events.Type
	Action   events.Action
	Actor    string
}

// IdentifyEvent is m's EventID.
func IdentifyEvent(m events.Message) EventID {
	return EventID{TimeNano: m.TimeNano, Type: m.Type, Action: m.Action, Actor: m.Actor.ID}
}

// EngineTimestamp is the Engine's since/until form of t: Unix seconds and
// nanoseconds. No event is older than the Unix epoch, and the Docker client
// refuses a negative timestamp, so earlier times become the epoch.
func EngineTimestamp(t time.Time) string {
	if t.Unix() < 0 {
		return "0.000000000"
	}
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}
