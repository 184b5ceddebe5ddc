package hub

import (
	"testing"

	"github.com/docker-live/docker-live/stream"
)

// TestMetricsView: only containers with a sample are reported, sorted by
// id, with their stored state and newest sample; the counters count events
// relayed and subscribers cut for being slow.
func TestMetricsView(t *testing.T) {
	clock := newFakeClock()
	h := New(Config{Now: clock.Now, QueueSize: 2})
	h.Reset([]stream.Container{ctr("b2", "web"), ctr("a1", "db"), {ID: "c3", Name: "stopped", State: "exited"}})
	h.Stats(stream.Stats{ID: "b2", CPUTotal: 7e9, MemTotal: 300, MemUsage: 200})
	h.Stats(stream.Stats{ID: "a1", CPUTotal: 1e9})
	h.Stats(stream.Stats{ID: "zz"}) // unknown: dropped by the hub
	h.EngineStatus(stream.EngineStatus{State: stream.EngineConnected})

	v := h.MetricsView()
	if v.Containers != 3 || v.Engine.State != stream.EngineConnected {
		t.Fatalf("containers %d engine %q; want 3, connected", v.Containers, v.Engine.State)
	}
	if len(v.Samples) != 2 || v.Samples[0].Container.ID != "a1" || v.Samples[1].Container.ID != "b2" {
		t.Fatalf("samples %+v; want a1 then b2", v.Samples)
	}
	if s := v.Samples[1]; s.Container.Name != "web" || s.Stats.CPUTotal != 7e9 || s.Stats.MemTotal != 300 {
		t.Fatalf("b2 = %+v", s)
	}

	sub, err := h.Subscribe(stream.Subscription{Protocol: stream.ProtocolVersion, Topics: []string{stream.TopicEvents}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		h.Event(event(i)) // nobody takes them: the queue of 2 overflows
	}
	<-sub.Ended()
	v = h.MetricsView()
	if v.Events != 10 || v.SlowCuts != 1 {
		t.Fatalf("events %d slow cuts %d; want 10, 1", v.Events, v.SlowCuts)
	}
}
