package plugin

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/output"
)

// The printer remembers printed events for dedupWindow and no longer: a
// repeat within it is dropped, the set stays bounded at high rates (it is
// pruned from the oldest, a little per event), and an event stamped before
// the window is forgotten.
func TestEventPrinterDedupIsBounded(t *testing.T) {
	format, err := output.ParseEventsFormat("{{.Action}} {{.Actor.ID}}")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := &eventPrinter{out: &out, now: time.Now, format: format}
	base := time.Unix(1_700_000_000, 0).UnixNano()
	ev := func(i int) events.Message {
		return events.Message{Type: events.ContainerEventType, Action: "exec_die",
			Actor: events.Actor{ID: fmt.Sprintf("c%d", i%50)}, TimeNano: base + int64(i)*int64(time.Millisecond)}
	}
	// 60 s of events at 1,000 a second.
	const n = 60_000
	for i := range n {
		if err := p.print(ev(i)); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 {
			if err := p.print(ev(i - 500)); err != nil { // a repeat from half a second ago
				t.Fatal(err)
			}
		}
	}
	if lines := bytes.Count(out.Bytes(), []byte("\n")); lines != n {
		t.Errorf("printed %d lines, want %d (each event once)", lines, n)
	}
	window := int(dedupWindow / int64(time.Millisecond))
	if len(p.seen) > window+1 || len(p.order) != len(p.seen) {
		t.Errorf("remembers %d events (order %d), want at most the window's %d", len(p.seen), len(p.order), window+1)
	}
	out.Reset()
	if err := p.print(ev(0)); err != nil { // older than the window: forgotten
		t.Fatal(err)
	}
	if out.Len() == 0 {
		t.Errorf("an event from before the window was still remembered")
	}
}
