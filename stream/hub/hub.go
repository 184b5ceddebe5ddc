// Package hub is the single owner of the streamer's state: the containers,
// their newest stats, the Engine's status, the ring of recent messages and
// the set of subscribers. It implements stream.Sink, so the Engine side
// writes into it, and it hands each subscriber bytes encoded once.
package hub

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
)

// Config tunes a Hub. Every zero value means the default given beside it.
type Config struct {
	Context  string // the Docker context this streamer serves
	Endpoint string // its Engine endpoint
	Server   string // the streamer's build version, reported in hello

	// RingSize is how many container, remove, event and engine messages are
	// kept for resuming subscribers. Zero means 4096.
	RingSize int
	// QueueSize is how many such messages may wait for one subscriber before
	// it is disconnected as too slow. Zero means 4096, the ring's default:
	// a client busy reading a large snapshot must not be cut by the events
	// that arrive meanwhile.
	QueueSize int
	// StatsFlush is how often the newest stats go out as one batch. Zero
	// means stream.DefaultStatsRefresh (1 s).
	StatsFlush time.Duration
	// History is how much stats history to keep per container, one sample
	// per StatsFlush (see history.go). Zero keeps none.
	History time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Hub is safe for concurrent use. One mutex guards everything: every
// operation is short (map updates and slice appends), and a lock keeps the
// event-to-subscriber path free of goroutine hand-offs.
type Hub struct {
	cfg   Config
	epoch string
	// epochJSON is epoch as a JSON string, for messages built by hand.
	epochJSON []byte

	mu         sync.Mutex
	seq        uint64
	engine     stream.EngineStatus
	containers map[string]*stream.Container
	stats      map[string]stream.Stats
	ring       ring
	subs       map[*Subscriber]struct{}
	filters    map[string]*filterMatcher // subscribers' filters by key, shared
	lastBatch  *statsBatch               // newest flushed stats, for subscribers that join or resume
	idleSince  time.Time                 // when the last subscriber left; zero while any is attached
	started    time.Time
	listed     chan struct{} // closed by the first Reset
	closed     bool
	statsDirty bool
	statsGen   uint64 // counts drops of samples, so a flush can tell its batch went stale
	hist       history
	counts     counters // for /metrics (metrics.go)
}

// New returns a hub with a fresh epoch. Call Run to flush stats.
func New(cfg Config) *Hub {
	if cfg.RingSize <= 0 {
		cfg.RingSize = 4096
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4096
	}
	if cfg.StatsFlush <= 0 {
		cfg.StatsFlush = stream.DefaultStatsRefresh
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	now := cfg.Now()
	epoch := newEpoch(now)
	epochJSON, _ := json.Marshal(epoch)
	return &Hub{
		cfg:        cfg,
		epoch:      epoch,
		epochJSON:  epochJSON,
		engine:     stream.EngineStatus{State: stream.EngineUnavailable, Error: "not connected yet"},
		containers: make(map[string]*stream.Container),
		stats:      make(map[string]stream.Stats),
		ring:       newRing(cfg.RingSize),
		subs:       make(map[*Subscriber]struct{}),
		filters:    make(map[string]*filterMatcher),
		idleSince:  now,
		started:    now,
		listed:     make(chan struct{}),
		hist:       newHistory(cfg.History, cfg.StatsFlush, now),
	}
}

// Listed is closed once the Engine side has delivered its first full list:
// from then on the hub's state is the Engine's, and subscribers get a
// meaningful snapshot.
func (h *Hub) Listed() <-chan struct{} { return h.listed }

// newEpoch is unique per streamer start: the start time makes it readable
// and ordered, the random suffix makes two starts in one instant differ.
func newEpoch(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%s", now.UnixNano(), hex.EncodeToString(b[:]))
}

// Epoch identifies this streamer run.
func (h *Hub) Epoch() string { return h.epoch }

// Run flushes stats batches until stop is closed, then disconnects every
// subscriber as shutting down.
func (h *Hub) Run(stop <-chan struct{}) {
	t := time.NewTicker(h.cfg.StatsFlush)
	defer t.Stop()
	for {
		select {
		case <-stop:
			h.close()
			return
		case <-t.C:
			h.flushStats()
		}
	}
}

func (h *Hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		s.end(stream.CloseShuttingDown, "streamer stopping")
		delete(h.subs, s)
	}
}

// EngineStatus implements stream.Sink.
func (h *Hub) EngineStatus(st stream.EngineStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st == h.engine {
		return
	}
	h.engine = st
	h.broadcastLocked(&stream.Message{Type: stream.TypeEngine, Engine: &st}, nil)
}

// Reset implements stream.Sink: it turns a fresh list into the changes
// since what the hub holds, so clients see what happened while the Engine
// was away as ordinary container and remove messages.
func (h *Hub) Reset(list []stream.Container) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := make(map[string]bool, len(list))
	for _, c := range list {
		seen[c.ID] = true
		h.upsertLocked(c)
	}
	for _, id := range slices.Sorted(maps.Keys(h.containers)) {
		if !seen[id] {
			h.removeLocked(id)
		}
	}
	select {
	case <-h.listed:
	default:
		close(h.listed)
	}
}

// Upsert implements stream.Sink.
func (h *Hub) Upsert(c stream.Container) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.upsertLocked(c)
}

func (h *Hub) upsertLocked(c stream.Container) {
	c.Stats = nil
	if old, ok := h.containers[c.ID]; ok && reflect.DeepEqual(*old, c) {
		return
	}
	if !stream.IsActive(c.State) {
		h.dropStatsLocked(c.ID)
	}
	stored := c
	h.containers[c.ID] = &stored
	h.broadcastLocked(&stream.Message{Type: stream.TypeContainer, Container: &stored}, &stored)
}

// Remove implements stream.Sink.
func (h *Hub) Remove(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(id)
}

func (h *Hub) removeLocked(id string) {
	c, ok := h.containers[id]
	if !ok {
		return
	}
	delete(h.containers, id)
	h.dropStatsLocked(id)
	h.hist.forget(id)
	h.broadcastLocked(&stream.Message{Type: stream.TypeRemove, Remove: &stream.Removal{ID: id, Name: c.Name}}, c)
}

func (h *Hub) dropStatsLocked(id string) {
	if _, had := h.stats[id]; !had {
		return
	}
	delete(h.stats, id)
	h.statsDirty = true
	h.statsGen++
	// A subscriber resuming after this must not be handed the container's
	// old samples in the last batch; the next flush serves it instead.
	h.lastBatch = nil
}

// Event implements stream.Sink.
func (h *Hub) Event(ev events.Message) {
	// The event, the costly part of the message, is encoded before the
	// lock is taken, into a reused buffer (event_encode.go).
	enc := getEventEncoder()
	defer putEventEncoder(enc)
	payload, err := enc.encode(&ev)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts.events.Add(1)
	if err != nil {
		// Every payload is plain data: as in broadcastLocked, a failure
		// is a programming error that must not take the streamer down.
		return
	}
	h.seq++
	data := appendEventMessage(nil, h.epochJSON, h.seq, h.cfg.Now(), payload)
	h.publishLocked(entry{seq: h.seq, topic: stream.TopicEvents, data: data})
}

// Stats implements stream.Sink. Samples are kept, not sent: the next flush
// sends the newest of each container in one batch.
func (h *Hub) Stats(s stream.Stats) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, known := h.containers[s.ID]; !known {
		return
	}
	h.stats[s.ID] = s
	h.statsDirty = true
}

// broadcastLocked stamps msg with the next seq, encodes it once, keeps it in
// the ring and queues the same bytes for every subscriber that wants it.
// c is the container the message is about, for container filters; nil for
// messages that no container filter applies to. It is never mutated later:
// updates store a new copy.
func (h *Hub) broadcastLocked(msg *stream.Message, c *stream.Container) {
	h.seq++
	msg.Epoch = h.epoch
	msg.Seq = h.seq
	msg.Time = h.cfg.Now()
	data, err := json.Marshal(msg)
	if err != nil {
		// Every payload is plain data; a failure here is a programming error
		// that must not take the streamer down.
		return
	}
	h.publishLocked(entry{seq: h.seq, topic: topicOf(msg.Type), container: c, data: data})
}

// publishLocked keeps e for resuming clients and queues it for every
// subscriber that wants it.
func (h *Hub) publishLocked(e entry) {
	h.ring.push(e)
	for s := range h.subs {
		if s.wants(e) {
			s.push(e.data)
		}
	}
}

func topicOf(typ string) string {
	switch typ {
	case stream.TypeEvent:
		return stream.TopicEvents
	case stream.TypeStats:
		return stream.TopicStats
	case stream.TypeEngine:
		return "" // every subscriber needs to know the Engine's state
	default:
		return stream.TopicContainers
	}
}

// Info is the hub's part of /v1/health and `docker live status`.
type Info struct {
	Epoch      string              `json:"epoch"`
	Seq        uint64              `json:"seq"`
	Started    time.Time           `json:"started"`
	Clients    int                 `json:"clients"`
	Containers int                 `json:"containers"`
	Engine     stream.EngineStatus `json:"engine"`
	IdleSince  time.Time           `json:"-"`
}

// Info reports counters without copying state.
func (h *Hub) Info() Info {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Info{
		Epoch:      h.epoch,
		Seq:        h.seq,
		Started:    h.started,
		Clients:    len(h.subs),
		Containers: len(h.containers),
		Engine:     h.engine,
		IdleSince:  h.idleSince,
	}
}
