package source

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/docker-live/docker-live/stream"
)

func runPoll(t *testing.T, fe *fakeEngine, rec *recorder, interval time.Duration) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := fe.client(t)
	go func() { done <- Poll(ctx, c, rec, interval) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Poll: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Poll did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestPollFirstRoundIsImmediateAndReadsTheList(t *testing.T) {
	leakCheck(t)
	fe := newFakeEngine(t)
	web := fe.create(fakeSpec{
		name: "web", health: true,
		labels: map[string]string{labelProject: "shop", labelService: "web"},
		ports:  network.PortMap{mustPort("80/tcp"): {binding("0.0.0.0", "8080")}},
	})
	fe.start(web)
	fe.health(web, container.Healthy)
	job := fe.create(fakeSpec{name: "job"})
	fe.start(job)
	fe.die(job, 3)
	p := fe.create(fakeSpec{name: "p"})
	fe.start(p)
	fe.pause(p)

	rec := newRecorder()
	stop := runPoll(t, fe, rec, 20*time.Millisecond)
	waitFor(t, "second round's stats", func() bool { return rec.count(isKind("stats")) >= 2 })
	stop()

	calls := rec.snapshot()
	if calls[0].kind != "engine" || calls[0].engine.State != stream.EngineConnected || calls[0].engine.Version != "20.10.99-fake" {
		t.Errorf("first call = %+v, want engine connected", calls[0])
	}
	if calls[1].kind != "reset" || len(calls[1].reset) != 3 {
		t.Fatalf("second call = %+v, want a reset of 3", calls[1])
	}
	w, _ := rec.get(web)
	if w.Name != "web" || w.State != "running" || w.Health != "healthy" || w.Status != "Up 3 seconds (healthy)" ||
		w.Project != "shop" || w.Service != "web" || w.Command != "/app serve --greeting 'hello world'" ||
		len(w.Ports) != 1 || w.Ports[0] != (stream.Port{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Proto: "tcp"}) ||
		len(w.Networks) != 1 {
		t.Errorf("web = %+v", w)
	}
	if j, _ := rec.get(job); j.State != "exited" || j.ExitCode != 3 {
		t.Errorf("job = %+v", j)
	}
	resets := 0
	for _, c := range calls {
		if c.kind == "reset" {
			resets++
		}
		if c.kind == "stats" && resets < 2 {
			// A first reading has no CPU delta: 0 % would read as idle.
			t.Errorf("stats sent in the first round, without a previous reading: %+v", c.stats)
		}
		if c.kind == "stats" && c.id == job {
			t.Errorf("stats of an exited container")
		}
	}
}

func TestPollCPUFromSecondRoundAndEngineLoss(t *testing.T) {
	leakCheck(t)
	fe := newFakeEngine(t)
	web := fe.create(fakeSpec{name: "web"})
	fe.start(web)
	rec := newRecorder()
	runPoll(t, fe, rec, 20*time.Millisecond)

	// The fake gives half a CPU-second per round out of two CPUs' time.
	waitFor(t, "CPU % on a later round", func() bool {
		return rec.count(func(c call) bool {
			return c.kind == "stats" && c.id == web && math.Abs(c.stats.CPUPercent-50) < 0.01
		}) > 0
	})

	fe.setDown(true)
	waitFor(t, "unavailable", func() bool { return rec.count(isEngine(stream.EngineUnavailable)) == 1 })
	resets := rec.count(isKind("reset"))
	dialed := fe.dials.Load()
	waitFor(t, "three failed rounds", func() bool { return fe.dials.Load() >= dialed+3 })
	if n := rec.count(isEngine(stream.EngineUnavailable)); n != 1 {
		t.Errorf("unavailable reported %d times in one outage", n)
	}
	if rec.count(isKind("reset")) != resets {
		t.Errorf("reset while the Engine was down")
	}
	fe.setDown(false)
	waitFor(t, "connected again", func() bool { return rec.count(isEngine(stream.EngineConnected)) == 2 })
	waitFor(t, "polling again", func() bool { return rec.count(isKind("reset")) > resets })
}

func TestPollRejectsBadArguments(t *testing.T) {
	fe := newFakeEngine(t)
	c := fe.client(t)
	if err := Poll(context.Background(), c, newRecorder(), 0); err == nil {
		t.Errorf("zero interval accepted")
	}
	if err := Poll(context.Background(), nil, newRecorder(), time.Second); err == nil {
		t.Errorf("nil client accepted")
	}
	if err := Poll(context.Background(), c, nil, time.Second); err == nil {
		t.Errorf("nil sink accepted")
	}
}
