package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/output"
)

// downEngine is a fake of an Engine that cannot be reached, for unit tests
// only: every /events request fails at once.
type downEngine struct{}

func (downEngine) Events(context.Context, client.EventsListOptions) client.EventsResult {
	errs := make(chan error, 1)
	errs <- errors.New("Cannot connect to the Docker daemon at unix:///down.sock")
	return client.EventsResult{Messages: make(chan events.Message), Err: errs}
}

// Two contexts' events merged: one context with a streamer, one whose
// streamer and Engine are both unreachable. The reachable one's events
// are printed, each with its context, while the other says on stderr that
// its Engine is unavailable; it holds nothing up.
func TestEventsContextsOneDownOtherPrints(t *testing.T) {
	r := newEventsRig(t)
	h := r.startStreamer()
	format, _ := output.ParseEventsFormat("json")
	var out, errOut lockedBuffer
	follow := func(name string, engine engineEvents, dial func(context.Context) (net.Conn, error)) contextEvents {
		return contextEvents{name: name, follow: eventsFollow{
			Engine: engine, Dial: dial, Out: &out, Err: contextNotices{w: &errOut, name: name},
			Format: format.WithContext(name, 4), Start: r.clock.Now(), Now: r.clock.Now,
			FallbackAfter: 30 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		}}
	}
	refused := func(context.Context) (net.Conn, error) { return nil, syscall.ECONNREFUSED }
	parts := []contextEvents{
		follow("down", downEngine{}, refused),
		follow("up", r.engine, r.dial),
		{name: "bad", broken: errors.New("cannot read the context's TLS files: open ca.pem: no such file"), follow: eventsFollow{Err: contextNotices{w: &errOut, name: "bad"}}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- followEventsContexts(ctx, parts, nil) }()

	r.subscribed(h)
	r.clock.add(time.Millisecond)
	ev := r.engine.log("pause", "c1")
	h.Event(ev)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"Action":"pause"`) || !strings.Contains(errOut.String(), "context down: Engine unavailable") {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: up's event and down's notice\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
		time.Sleep(time.Millisecond) // polling a condition the code under test makes true
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &line); err != nil || line["context"] != "up" {
		t.Errorf("the event line %q does not name its context (%v)", out.String(), err)
	}
	if !strings.Contains(errOut.String(), "docker live: context bad: cannot read the context's TLS files") {
		t.Errorf("the broken context is not named on stderr:\n%s", errOut.String())
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "context bad: cannot read") || strings.Contains(err.Error(), "context up") {
			t.Errorf("followEventsContexts = %v, want the broken context named and no other", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("followEventsContexts did not return after its context ended")
	}
}
