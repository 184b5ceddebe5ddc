package plugin

import (
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
