package source

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/stats"
)

// The API stats source polls: a few workers ask the Engine for one
// container's one-shot stats (GET /containers/{id}/stats?stream=false&
// one-shot=true, API 1.41) at a time, once per interval for every collected
// container, over the client's keep-alive connections. One stats stream per
// container cost some 80 KiB of the streamer's memory each (net/http's
// read and write loops, our reader, their stacks and buffers); a poll keeps
// about a hundred bytes per container between rounds.
const (
	// statsPollInterval is how often each container is asked for: once a
	// second, the rhythm of the Engine's own stats streams and of the cgroup
	// pass.
	statsPollInterval = cgroupPass
	// minPollWorkers stay while the queue is empty. net/http keeps two idle
	// connections per host, so two workers reuse theirs every round.
	minPollWorkers = 2
	// maxPollWorkers bounds the spares added while the queue falls behind
	// (a slow Engine, or requests that hang on a stuck container).
	maxPollWorkers = 8
	// pollRequestTimeout ends a request the Engine does not answer; the
	// container is then retried after a backoff.
	pollRequestTimeout = 10 * time.Second
	// pollTicks is how many times per interval the dispatcher looks for
	// containers that are due: each is asked between interval - tick/2 and
	// interval + tick/2 after its last request, one interval on average.
	pollTicks = 10
	// slowAnswers answers taking half an interval or more, before
	// quickAnswers quick ones, mean the Engine holds each one-shot answer
	// until its own stats collector's next round, up to a second, as
	// Engine 20.10 does: a few workers then cannot ask for every container
	// each second, and the collector streams instead. So it does when the
	// queue falls an interval behind with every worker busy, behindRounds
	// dispatches in a row.
	slowAnswers  = 4
	quickAnswers = 8
	behindRounds = 3
)

// oneShotAPI is the first Engine API version that honours one-shot.
const oneShotAPI = "1.41"

// pollClock is the poller's time: the dispatcher's ticks and the clock the
// schedule is kept on. Tests drive both by hand.
type pollClock struct {
	now  func() time.Time
	tick func(d time.Duration) (<-chan time.Time, func())
}

func realPollClock() pollClock {
	return pollClock{
		now: time.Now,
		tick: func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		},
	}
}

// pollCollector is the API stats source on an Engine that honours
// one-shot. It keeps the collector contract (collector.go): start and stop
// never wait on the Engine, no sample of a container follows its stop, and
// close returns once every goroutine has ended.
//
// An Engine found to ignore one-shot (its answer carries a previous
// reading, as stream=false alone does), or to hold each answer until its
// own stats round (Engine 20.10 answers one-shot after up to a second), is
// followed with one stream per container instead: every container then
// moves to fallback, for the rest of this connection.
type pollCollector struct {
	ctx      context.Context
	cancel   context.CancelFunc
	client   EngineAPI
	sink     stream.Sink
	bo       stream.Backoff
	logf     func(string, ...any)
	alive    func(id string) bool
	interval time.Duration
	clock    pollClock
	fallback collector

	mu        sync.Mutex
	idle      *sync.Cond // workers wait here for the queue
	targets   map[string]*pollTarget
	queue     []*pollTarget // FIFO of targets due, each at most once
	workers   int
	closed    bool
	streaming bool // one-shot not honoured: fallback has every container
	slow      int  // answers that took half an interval or more
	quick     int  // answers that did not
	behind    int  // dispatches in a row that found the queue behind at maxPollWorkers
	wg        sync.WaitGroup
}

// pollTarget is one collected container, about a hundred bytes.
type pollTarget struct {
	id string
	// mu is held while a sample is handed to the sink, so that stop can
	// wait out one in flight.
	mu      sync.Mutex
	stopped bool

	// Guarded by pollCollector.mu.
	queued   bool  // waiting in the queue or being asked for
	due      int64 // Unix ns when it is next asked for
	enqueued int64 // Unix ns when it entered the queue
	attempt  int32 // consecutive failures, for the backoff

	// Touched only by the worker asking for this target (queued keeps
	// that to one at a time).
	base pollBase
}

// pollBase is what a reading keeps for the next one's CPU % and rates.
type pollBase struct {
	read         int64 // Unix ns of the Engine's reading; 0: none yet
	cpuTotal     uint64
	systemUsage  uint64
	netRx, netTx uint64
}

func newPollCollector(ctx context.Context, c EngineAPI, sink stream.Sink, bo stream.Backoff, logf func(string, ...any), alive func(string) bool, fallback collector, clock pollClock, interval time.Duration) *pollCollector {
	pctx, cancel := context.WithCancel(ctx)
	p := &pollCollector{
		ctx: pctx, cancel: cancel, client: c, sink: sink, bo: bo, logf: logf, alive: alive,
		interval: interval, clock: clock, fallback: fallback,
		targets: make(map[string]*pollTarget),
	}
	p.idle = sync.NewCond(&p.mu)
	tick, stopTick := clock.tick(interval / pollTicks)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer stopTick()
		for {
			select {
			case <-p.ctx.Done():
				return
			case <-tick:
			}
			p.dispatch()
		}
	}()
	return p
}

// start asks for the container at once: that first reading is the base of
// the next, one interval later, which is its first sample.
func (p *pollCollector) start(id string, info stream.Container) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if p.streaming {
		p.fallback.start(id, info)
		return
	}
	if p.targets[id] != nil {
		return
	}
	t := &pollTarget{id: id}
	p.targets[id] = t
	p.enqueue(t, p.clock.now().UnixNano())
	p.spawn(false)
}

func (p *pollCollector) stop(id string) {
	p.mu.Lock()
	t := p.targets[id]
	delete(p.targets, id)
	streaming := p.streaming
	p.mu.Unlock()
	if t != nil {
		t.halt()
	}
	if streaming {
		p.fallback.stop(id)
	}
}

func (t *pollTarget) halt() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
}

func (p *pollCollector) sources() map[string]string {
	p.mu.Lock()
	streaming := p.streaming
	out := make(map[string]string, len(p.targets))
	for id := range p.targets {
		out[id] = string(StatsAPI)
	}
	p.mu.Unlock()
	if streaming {
		return p.fallback.sources()
	}
	return out
}

func (p *pollCollector) close() {
	p.mu.Lock()
	p.closed = true
	targets := p.targets
	p.targets = map[string]*pollTarget{}
	p.queue = nil
	p.idle.Broadcast()
	p.mu.Unlock()
	for _, t := range targets {
		t.halt()
	}
	p.cancel()
	p.wg.Wait()
	p.fallback.close()
}

// enqueue puts t in the queue; mu is held.
func (p *pollCollector) enqueue(t *pollTarget, now int64) {
	t.queued = true
	t.enqueued = now
	p.queue = append(p.queue, t)
	p.idle.Signal()
}

// spawn starts workers for the queue; mu is held. There are at least
// minPollWorkers while anything is queued, and one more (up to
// maxPollWorkers) each time behind says the head of the queue has waited a
// whole interval: workers held up by slow requests then do not hold up the
// other containers by more than that.
func (p *pollCollector) spawn(behind bool) {
	want := min(minPollWorkers, len(p.queue))
	if behind {
		want = min(p.workers+1, maxPollWorkers)
	}
	for p.workers < want {
		p.workers++
		p.wg.Add(1)
		go p.work()
	}
}

// dispatch queues the containers that are due.
func (p *pollCollector) dispatch() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.streaming {
		return
	}
	now := p.clock.now().UnixNano()
	behind := len(p.queue) > 0 && now-p.queue[0].enqueued >= int64(p.interval)
	if behind && p.workers >= maxPollWorkers {
		if p.behind++; p.behind >= behindRounds {
			p.degrade("every worker is busy and the queue is a second behind")
			return
		}
	} else {
		p.behind = 0
	}
	for _, t := range p.targets {
		if !t.queued && t.due <= now {
			p.enqueue(t, now)
		}
	}
	p.spawn(behind)
}

func (p *pollCollector) work() {
	defer p.wg.Done()
	p.mu.Lock()
	for {
		for len(p.queue) == 0 && !p.closed {
			if p.workers > minPollWorkers {
				p.workers-- // a spare that is no longer needed
				p.mu.Unlock()
				return
			}
			p.idle.Wait()
		}
		if p.closed {
			p.workers--
			p.mu.Unlock()
			return
		}
		t := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		if p.targets[t.id] != t {
			continue // stopped while queued
		}
		p.mu.Unlock()
		asked := p.clock.now().UnixNano()
		err := p.ask(t)
		took := p.clock.now().UnixNano() - asked
		p.mu.Lock()
		if err == nil {
			p.timeAnswer(took)
		}
		p.reschedule(t, asked, err)
	}
}

// timeAnswer counts a successful answer as quick or slow until the first
// quickAnswers quick ones settle that the Engine answers one-shot at once;
// mu is held.
func (p *pollCollector) timeAnswer(took int64) {
	if p.quick >= quickAnswers || p.streaming {
		return
	}
	if took < int64(p.interval/2) {
		p.quick++
		return
	}
	if p.slow++; p.slow >= slowAnswers {
		p.degrade("its one-shot answers wait for its own stats round")
	}
}

// reschedule sets when t is next asked for; mu is held.
func (p *pollCollector) reschedule(t *pollTarget, asked int64, err error) {
	t.queued = false
	if p.targets[t.id] != t || p.closed {
		return
	}
	if err == nil {
		t.attempt = 0
		// Half a tick early, so that the tick it is picked up on is one
		// interval after this request on average.
		t.due = asked + int64(p.interval) - int64(p.interval/pollTicks/2)
		return
	}
	if errors.Is(err, errOneShotIgnored) {
		p.degrade("it ignores one-shot")
		return
	}
	if p.ctx.Err() != nil {
		return
	}
	if cerrdefs.IsNotFound(err) || !p.alive(t.id) {
		// Gone, or no longer running as far as the Source knows: the
		// next start (a restart) asks afresh.
		delete(p.targets, t.id)
		return
	}
	if t.attempt == 0 {
		p.logf("stats of %.12s: %v; asking again with a backoff", t.id, err)
	}
	t.due = p.clock.now().UnixNano() + int64(p.bo.Delay(int(t.attempt)))
	if t.attempt < 32 {
		t.attempt++
	}
}

// errOneShotIgnored is an answer that carries a previous reading: the
// Engine took two samples a second apart rather than one.
var errOneShotIgnored = errors.New("the Engine ignores one-shot")

// degrade hands every container to the streaming fallback; mu is held.
// Starting them under mu keeps each container's starts and stops in order.
func (p *pollCollector) degrade(why string) {
	if p.streaming {
		return
	}
	p.streaming = true
	p.logf("stats: polling the Engine does not keep up (%s); following one stats stream per container instead", why)
	for id, t := range p.targets {
		t.halt()
		p.fallback.start(id, stream.Container{ID: id})
	}
	p.targets = map[string]*pollTarget{}
	p.queue = nil
}

// ask takes one reading of t and sends a sample when there is a base to
// compare it with.
func (p *pollCollector) ask(t *pollTarget) error {
	ctx, cancel := context.WithTimeout(p.ctx, pollRequestTimeout)
	defer cancel()
	res, err := p.client.ContainerStats(ctx, t.id, client.ContainerStatsOptions{Stream: false, IncludePreviousSample: false})
	if err != nil {
		return err
	}
	var rec container.StatsResponse
	err = json.NewDecoder(res.Body).Decode(&rec)
	res.Body.Close()
	if err != nil {
		return err
	}
	if rec.Read.IsZero() {
		return errors.New("not running")
	}
	if !rec.PreRead.IsZero() || rec.PreCPUStats.SystemUsage != 0 {
		return errOneShotIgnored
	}
	read := rec.Read.UnixNano()
	base := t.base
	if base.read != 0 && read-base.read < int64(p.interval/2) {
		// Too close to the base for an honest CPU %: the system's
		// counter moves in 10 ms steps. Keep the base for the next round.
		return nil
	}
	rx, tx := stats.Network(rec.Networks)
	t.base = pollBase{read: read, cpuTotal: rec.CPUStats.CPUUsage.TotalUsage, systemUsage: rec.CPUStats.SystemUsage, netRx: rx, netTx: tx}
	if base.read == 0 {
		// A first reading has no CPU % or rates: it is only the base of
		// the next, rather than show a false 0 %.
		return nil
	}
	// Both readings carry the container's CPU time and the system's taken
	// together by the Engine, so the CPU % has the container's own time
	// basis however long the round took.
	rec.PreCPUStats = container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: base.cpuTotal}, SystemUsage: base.systemUsage}
	rec.PreRead = time.Unix(0, base.read)
	prev := stream.Stats{Read: rec.PreRead, NetRx: base.netRx, NetTx: base.netTx}
	s := stats.FromAPI(t.id, &rec, &prev)
	s.Source = string(StatsAPI)
	t.mu.Lock()
	if !t.stopped {
		p.sink.Stats(s)
	}
	t.mu.Unlock()
	return nil
}
