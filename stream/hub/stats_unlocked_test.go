package hub

import (
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// The stats batch is encoded without the hub's lock: an event broadcast
// while a flush encodes goes out at once (here: from inside the encoding,
// which would deadlock if the lock were held). A container removed
// meanwhile makes the batch stale: it is not sent with the removed
// container's sample; the next flush sends a fresh one.
func TestStatsFlushEncodesWithoutTheLock(t *testing.T) {
	clock := newFakeClock()
	h := New(Config{Now: clock.Now})
	h.Upsert(ctr("a1", "a"))
	h.Upsert(ctr("b1", "b"))
	s := subscribe(t, h, stream.Subscription{})
	take(t, s)
	h.Stats(stream.Stats{ID: "a1", CPUPercent: 1})
	h.Stats(stream.Stats{ID: "b1", CPUPercent: 2})

	flushEncodeHook = func() {
		h.Event(event(1))
		h.Remove("b1")
	}
	defer func() { flushEncodeHook = nil }()
	clock.Advance(time.Second)
	h.flushStats()
	flushEncodeHook = nil
	ms := take(t, s)
	wantTypes(t, ms, stream.TypeEvent, stream.TypeRemove)

	clock.Advance(time.Second)
	h.flushStats()
	ms = take(t, s)
	wantTypes(t, ms, stream.TypeStats)
	if len(ms[0].Stats) != 1 || ms[0].Stats[0].ID != "a1" {
		t.Errorf("batch after the removal = %+v, want a1 alone", ms[0].Stats)
	}
}
