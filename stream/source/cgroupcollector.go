package source

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/cgroup"
	"github.com/docker-live/docker-live/stream/stats"
)

// Stats modes beside StatsAPI.
const (
	// StatsAuto reads cgroups directly for every container whose cgroup this
	// process can see and read (a local Engine), and the Engine's stats API
	// for the rest.
	StatsAuto StatsMode = "auto"
	// StatsCgroup reads cgroups only; a container that cannot be read that
	// way gets no stats, and the reason is logged.
	StatsCgroup StatsMode = "cgroup"
)

// cgroupPass is how often the direct source reads every container, the
// same rhythm as the Engine's own sampling.
const cgroupPass = time.Second

// maxProbes bounds the probes in flight, and the goroutines that run them.
// At start-up every running container is probed at once; 200 inspect
// answers decoded side by side made the streamer's start-up peak (VmHWM)
// some 7 MiB higher than the API source's. Probes wait in a queue rather
// than each in a goroutine of its own: 200 goroutines parked for a slot
// grew their stacks through the inspect one after another, and Go keeps
// stack memory it has used (figure 9 read 1.8-3.2 MiB of stacks in a
// streamer of 27 goroutines).
const maxProbes = 4

// Where the direct source looks; tests point them elsewhere.
var (
	procRoot   = "/proc"
	cgroupRoot = "/sys/fs/cgroup"
)

// cgroupCollector reads every collected container's counters in one pass
// per second, from its init process' cgroup and network namespace. It
// needs the init pid, which it asks the Engine for once per start; a
// container whose pid or cgroup does not check out (a remote Engine, a VM,
// missing permissions) goes to the fallback collector when there is one.
//
// Each read container holds its cgroup files open (some eight descriptors)
// from its probe until stop, close, or a pass that finds it gone, which all
// close them.
type cgroupCollector struct {
	ctx      context.Context
	client   EngineAPI
	sink     stream.Sink
	logf     func(string, ...any)
	fallback collector // nil in StatsCgroup mode

	mu        sync.Mutex
	targets   map[string]*cgTarget
	probing   map[string]*probeJob // queued or running; stop cancels
	queue     []*probeJob          // probes not started yet, oldest first
	probers   int                  // goroutines running probes, at most maxProbes
	delegated map[string]bool
	closed    bool
	wg        sync.WaitGroup
	lastPass  atomic.Int64 // ns the newest pass took, for /metrics (passtime.go)
}

// probeJob is one container's probe, queued until a prober takes it.
type probeJob struct {
	ctx    context.Context
	cancel context.CancelFunc
	id     string
	info   stream.Container
}

// cgTarget keeps one record per container: Read moves the last CPU
// reading into PreCPUStats, as the Engine's stream does.
type cgTarget struct {
	t    *cgroup.Target
	rec  container.StatsResponse
	prev *stream.Stats
}

func newCgroupCollector(ctx context.Context, c EngineAPI, sink stream.Sink, logf func(string, ...any), fallback collector) *cgroupCollector {
	cc := &cgroupCollector{
		ctx: ctx, client: c, sink: sink, logf: logf, fallback: fallback,
		targets:   make(map[string]*cgTarget),
		probing:   make(map[string]*probeJob),
		delegated: make(map[string]bool),
	}
	cc.wg.Add(1)
	go cc.loop()
	return cc
}

func (cc *cgroupCollector) start(id string, info stream.Container) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed || cc.targets[id] != nil || cc.probing[id] != nil || cc.delegated[id] {
		return
	}
	pctx, cancel := context.WithTimeout(cc.ctx, callTimeout)
	job := &probeJob{ctx: pctx, cancel: cancel, id: id, info: info}
	cc.probing[id] = job
	cc.queue = append(cc.queue, job)
	if cc.probers < maxProbes {
		cc.probers++
		cc.wg.Add(1)
		go cc.prober()
	}
}

// prober runs queued probes until the queue is empty.
func (cc *cgroupCollector) prober() {
	defer cc.wg.Done()
	for {
		cc.mu.Lock()
		if len(cc.queue) == 0 || cc.closed {
			cc.probers--
			cc.queue = nil // lets the emptied backing array go
			cc.mu.Unlock()
			return
		}
		job := cc.queue[0]
		cc.queue[0] = nil
		cc.queue = cc.queue[1:]
		cc.mu.Unlock()
		cc.probe(job)
	}
}

// probe finds the container's init pid and checks its cgroup off the event
// loop, then hands the container to the pass or to the fallback. A job
// stopped while queued ends without asking the Engine.
func (cc *cgroupCollector) probe(job *probeJob) {
	ctx, id, info := job.ctx, job.id, job.info
	var target *cgroup.Target
	var res client.ContainerInspectResult
	err := ctx.Err()
	if err == nil {
		res, err = cc.client.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	}
	if err == nil {
		pid := 0
		if res.Container.State != nil {
			pid = res.Container.State.Pid
		}
		target, err = cgroup.Probe(procRoot, cgroupRoot, pid, id)
	}
	tg := &cgTarget{t: target}
	if err == nil {
		// A first reading now gives the first pass a CPU delta, so the
		// first sample shows real CPU % rather than 0.
		if sys, serr := cgroup.ReadSystem(procRoot); serr == nil {
			_ = target.Read(&tg.rec, sys)
		}
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	// Still this job's turn: not stopped, and not stopped and started again
	// (which queues a new job for the same id).
	if cc.probing[id] != job || cc.closed {
		if target != nil {
			target.Close() // stopped or closed meanwhile
		}
		job.cancel()
		return
	}
	job.cancel()
	delete(cc.probing, id)
	if err == nil {
		cc.targets[id] = tg
		return
	}
	if cc.fallback != nil {
		cc.logf("stats for %.12s from the Engine's API: direct read not possible: %v", id, err)
		cc.delegated[id] = true
		cc.fallback.start(id, info)
		return
	}
	cc.logf("no stats for %.12s: direct read not possible: %v", id, err)
}

func (cc *cgroupCollector) stop(id string) {
	cc.mu.Lock()
	if job, ok := cc.probing[id]; ok {
		job.cancel() // a queued job ends when a prober takes it
		delete(cc.probing, id)
	}
	cc.drop(id)
	delegated := cc.delegated[id]
	delete(cc.delegated, id)
	cc.mu.Unlock()
	if delegated {
		cc.fallback.stop(id)
	}
}

func (cc *cgroupCollector) sources() map[string]string {
	out := map[string]string{}
	if cc.fallback != nil {
		out = cc.fallback.sources()
	}
	cc.mu.Lock()
	for id := range cc.targets {
		out[id] = string(StatsCgroup)
	}
	cc.mu.Unlock()
	return out
}

// drop closes a target's files and takes it out of the pass; mu is held, so
// no pass is reading it.
func (cc *cgroupCollector) drop(id string) {
	if tg := cc.targets[id]; tg != nil {
		tg.t.Close()
		delete(cc.targets, id)
	}
}

func (cc *cgroupCollector) close() {
	cc.mu.Lock()
	cc.closed = true
	for id, job := range cc.probing {
		job.cancel()
		delete(cc.probing, id)
	}
	cc.queue = nil
	for id := range cc.targets {
		cc.drop(id)
	}
	cc.mu.Unlock()
	cc.wg.Wait()
	if cc.fallback != nil {
		cc.fallback.close()
	}
}

func (cc *cgroupCollector) loop() {
	defer cc.wg.Done()
	t := time.NewTicker(cgroupPass)
	defer t.Stop()
	for {
		select {
		case <-cc.ctx.Done():
			return
		case <-t.C:
		}
		if cc.isClosed() {
			return
		}
		sys, err := cgroup.ReadSystem(procRoot)
		if err != nil {
			cc.logf("direct stats pass skipped: %v", err)
			continue
		}
		began := time.Now()
		cc.pass(sys)
		cc.lastPass.Store(int64(time.Since(began)))
	}
}

func (cc *cgroupCollector) isClosed() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.closed
}

// pass reads every target while holding the lock, so that stop (which
// takes it) returns only once no sample of that container can follow.
// Reading a few small files per container keeps the hold short.
func (cc *cgroupCollector) pass(sys *cgroup.System) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for id, tg := range cc.targets {
		if err := tg.t.Read(&tg.rec, sys); err != nil {
			// Normally the die event stops a container before the Engine
			// removes its cgroup. A pass that gets there first finds the
			// cgroup or process gone: nothing more to read, so free its
			// files now; a restart probes it afresh. Other errors (a
			// malformed line) may pass, and the next pass tries again.
			if errors.Is(err, fs.ErrNotExist) {
				cc.logf("direct stats of %.12s ended: %v", id, err)
				cc.drop(id)
			}
			continue
		}
		s := stats.FromAPI(id, &tg.rec, tg.prev)
		s.Source = string(StatsCgroup)
		if tg.prev == nil {
			tg.prev = new(stream.Stats)
		}
		*tg.prev = s
		// A reading without a previous one has no CPU %: keep it only as
		// the base of the next, rather than show a false 0 %.
		if tg.rec.PreCPUStats.SystemUsage == 0 {
			continue
		}
		cc.sink.Stats(s)
	}
}
