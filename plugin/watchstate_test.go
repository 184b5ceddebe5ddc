package plugin

import (
	"testing"

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
