package source

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
)

// call is one Sink call as the recorder saw it.
type call struct {
	kind   string // engine, reset, upsert, remove, event, stats
	engine stream.EngineStatus
	reset  []stream.Container
	c      stream.Container
	id     string
	ev     events.Message
	stats  stream.Stats
}

// recorder is a Sink that keeps every call in order and the state they add
// up to.
type recorder struct {
	mu    sync.Mutex
	calls []call
	state map[string]stream.Container
}

func newRecorder() *recorder { return &recorder{state: map[string]stream.Container{}} }

func (r *recorder) add(c call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	switch c.kind {
	case "reset":
		r.state = map[string]stream.Container{}
		for _, x := range c.reset {
			r.state[x.ID] = x
		}
	case "upsert":
		r.state[c.c.ID] = c.c
	case "remove":
		delete(r.state, c.id)
	}
}

func (r *recorder) EngineStatus(st stream.EngineStatus) { r.add(call{kind: "engine", engine: st}) }
func (r *recorder) Reset(cs []stream.Container)         { r.add(call{kind: "reset", reset: cs}) }
func (r *recorder) Upsert(c stream.Container)           { r.add(call{kind: "upsert", c: c, id: c.ID}) }
func (r *recorder) Remove(id string)                    { r.add(call{kind: "remove", id: id}) }
func (r *recorder) Event(ev events.Message)             { r.add(call{kind: "event", ev: ev}) }
func (r *recorder) Stats(s stream.Stats)                { r.add(call{kind: "stats", stats: s, id: s.ID}) }

func (r *recorder) snapshot() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

func (r *recorder) get(id string) (stream.Container, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.state[id]
	return c, ok
}

// count is how many calls match.
func (r *recorder) count(match func(call) bool) int {
	n := 0
	for _, c := range r.snapshot() {
		if match(c) {
			n++
		}
	}
	return n
}

// indexOf is the index of the first call at or after from that matches, or -1.
func indexOf(calls []call, from int, match func(call) bool) int {
	for i := max(from, 0); i < len(calls); i++ {
		if match(calls[i]) {
			return i
		}
	}
	return -1
}

func isEvent(m events.Message) func(call) bool {
	return func(c call) bool {
		return c.kind == "event" && c.ev.TimeNano == m.TimeNano && c.ev.Action == m.Action && c.ev.Actor.ID == m.Actor.ID
	}
}

func isKind(kind string) func(call) bool {
	return func(c call) bool { return c.kind == kind }
}

func isEngine(state string) func(call) bool {
	return func(c call) bool { return c.kind == "engine" && c.engine.State == state }
}

const waitTimeout = 15 * time.Second

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, waitTimeout, what, cond)
}

func waitWithin(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// leakCheck fails the test if goroutines started during it are still alive
// a while after everything else was cleaned up. Register it first: cleanups
// run last-in first-out.
func leakCheck(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines still running, %d before the test:\n%s", n, before, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// runSource runs a Source until the test ends or stop is called; stop
// fails the test if Run does not return promptly or returns an error.
func runSource(t *testing.T, cfg Config) (*Source, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := New(cfg)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return s, stop
}
