package hub

import (
	"maps"
	"slices"
	"sync/atomic"

	"github.com/docker-live/docker-live/stream"
)

// counters are the hub's running totals for /metrics. Atomics, so that
// counting never needs more of the lock than the counted operation holds.
type counters struct {
	slowCuts atomic.Uint64 // subscribers ended with CloseTooSlow
	events   atomic.Uint64 // Engine events passed on to subscribers
}

// MetricsSample is one container that has stats, with its newest sample.
// Container points at the hub's stored copy, which is never changed after
// it is stored (updates store a new one): read it, never write it.
type MetricsSample struct {
	Container *stream.Container
	Stats     stream.Stats
}

// MetricsView is what GET /metrics reports, read in one short hold of the
// hub's lock at scrape time: there is no second collection loop.
type MetricsView struct {
	Engine      stream.EngineStatus
	Containers  int    // every container the hub knows, in any state
	Subscribers int    // stream subscribers attached now
	SlowCuts    uint64 // subscribers cut for being too slow, since start
	Events      uint64 // Engine events relayed, since start
	// Samples holds every container with stats (running or paused), sorted
	// by id: a stopped container has no sample and is not reported, as
	// cAdvisor reports only live cgroups.
	Samples []MetricsSample
}

// MetricsView copies the newest samples and the counters.
func (h *Hub) MetricsView() MetricsView {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := MetricsView{
		Engine:      h.engine,
		Containers:  len(h.containers),
		Subscribers: len(h.subs),
		SlowCuts:    h.counts.slowCuts.Load(),
		Events:      h.counts.events.Load(),
		Samples:     make([]MetricsSample, 0, len(h.stats)),
	}
	for _, id := range slices.Sorted(maps.Keys(h.stats)) {
		if c := h.containers[id]; c != nil {
			v.Samples = append(v.Samples, MetricsSample{Container: c, Stats: h.stats[id]})
		}
	}
	return v
}
