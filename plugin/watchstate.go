package plugin

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/liveclient"
)

// watchState is the watch command's copy of the containers. The live
// stream (Apply) and the polling fallback (as a stream.Sink) write into
// it; the renderer reads copies. Changes are signalled, never pushed, so a
// slow terminal never holds up the stream.
type watchState struct {
	now        func() time.Time // the clock; tests set their own
	mu         sync.Mutex
	containers map[string]stream.Container
	stats      map[string]stream.Stats
	conn       liveclient.State
	engine     stream.EngineStatus
	updated    time.Time
	haveState  bool // a snapshot or a poll has arrived
	// pollRounds counts the poller's rounds (one Reset each), and
	// sampleRound holds the round each container's sample came from, so
	// that --poll --no-stream can wait for samples with a CPU delta.
	pollRounds  int
	sampleRound map[string]int
	starting    bool // this command is starting the streamer

	// stateCh and statsCh signal a change of state and of stats; dirty
	// holds the ids whose state changed since the last frame, for
	// per-container output (json, templates).
	stateCh chan struct{}
	statsCh chan struct{}
	dirty   map[string]bool
}

func newWatchState() *watchState {
	return &watchState{
		now:         time.Now,
		containers:  make(map[string]stream.Container),
		stats:       make(map[string]stream.Stats),
		sampleRound: make(map[string]int),
		stateCh:     make(chan struct{}, 1),
		statsCh:     make(chan struct{}, 1),
		dirty:       make(map[string]bool),
	}
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Apply takes one message from the live stream.
func (w *watchState) Apply(m *stream.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch m.Type {
	case stream.TypeHello:
		w.engine = m.Hello.Engine
	case stream.TypeSnapshot:
		w.resetLocked(m.Snapshot.Containers)
		for _, c := range m.Snapshot.Containers {
			if c.Stats != nil {
				w.stats[c.ID] = *c.Stats
			}
		}
		w.engine = m.Snapshot.Engine
		w.haveState = true
		w.touchLocked(m.Time, "")
		notify(w.stateCh)
	case stream.TypeContainer:
		w.upsertLocked(*m.Container)
		w.touchLocked(m.Time, m.Container.ID)
		notify(w.stateCh)
	case stream.TypeRemove:
		w.removeLocked(m.Remove.ID)
		w.touchLocked(m.Time, "")
		notify(w.stateCh)
	case stream.TypeEngine:
		w.engine = *m.Engine
		w.touchLocked(m.Time, "")
		notify(w.stateCh)
	case stream.TypeStats:
		for _, s := range m.Stats {
			if _, ok := w.containers[s.ID]; ok {
				w.stats[s.ID] = s
			}
		}
		w.updated = m.Time
		notify(w.statsCh)
	}
	return nil
}

func (w *watchState) touchLocked(t time.Time, id string) {
	if t.IsZero() {
		t = w.now()
	}
	w.updated = t
	if id == "" {
		for k := range w.containers {
			w.dirty[k] = true
		}
	} else {
		w.dirty[id] = true
	}
}

func (w *watchState) resetLocked(list []stream.Container) {
	seen := make(map[string]bool, len(list))
	for _, c := range list {
		seen[c.ID] = true
		w.upsertLocked(c)
	}
	for id := range w.containers {
		if !seen[id] {
			w.removeLocked(id)
		}
	}
}

func (w *watchState) upsertLocked(c stream.Container) {
	c.Stats = nil
	w.containers[c.ID] = c
	if !stream.IsActive(c.State) {
		delete(w.stats, c.ID)
	}
}

func (w *watchState) removeLocked(id string) {
	delete(w.containers, id)
	delete(w.stats, id)
	delete(w.sampleRound, id)
	delete(w.dirty, id)
}

// setConn records the connection state for the header.
func (w *watchState) setConn(st liveclient.State) {
	w.mu.Lock()
	w.conn = st
	if st.Mode == liveclient.ModeLive {
		w.starting = false
	}
	w.mu.Unlock()
	notify(w.stateCh)
}

// setStarting says, in the header, that this command starts the streamer.
func (w *watchState) setStarting(on bool) {
	w.mu.Lock()
	w.starting = on
	w.mu.Unlock()
	notify(w.stateCh)
}

// pollSink adapts the state to the poller: the fallback writes through
// the same Sink interface as the streamer's Engine side.
func (w *watchState) pollSink() stream.Sink { return pollSink{w} }

type pollSink struct{ w *watchState }

func (p pollSink) EngineStatus(st stream.EngineStatus) {
	p.w.mu.Lock()
	changed := p.w.engine != st
	p.w.engine = st
	p.w.mu.Unlock()
	if changed {
		notify(p.w.stateCh)
	}
}

func (p pollSink) Reset(list []stream.Container) {
	p.w.mu.Lock()
	defer p.w.mu.Unlock()
	changed := len(list) != len(p.w.containers)
	for _, c := range list {
		old, ok := p.w.containers[c.ID]
		if !ok || old.State != c.State || old.Health != c.Health || old.Name != c.Name || old.ExitCode != c.ExitCode {
			changed = true
			p.w.dirty[c.ID] = true
		}
	}
	p.w.resetLocked(list)
	p.w.pollRounds++
	p.w.haveState = true
	p.w.updated = p.w.now()
	if changed {
		notify(p.w.stateCh)
	}
}

func (p pollSink) Upsert(c stream.Container) {
	p.w.mu.Lock()
	p.w.upsertLocked(c)
	p.w.touchLocked(p.w.now(), c.ID)
	p.w.mu.Unlock()
	notify(p.w.stateCh)
}

func (p pollSink) Remove(id string) {
	p.w.mu.Lock()
	p.w.removeLocked(id)
	p.w.mu.Unlock()
	notify(p.w.stateCh)
}

func (p pollSink) Event(events.Message) {}

func (p pollSink) Stats(s stream.Stats) {
	p.w.mu.Lock()
	if _, ok := p.w.containers[s.ID]; ok {
		p.w.stats[s.ID] = s
		p.w.sampleRound[s.ID] = p.w.pollRounds
		p.w.updated = p.w.now()
	}
	p.w.mu.Unlock()
	notify(p.w.statsCh)
}

// view is a consistent copy for one frame.
type view struct {
	containers []stream.Container
	stats      map[string]stream.Stats
	conn       liveclient.State
	engine     stream.EngineStatus
	updated    time.Time
	dirty      map[string]bool
	haveState  bool
	// sampleRound: the polling round of each sample (0: from the streamer).
	sampleRound map[string]int
	pollRounds  int
	starting    bool
}

func (w *watchState) snapshot(takeDirty bool) view {
	w.mu.Lock()
	defer w.mu.Unlock()
	v := view{
		containers:  slices.Collect(maps.Values(w.containers)),
		stats:       maps.Clone(w.stats),
		conn:        w.conn,
		engine:      w.engine,
		updated:     w.updated,
		haveState:   w.haveState,
		sampleRound: maps.Clone(w.sampleRound),
		pollRounds:  w.pollRounds,
		starting:    w.starting,
	}
	if takeDirty {
		v.dirty = w.dirty
		w.dirty = make(map[string]bool)
	}
	return v
}
