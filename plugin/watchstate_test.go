package plugin

import (
	"strings"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/liveclient"
)

func running(id, name string) stream.Container {
	return stream.Container{ID: id, Name: name, State: "running"}
}

// Issue 15: --poll --no-stream counted samples, not polling rounds, so with
// two containers the first round (no CPU delta yet) looked like two rounds.
func TestPollNoStreamWaitsForSecondRound(t *testing.T) {
	state := newWatchState()
	state.setConn(liveclient.State{Mode: liveclient.ModePolling})
	wv := &watchView{}
	sink := state.pollSink()
	list := []stream.Container{running("a1", "a"), running("b1", "b")}

	// Round 1: the list, then one sample each (the old poller sent them
	// with CPU 0, having no previous reading).
	sink.Reset(list)
	sink.Stats(stream.Stats{ID: "a1"})
	sink.Stats(stream.Stats{ID: "b1"})
	if onceReady(wv, state.snapshot(false)) {
		t.Fatal("ready after one polling round: its CPU % has no delta")
	}
	// Round 2: samples with a delta.
	sink.Reset(list)
	sink.Stats(stream.Stats{ID: "a1", CPUPercent: 27})
	if onceReady(wv, state.snapshot(false)) {
		t.Fatal("ready before b's second-round sample")
	}
	sink.Stats(stream.Stats{ID: "b1", CPUPercent: 3})
	if !onceReady(wv, state.snapshot(false)) {
		t.Fatal("not ready after two complete rounds")
	}
}

func TestPollSinkStampsWithItsClock(t *testing.T) {
	state := newWatchState()
	now := clock0
	state.now = func() time.Time { return now }
	sink := state.pollSink()
	sink.Reset([]stream.Container{running("a1", "a")})
	if v := state.snapshot(true); !v.updated.Equal(clock0) || !v.dirty["a1"] || !v.haveState {
		t.Fatalf("after the first poll: updated %s, dirty %v", v.updated, v.dirty)
	}
	now = now.Add(time.Second)
	sink.Reset([]stream.Container{running("a1", "a")})
	if v := state.snapshot(true); !v.updated.Equal(clock0.Add(time.Second)) || v.dirty["a1"] {
		t.Errorf("an unchanged poll marks a1 changed (dirty %v) or keeps the old time %s", v.dirty, v.updated)
	}
	sink.Stats(stream.Stats{ID: "a1", CPUPercent: 5})
	if v := state.snapshot(false); v.sampleRound["a1"] != 2 {
		t.Errorf("sample round %d, want 2", v.sampleRound["a1"])
	}
	// A stopped container loses its sample: unknown, not zero.
	sink.Reset([]stream.Container{{ID: "a1", Name: "a", State: "exited"}})
	if v := state.snapshot(false); len(v.stats) != 0 {
		t.Errorf("an exited container keeps its sample: %v", v.stats)
	}
}

func TestApplyKeepsTheStreamersState(t *testing.T) {
	state := newWatchState()
	now := clock0 // the injected clock: stamps messages that carry no time
	state.now = func() time.Time { return now }
	up := stream.EngineStatus{State: stream.EngineConnected}
	down := stream.EngineStatus{State: stream.EngineUnavailable, Error: "gone"}
	apply := func(m stream.Message) {
		t.Helper()
		if err := state.Apply(&m); err != nil {
			t.Fatal(err)
		}
	}

	apply(stream.Message{Type: stream.TypeHello, Hello: &stream.Hello{Engine: down}})
	if v := state.snapshot(false); v.engine != down || v.haveState {
		t.Fatalf("after hello: engine %+v, haveState %v", v.engine, v.haveState)
	}
	a, b := running("a1", "a"), running("b1", "b")
	a.Stats = &stream.Stats{ID: "a1", CPUPercent: 12}
	snapTime := clock0.Add(time.Second)
	apply(stream.Message{Type: stream.TypeSnapshot, Time: snapTime, Snapshot: &stream.Snapshot{Engine: up, Containers: []stream.Container{a, b}}})
	v := state.snapshot(true)
	if !v.haveState || v.engine != up || len(v.containers) != 2 || v.stats["a1"].CPUPercent != 12 || !v.updated.Equal(snapTime) || !v.dirty["a1"] || !v.dirty["b1"] {
		t.Fatalf("after the snapshot: %+v", v)
	}
	for _, c := range v.containers {
		if c.Stats != nil {
			t.Errorf("container %s keeps its embedded stats; they live in stats", c.ID)
		}
	}

	// Stats of a container not (or no longer) in the state are dropped.
	apply(stream.Message{Type: stream.TypeStats, Time: clock0.Add(2 * time.Second), Stats: []stream.Stats{{ID: "b1", CPUPercent: 3}, {ID: "zz", CPUPercent: 99}}})
	if v := state.snapshot(false); v.stats["b1"].CPUPercent != 3 || len(v.stats) != 2 {
		t.Errorf("after stats: %v", v.stats)
	}

	// A container that stops loses its stats; only it is marked changed;
	// a message without a time is stamped with the clock.
	now = clock0.Add(time.Minute)
	exited := b
	exited.State = "exited"
	apply(stream.Message{Type: stream.TypeContainer, Container: &exited})
	v = state.snapshot(true)
	if _, ok := v.stats["b1"]; ok || !v.dirty["b1"] || v.dirty["a1"] || !v.updated.Equal(now) {
		t.Errorf("after b stopped: stats %v, dirty %v, updated %s", v.stats, v.dirty, v.updated)
	}

	apply(stream.Message{Type: stream.TypeRemove, Remove: &stream.Removal{ID: "b1", Name: "b"}})
	apply(stream.Message{Type: stream.TypeEngine, Engine: &down})
	v = state.snapshot(false)
	if len(v.containers) != 1 || v.containers[0].ID != "a1" || v.engine != down {
		t.Errorf("after remove and engine: containers %v, engine %+v", v.containers, v.engine)
	}

	// A resync snapshot replaces the set: a1 went while disconnected.
	apply(stream.Message{Type: stream.TypeSnapshot, Snapshot: &stream.Snapshot{Engine: up, Containers: []stream.Container{running("c1", "c")}}})
	if v := state.snapshot(false); len(v.containers) != 1 || v.containers[0].ID != "c1" || len(v.stats) != 0 {
		t.Errorf("after the resync: containers %v stats %v", v.containers, v.stats)
	}
}

func TestApplySignalsStateAndStatsApart(t *testing.T) {
	state := newWatchState()
	if err := state.Apply(&stream.Message{Type: stream.TypeSnapshot, Snapshot: &stream.Snapshot{}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-state.stateCh:
	default:
		t.Error("a snapshot did not signal a state change")
	}
	select {
	case <-state.statsCh:
		t.Error("a snapshot signalled stats")
	default:
	}
	_ = state.Apply(&stream.Message{Type: stream.TypeStats})
	select {
	case <-state.statsCh:
	default:
		t.Error("stats did not signal")
	}
}

func TestEngineNoticesOncePerChange(t *testing.T) {
	var b strings.Builder
	notice := engineNoticePrinter(&b)
	up := stream.EngineStatus{State: stream.EngineConnected}
	down := stream.EngineStatus{State: stream.EngineUnavailable, Error: "dial unix /var/run/docker.sock: connect: no such file"}
	for _, st := range []stream.EngineStatus{up, up, down, down, up, up} {
		notice(st)
	}
	want := "docker live: Engine unavailable: dial unix /var/run/docker.sock: connect: no such file\ndocker live: Engine connected\n"
	if b.String() != want {
		t.Errorf("notices = %q, want %q (silent while all is well from the start, one line per change)", b.String(), want)
	}
}

func TestPollSinkEngineStatusReachesTheState(t *testing.T) {
	state := newWatchState()
	down := stream.EngineStatus{State: stream.EngineUnavailable, Error: "x"}
	state.pollSink().EngineStatus(down)
	if v := state.snapshot(false); v.engine != down {
		t.Errorf("engine = %+v, want %+v", v.engine, down)
	}
}
