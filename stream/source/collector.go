package source

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/stats"
)

// StatsMode chooses where resource samples come from.
type StatsMode string

// StatsAPI reads the Engine's stats API: one-shot requests once a second
// per running container (statspoll.go), or one stream per container where
// the Engine has no one-shot.
const StatsAPI StatsMode = "api"

// collector is the seam between the Source and a stats backend, so that a
// second backend (reading cgroup and /proc counters once a second when the
// Engine runs on this host) can replace or complement the Engine's stats API
// without touching the event handling.
//
// The Source makes one collector per Engine connection and calls:
//   - start(id, info) when a container starts, is restarted, or is found
//     running or paused when listing; a start for an id already collected
//     does nothing, so calling it again is safe;
//   - stop(id) when a container dies or is destroyed. After stop returns the
//     collector makes no further Sink.Stats call for that id, so a Remove is
//     never followed by a sample of the removed container;
//   - close when the connection is lost or Run ends: it stops everything and
//     returns only once all of its goroutines have ended.
//
// start and stop are called from the event loop and must not block on the
// Engine. Samples go straight to the Sink from the collector's goroutines.
// sources maps each collected id to where its stats come from ("api" or
// "cgroup"), for StatsSources.
type collector interface {
	start(id string, info stream.Container)
	stop(id string)
	sources() map[string]string
	close()
}

// newAPIStats builds the Engine API stats source: one-shot requests by a few
// workers (statspoll.go) on an Engine that honours them (API 1.41 on), with
// one stream per container as the fallback for older Engines and for those
// found to ignore one-shot.
func (s *Source) newAPIStats(ctx context.Context, apiVersion string) collector {
	streams := newAPICollector(ctx, s.cfg.Client, s.cfg.Sink, s.bo, s.logf, s.alive)
	if !versions.GreaterThanOrEqualTo(apiVersion, oneShotAPI) {
		return streams
	}
	return newPollCollector(ctx, s.cfg.Client, s.cfg.Sink, s.bo, s.logf, s.alive, streams, realPollClock(), statsPollInterval)
}

// apiCollector keeps one Engine stats stream per collected container: the
// API source on Engines before API 1.41, which have no one-shot.
type apiCollector struct {
	ctx    context.Context
	client EngineAPI
	sink   stream.Sink
	bo     stream.Backoff
	logf   func(string, ...any)
	// alive says whether a container is still running as far as the Source
	// knows; a stream that ends for a container that is not is not reopened.
	alive func(id string) bool

	mu      sync.Mutex
	streams map[string]*statsStream
	closed  bool
	wg      sync.WaitGroup
	running atomic.Int64 // goroutines alive, for tests
}

type statsStream struct {
	cancel context.CancelFunc
	// mu is held while a sample is handed to the sink, so that stop can
	// wait out one in flight.
	mu      sync.Mutex
	stopped bool
}

func newAPICollector(ctx context.Context, c EngineAPI, sink stream.Sink, bo stream.Backoff, logf func(string, ...any), alive func(string) bool) *apiCollector {
	return &apiCollector{
		ctx: ctx, client: c, sink: sink, bo: bo, logf: logf, alive: alive,
		streams: make(map[string]*statsStream),
	}
}

func (a *apiCollector) start(id string, _ stream.Container) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.streams[id] != nil {
		return
	}
	ctx, cancel := context.WithCancel(a.ctx)
	st := &statsStream{cancel: cancel}
	a.streams[id] = st
	a.wg.Add(1)
	a.running.Add(1)
	go a.run(ctx, id, st)
}

func (a *apiCollector) stop(id string) {
	a.mu.Lock()
	st := a.streams[id]
	delete(a.streams, id)
	a.mu.Unlock()
	if st != nil {
		st.halt()
	}
}

func (a *apiCollector) sources() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]string, len(a.streams))
	for id := range a.streams {
		out[id] = string(StatsAPI)
	}
	return out
}

func (a *apiCollector) close() {
	a.mu.Lock()
	a.closed = true
	streams := a.streams
	a.streams = map[string]*statsStream{}
	a.mu.Unlock()
	for _, st := range streams {
		st.halt()
	}
	a.wg.Wait()
}

func (st *statsStream) halt() {
	st.cancel()
	st.mu.Lock()
	st.stopped = true
	st.mu.Unlock()
}

func (a *apiCollector) run(ctx context.Context, id string, st *statsStream) {
	defer a.wg.Done()
	defer a.running.Add(-1)
	defer func() {
		// A stream that gave up on its own frees its slot, so that the next
		// start opens a new one.
		a.mu.Lock()
		if a.streams[id] == st {
			delete(a.streams, id)
		}
		a.mu.Unlock()
		st.cancel()
	}()
	var prev *stream.Stats
	for attempt := 0; ; attempt++ {
		got, err := a.read(ctx, id, st, &prev)
		if ctx.Err() != nil {
			return
		}
		if cerrdefs.IsNotFound(err) || !a.alive(id) {
			return
		}
		if got {
			attempt = 0
		}
		a.logf("stats of %.12s: %v; reopening", id, err)
		if !sleep(ctx, a.bo.Delay(attempt)) {
			return
		}
	}
}

// read follows one stats stream until it fails, and says whether it
// delivered anything.
func (a *apiCollector) read(ctx context.Context, id string, st *statsStream, prev **stream.Stats) (bool, error) {
	res, err := a.client.ContainerStats(ctx, id, client.ContainerStatsOptions{Stream: true})
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	got := false
	for {
		var rec container.StatsResponse
		if err := dec.Decode(&rec); err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("stream ended")
			}
			return got, err
		}
		// The Engine streams empty records for a container that is not
		// running; they carry no reading.
		if rec.Read.IsZero() {
			continue
		}
		s := stats.FromAPI(id, &rec, *prev)
		s.Source = string(StatsAPI)
		// A stream's first record has no previous CPU reading, so no CPU %:
		// it only serves as the base of the next one, a second later,
		// rather than show a false 0 %.
		if rec.PreCPUStats.SystemUsage == 0 && *prev == nil {
			*prev = &s
			continue
		}
		st.mu.Lock()
		if st.stopped {
			st.mu.Unlock()
			return got, context.Canceled
		}
		a.sink.Stats(s)
		st.mu.Unlock()
		*prev = &s
		got = true
	}
}
