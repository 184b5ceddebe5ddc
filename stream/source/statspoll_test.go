package source

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client/pkg/versions"

	"github.com/docker-live/docker-live/stream"
)

// manualClock drives a pollCollector's time by hand: advance moves the
// clock and hands the dispatcher one tick.
type manualClock struct {
	mu   sync.Mutex
	t    time.Time
	tick chan time.Time
}

func newManualClock() *manualClock {
	return &manualClock{t: time.Unix(1_800_000_000, 0), tick: make(chan time.Time)}
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// advance moves the clock by d and waits until the dispatcher took the
// tick (the send is unbuffered).
func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	now := c.t
	c.mu.Unlock()
	c.tick <- now
}

func (c *manualClock) pollClock() pollClock {
	return pollClock{
		now:  c.now,
		tick: func(time.Duration) (<-chan time.Time, func()) { return c.tick, func() {} },
	}
}

// logLines collects what a collector logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logLines) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

type pollFixture struct {
	fe    *fakeEngine
	clock *manualClock
	rec   *recorder
	log   *logLines
	p     *pollCollector
}

// newPollFixture makes a pollCollector against the fake Engine, on a
// manual clock that also stamps the fake's answers. Every container is
// alive unless dead says otherwise.
func newPollFixture(t *testing.T, bo stream.Backoff, dead func(string) bool) *pollFixture {
	t.Helper()
	fe := newFakeEngine(t)
	clock := newManualClock()
	fe.mu.Lock()
	fe.readClock = clock.now
	fe.mu.Unlock()
	f := &pollFixture{fe: fe, clock: clock, rec: newRecorder(), log: &logLines{}}
	alive := func(id string) bool { return dead == nil || !dead(id) }
	c := fe.client(t)
	fallback := newAPICollector(context.Background(), c, f.rec, bo, f.log.logf, alive)
	f.p = newPollCollector(context.Background(), c, f.rec, bo, f.log.logf, alive, fallback, clock.pollClock(), statsPollInterval)
	t.Cleanup(f.p.close)
	return f
}

func (f *pollFixture) running(name string) string {
	id := f.fe.create(fakeSpec{name: name})
	f.fe.start(id)
	return id
}

// step advances the clock by d and waits until every request that tick
// started has been answered, so that the clock does not run ahead of the
// workers.
func (f *pollFixture) step(t *testing.T, d time.Duration) {
	t.Helper()
	f.clock.advance(d)
	waitFor(t, "no request in flight", func() bool {
		f.p.mu.Lock()
		defer f.p.mu.Unlock()
		for _, tg := range f.p.targets {
			if tg.queued {
				return false
			}
		}
		return true
	})
}

// answered waits until id has been asked for n times and the last answer
// has been handled.
func (f *pollFixture) answered(t *testing.T, id string, n int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("answer %d for %.12s", n, id), func() bool {
		if f.fe.askedOneShot(id) < n {
			return false
		}
		f.p.mu.Lock()
		defer f.p.mu.Unlock()
		tg := f.p.targets[id]
		return tg == nil || !tg.queued
	})
}

func (f *pollFixture) samples(id string) int {
	return f.rec.count(func(c call) bool { return c.kind == "stats" && c.id == id })
}

// The choice between polling and streaming uses the moby client's version
// comparison; this pins it for the versions that matter here (an
// unparsable version counts as too old).
func TestAPIVersionAtLeast(t *testing.T) {
	for v, want := range map[string]bool{"1.41": true, "1.52": true, "2.0": true, "1.40": false, "1.9": false, "": false, "x.y": false} {
		if got := versions.GreaterThanOrEqualTo(v, oneShotAPI); got != want {
			t.Errorf("versions.GreaterThanOrEqualTo(%q, %q) = %v, want %v", v, oneShotAPI, got, want)
		}
	}
}

func TestPollFirstSampleOneIntervalAfterStart(t *testing.T) {
	leakCheck(t)
	f := newPollFixture(t, stream.NewBackoff(0, 0), nil)
	a := f.running("a")
	f.p.start(a, stream.Container{ID: a})
	// The first reading is asked for at once, and only kept as the base.
	f.answered(t, a, 1)
	f.clock.advance(statsPollInterval / 2)
	f.clock.advance(statsPollInterval/2 - statsPollInterval/pollTicks)
	if n := f.fe.askedOneShot(a); n != 1 {
		t.Fatalf("asked %d times before one interval passed, want 1", n)
	}
	if n := f.samples(a); n != 0 {
		t.Fatalf("%d samples from the base reading alone", n)
	}
	// One interval after the base: the first sample, with the CPU % of
	// the fake's half a CPU-second per two seconds of two CPUs.
	f.clock.advance(statsPollInterval / pollTicks)
	waitFor(t, "the first sample", func() bool { return f.samples(a) == 1 })
	s := f.rec.snapshot()[indexOf(f.rec.snapshot(), 0, func(c call) bool { return c.kind == "stats" })].stats
	if math.Abs(s.CPUPercent-50) > 0.01 || s.MemUsage != 80<<20 || s.Source != "api" || s.PIDs != 3 {
		t.Errorf("first sample %+v, want 50 %% CPU, 80 MiB, source api", s)
	}
	if got := f.p.sources(); !reflect.DeepEqual(got, map[string]string{a: "api"}) {
		t.Errorf("sources = %v", got)
	}
	f.answered(t, a, 2)
	// Then one request per interval.
	for i := 2; i <= 4; i++ {
		f.clock.advance(statsPollInterval)
		waitFor(t, fmt.Sprintf("sample %d", i), func() bool { return f.samples(a) == i })
		f.answered(t, a, int64(i+1))
	}
	if n := f.fe.askedOneShot(a); n != 5 {
		t.Errorf("asked %d times for 4 samples, want 5", n)
	}
	if n := f.fe.statsOpen.Load(); n != 0 {
		t.Errorf("%d stats streams open, want none", n)
	}
}

func TestPollReadingsTooCloseKeepTheBase(t *testing.T) {
	leakCheck(t)
	f := newPollFixture(t, stream.NewBackoff(0, 0), nil)
	a := f.running("a")
	f.p.start(a, stream.Container{ID: a})
	f.answered(t, a, 1)
	// A stop and a start in quick succession (a restart) asks again at
	// once; an answer stamped under half an interval after the base must
	// not make a CPU % out of a few milliseconds.
	f.p.stop(a)
	f.p.start(a, stream.Container{ID: a})
	f.answered(t, a, 2)
	if n := f.samples(a); n != 0 {
		t.Fatalf("%d samples from readings 0 s apart", n)
	}
	f.clock.advance(statsPollInterval)
	waitFor(t, "the first sample", func() bool { return f.samples(a) == 1 })
}

func TestPollStopDuringRequestSendsNothing(t *testing.T) {
	leakCheck(t)
	f := newPollFixture(t, stream.NewBackoff(0, 0), nil)
	a := f.running("a")
	f.p.start(a, stream.Container{ID: a})
	f.answered(t, a, 1)
	gate := make(chan struct{})
	f.fe.mu.Lock()
	f.fe.oneShotGate[a] = gate
	f.fe.mu.Unlock()
	f.clock.advance(statsPollInterval)
	waitFor(t, "the second request in flight", func() bool { return f.fe.askedOneShot(a) == 2 })
	f.p.stop(a)
	close(gate) // the Engine answers after the stop
	if got := f.p.sources(); len(got) != 0 {
		t.Errorf("sources after stop = %v", got)
	}
	// The worker is free again once the answer was dropped: a second
	// container is served.
	b := f.running("b")
	f.p.start(b, stream.Container{ID: b})
	f.answered(t, b, 1)
	f.step(t, statsPollInterval)
	waitFor(t, "b's first sample", func() bool { return f.samples(b) == 1 })
	if n := f.samples(a); n != 0 {
		t.Errorf("%d samples of a after its stop", n)
	}
	f.clock.advance(statsPollInterval)
	if n := f.fe.askedOneShot(a); n != 2 {
		t.Errorf("a asked %d times, want 2 (none after its stop)", n)
	}
}

func TestPollContainerGoneIsDropped(t *testing.T) {
	leakCheck(t)
	f := newPollFixture(t, stream.NewBackoff(0, 0), nil)
	a := f.running("a")
	f.p.start(a, stream.Container{ID: a})
	f.answered(t, a, 1)
	f.step(t, statsPollInterval)
	waitFor(t, "the first sample", func() bool { return f.samples(a) == 1 })
	// Removed behind the Source's back: the Engine answers 404.
	f.fe.destroy(a)
	f.step(t, statsPollInterval)
	waitFor(t, "a dropped", func() bool { return len(f.p.sources()) == 0 })
	asked := f.fe.askedOneShot(a)
	for range 3 {
		f.step(t, statsPollInterval)
	}
	if n := f.fe.askedOneShot(a); n != asked {
		t.Errorf("asked %d more times after the 404", n-asked)
	}
	if f.log.count("stats of") != 0 {
		t.Errorf("a 404 was logged as a failure: %v", f.log.lines)
	}
}

func TestPollSlowContainersDoNotStallOthers(t *testing.T) {
	leakCheck(t)
	f := newPollFixture(t, stream.NewBackoff(0, 0), nil)
	// a and b hang (a stuck shim), holding both standing workers.
	gate := make(chan struct{})
	defer close(gate)
	var stuck []string
	for _, name := range []string{"a", "b"} {
		id := f.running(name)
		f.fe.mu.Lock()
		f.fe.oneShotGate[id] = gate
		f.fe.mu.Unlock()
		f.p.start(id, stream.Container{ID: id})
		stuck = append(stuck, id)
	}
	waitFor(t, "a and b in flight", func() bool { return f.fe.askedOneShot(stuck[0]) == 1 && f.fe.askedOneShot(stuck[1]) == 1 })
	c := f.running("c")
	f.p.start(c, stream.Container{ID: c})
	// c waits behind them for at most one interval: then a spare worker
	// asks for it.
	for range pollTicks - 1 {
		f.clock.advance(statsPollInterval / pollTicks)
	}
	if n := f.fe.askedOneShot(c); n != 0 {
		t.Fatalf("c asked %d times while both workers hang, want 0 before an interval passed", n)
	}
	f.clock.advance(statsPollInterval / pollTicks)
	f.answered(t, c, 1)
	f.clock.advance(statsPollInterval)
	waitFor(t, "c's first sample", func() bool { return f.samples(c) == 1 })
	f.answered(t, c, 2)
	f.clock.advance(statsPollInterval)
	waitFor(t, "c's second sample", func() bool { return f.samples(c) == 2 })
	f.p.mu.Lock()
	workers := f.p.workers
	f.p.mu.Unlock()
	if workers > maxPollWorkers {
		t.Errorf("%d workers, want at most %d", workers, maxPollWorkers)
	}
}

func TestPollFailuresBackOff(t *testing.T) {
	leakCheck(t)
	bo := stream.NewBackoff(time.Second, 8*time.Second)
	f := newPollFixture(t, bo, nil)
	a := f.running("a")
	f.fe.mu.Lock()
	f.fe.failOneShot[a] = true
	f.fe.mu.Unlock()
	f.p.start(a, stream.Container{ID: a})
	waitFor(t, "the first request", func() bool { return f.fe.askedOneShot(a) == 1 })
	// 30 s in ticks: without a backoff that would be 30 requests; with
	// 1, 2, 4, 8, 8, 8 s (each drawn from its upper half) at most 8.
	for range 30 * pollTicks {
		f.step(t, statsPollInterval/pollTicks)
	}
	n := f.fe.askedOneShot(a)
	if n < 4 || n > 9 {
		t.Errorf("asked %d times in 30 s of failures, want 4 to 9 (backing off up to 8 s)", n)
	}
	if got := f.log.count("stats of"); got != 1 {
		t.Errorf("logged %d failures, want 1 per streak: %v", got, f.log.lines)
	}
	// Recovered: back to one request per interval within the longest
	// backoff, and samples again.
	f.fe.mu.Lock()
	f.fe.failOneShot[a] = false
	f.fe.mu.Unlock()
	for range 10 * pollTicks {
		f.step(t, statsPollInterval/pollTicks)
	}
	waitFor(t, "samples after recovery", func() bool { return f.samples(a) >= 1 })
	before := f.fe.askedOneShot(a)
	for range 5 * pollTicks {
		f.step(t, statsPollInterval/pollTicks)
	}
	if got := f.fe.askedOneShot(a) - before; got < 4 || got > 6 {
		t.Errorf("asked %d times in 5 s after recovering, want about 5", got)
	}
}

func TestPollDeadContainerIsDropped(t *testing.T) {
	leakCheck(t)
	var mu sync.Mutex
	dead := map[string]bool{}
	f := newPollFixture(t, stream.NewBackoff(0, 0), func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		return dead[id]
	})
	a := f.running("a")
	f.p.start(a, stream.Container{ID: a})
	f.answered(t, a, 1)
	// It stopped: the Engine answers a record without a reading, and the
	// Source no longer counts it running.
	f.fe.die(a, 0)
	mu.Lock()
	dead[a] = true
	mu.Unlock()
	f.clock.advance(statsPollInterval)
	waitFor(t, "a dropped", func() bool { return len(f.p.sources()) == 0 })
}

func TestPollFallsBackToStreamsWhenOneShotIsIgnored(t *testing.T) {
	leakCheck(t)
	f := newPollFixture(t, stream.NewBackoff(0, 0), nil)
	f.fe.mu.Lock()
	f.fe.ignoreOneShot = true
	f.fe.mu.Unlock()
	a := f.running("a")
	f.p.start(a, stream.Container{ID: a})
	waitFor(t, "a stream instead", func() bool { return f.fe.statsOpen.Load() == 1 })
	if f.log.count("ignores one-shot") != 1 {
		t.Errorf("the fallback was not logged once: %v", f.log.lines)
	}
	// New containers stream too, and stop closes their streams.
	b := f.running("b")
	f.p.start(b, stream.Container{ID: b})
	waitFor(t, "b's stream", func() bool { return f.fe.statsOpen.Load() == 2 })
	waitFor(t, "samples from the streams", func() bool { return f.samples(a) > 0 && f.samples(b) > 0 })
	if got := f.p.sources(); !reflect.DeepEqual(got, map[string]string{a: "api", b: "api"}) {
		t.Errorf("sources = %v", got)
	}
	f.p.stop(a)
	waitFor(t, "a's stream closed", func() bool { return f.fe.statsOpen.Load() == 1 })
	n := f.samples(a)
	f.clock.advance(statsPollInterval)
	if f.fe.askedOneShot(b) != 0 || f.fe.askedOneShot(a) != 1 {
		t.Errorf("one-shot asked again after the fallback: a %d, b %d", f.fe.askedOneShot(a), f.fe.askedOneShot(b))
	}
	if got := f.samples(a); got != n {
		t.Errorf("%d samples of a after its stop", got-n)
	}
}

// Engine 20.10 honours one-shot's format but holds each answer until its
// own stats round, up to a second: two workers cannot ask for every
// container each second, so the collector streams instead.
func TestPollFallsBackToStreamsWhenAnswersWaitForTheEngine(t *testing.T) {
	leakCheck(t)
	f := newPollFixture(t, stream.NewBackoff(0, 0), nil)
	a := f.running("a")
	for i := range slowAnswers {
		gate := make(chan struct{})
		f.fe.mu.Lock()
		f.fe.oneShotGate[a] = gate
		f.fe.mu.Unlock()
		if i == 0 {
			f.p.start(a, stream.Container{ID: a})
		} else {
			f.clock.advance(statsPollInterval)
		}
		waitFor(t, fmt.Sprintf("request %d in flight", i+1), func() bool { return f.fe.askedOneShot(a) == int64(i+1) })
		// The answer comes 600 ms after the request.
		f.clock.advance(statsPollInterval * 6 / 10)
		close(gate)
		if i < slowAnswers-1 {
			f.answered(t, a, int64(i+1))
		}
	}
	waitFor(t, "a stream instead", func() bool { return f.fe.statsOpen.Load() == 1 })
	if f.log.count("wait for its own stats round") != 1 {
		t.Errorf("the fallback was not logged once: %v", f.log.lines)
	}
	if got := f.p.sources(); !reflect.DeepEqual(got, map[string]string{a: "api"}) {
		t.Errorf("sources = %v", got)
	}
}

// Quick answers settle it: later slow ones (a busy moment) do not switch.
func TestPollQuickAnswersKeepPolling(t *testing.T) {
	leakCheck(t)
	f := newPollFixture(t, stream.NewBackoff(0, 0), nil)
	a := f.running("a")
	f.p.start(a, stream.Container{ID: a})
	f.answered(t, a, 1)
	for i := 2; i <= quickAnswers; i++ {
		f.clock.advance(statsPollInterval)
		f.answered(t, a, int64(i))
	}
	for i := range slowAnswers {
		gate := make(chan struct{})
		f.fe.mu.Lock()
		f.fe.oneShotGate[a] = gate
		f.fe.mu.Unlock()
		f.clock.advance(statsPollInterval)
		n := int64(quickAnswers + i + 1)
		waitFor(t, "slow request in flight", func() bool { return f.fe.askedOneShot(a) == n })
		f.clock.advance(statsPollInterval * 6 / 10)
		close(gate)
		f.answered(t, a, n)
	}
	if n := f.fe.statsOpen.Load(); n != 0 {
		t.Errorf("%d streams after slow answers that followed quick ones", n)
	}
}

func TestPollCloseEndsEverything(t *testing.T) {
	leakCheck(t)
	f := newPollFixture(t, stream.NewBackoff(0, 0), nil)
	gate := make(chan struct{})
	defer close(gate)
	a := f.running("a")
	f.fe.mu.Lock()
	f.fe.oneShotGate[a] = gate
	f.fe.mu.Unlock()
	f.p.start(a, stream.Container{ID: a})
	waitFor(t, "a request in flight", func() bool { return f.fe.askedOneShot(a) == 1 })
	done := make(chan struct{})
	go func() {
		f.p.close() // cancels the hanging request
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // far over what a cancel takes
		t.Fatal("close did not return while a request hung")
	}
	f.p.start(a, stream.Container{ID: a})
	if got := f.p.sources(); len(got) != 0 {
		t.Errorf("start after close collected %v", got)
	}
}

// Through the Source, on an Engine with one-shot: samples come without any
// stream, and stop as the containers do.
func TestStatsPollFollowContainers(t *testing.T) {
	leakCheck(t)
	fe := newFakeEngine(t)
	r1 := fe.create(fakeSpec{name: "r1"})
	fe.start(r1)
	s, rec, stop := newTestSource(t, fe)
	waitFor(t, "CPU % of r1", func() bool {
		return rec.count(func(c call) bool {
			return c.kind == "stats" && c.id == r1 && math.Abs(c.stats.CPUPercent-50) < 1 && c.stats.MemUsage == 80<<20 && c.stats.Source == "api"
		}) > 0
	})
	if got := s.StatsSources(); !reflect.DeepEqual(got, map[string]string{r1: "api"}) {
		t.Errorf("StatsSources = %v", got)
	}
	if n := fe.statsOpen.Load(); n != 0 {
		t.Errorf("%d stats streams open on an Engine with one-shot", n)
	}
	d := fe.die(r1, 0)
	waitFor(t, "r1 no longer collected", func() bool { return len(s.StatsSources()) == 0 })
	calls := rec.snapshot()
	if i := indexOf(calls, indexOf(calls, 0, isEvent(d)), func(c call) bool { return c.kind == "stats" && c.id == r1 }); i >= 0 {
		t.Errorf("stats of r1 after its die event: %+v", calls[i])
	}
	stop()
}
