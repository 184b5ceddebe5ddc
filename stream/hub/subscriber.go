package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// RequestError is a subscription the hub refuses. Code is the close code the
// server should use, Kind the error code of the error message.
type RequestError struct {
	Code int
	Kind string
	Msg  string
}

func (e *RequestError) Error() string { return e.Msg }

func badRequest(kind, format string, args ...any) error {
	return &RequestError{Code: stream.CloseBadRequest, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Subscriber is one client's view of the hub: a bounded queue of sequenced
// frames, plus one slot for the newest stats batch, which replaces the one
// before it when the client lags (stats are last-value-wins).
type Subscriber struct {
	hub      *Hub
	topics   map[string]bool // nil means every topic
	filter   stream.ContainerFilter
	filtered bool
	match    *filterMatcher // the filter prepared at subscribe; nil: none
	interval time.Duration
	maxQueue int

	notify chan struct{} // one pending wake-up for the write pump
	ended  chan struct{} // closed once the subscriber must be disconnected

	mu        sync.Mutex
	queue     [][]byte
	stats     []byte
	sent      *statsBatch // the newest batch handed over, or covered by a snapshot
	lastStats time.Time
	closeCode int // non-zero once the subscriber must be disconnected
	closeText string
}

// Ready is signalled whenever Take has something to return.
func (s *Subscriber) Ready() <-chan struct{} { return s.notify }

// Ended is closed once the subscriber must be disconnected (Take then
// returns the close code). A write pump stuck writing to a client that
// does not read never gets to Take, so the server also watches this.
func (s *Subscriber) Ended() <-chan struct{} { return s.ended }

// setEndLocked records why the subscriber ends, once; s.mu is held.
func (s *Subscriber) setEndLocked(code int, text string) {
	if s.closeCode == 0 {
		s.closeCode, s.closeText = code, text
		close(s.ended)
	}
}

// Take hands over everything waiting: the queued frames in order, then the
// newest stats batch. A non-zero closeCode means the connection must be
// closed with it after (or instead of) writing; frames are dropped then, as
// the client will resume or resync anyway.
func (s *Subscriber) Take(buf [][]byte) (frames [][]byte, closeCode int, closeText string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closeCode != 0 {
		return buf[:0], s.closeCode, s.closeText
	}
	frames = append(buf[:0], s.queue...)
	clear(s.queue)
	s.queue = s.queue[:0]
	// The backlog queued by Subscribe is gone; the normal bound applies.
	s.maxQueue = s.hub.cfg.QueueSize
	if s.stats != nil {
		frames = append(frames, s.stats)
		s.stats = nil
	}
	return frames, 0, ""
}

func (s *Subscriber) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// push queues one sequenced frame. A subscriber whose queue is full is
// ended as too slow: lifecycle messages are never dropped silently, so the
// client must reconnect and resume from the ring, or resync.
func (s *Subscriber) push(data []byte) {
	s.mu.Lock()
	if s.closeCode == 0 {
		if len(s.queue) >= s.maxQueue {
			s.setEndLocked(stream.CloseTooSlow, "too slow: reconnect with since to resume")
			s.hub.counts.slowCuts.Add(1)
			s.queue = nil
			s.stats = nil
		} else {
			s.queue = append(s.queue, data)
		}
	}
	s.mu.Unlock()
	s.wake()
}

// offerStats replaces the pending stats batch with b, honouring the
// subscriber's interval. Half a flush period of slack keeps a 1 s subscriber
// on a 1 s flush from skipping every other tick through jitter. A batch
// skipped for the interval is offered again on later flushes, so the newest
// values arrive even when no newer batch follows. The caller holds the hub's
// lock, which guards b.
func (s *Subscriber) offerStats(b *statsBatch, now time.Time, slack time.Duration) {
	s.mu.Lock()
	if s.closeCode != 0 || s.sent == b || now.Sub(s.lastStats) < s.interval-slack {
		s.mu.Unlock()
		return
	}
	s.sent = b
	data := b.forSubscriber(s)
	if data == nil {
		s.mu.Unlock()
		return
	}
	s.stats = data
	s.lastStats = now
	s.mu.Unlock()
	s.wake()
}

func (s *Subscriber) end(code int, text string) {
	s.mu.Lock()
	s.setEndLocked(code, text)
	s.mu.Unlock()
	s.wake()
}

func (s *Subscriber) wantsTopic(topic string) bool {
	return topic == "" || s.topics == nil || s.topics[topic]
}

func (s *Subscriber) wants(e entry) bool {
	if !s.wantsTopic(e.topic) {
		return false
	}
	return e.container == nil || s.match.matches(e.container)
}

func validate(sub stream.Subscription) (map[string]bool, time.Duration, error) {
	if sub.Protocol != stream.ProtocolVersion {
		return nil, 0, &RequestError{Code: stream.CloseBadVersion, Kind: "bad_version",
			Msg: fmt.Sprintf("protocol version %d is not supported; this streamer speaks %d", sub.Protocol, stream.ProtocolVersion)}
	}
	var topics map[string]bool
	for _, t := range sub.Topics {
		switch t {
		case stream.TopicContainers, stream.TopicStats, stream.TopicEvents:
		default:
			return nil, 0, badRequest("bad_topic", "unknown topic %q: use containers, stats or events", t)
		}
		if topics == nil {
			topics = make(map[string]bool)
		}
		topics[t] = true
	}
	if n := len(sub.Filter.Names) + len(sub.Filter.IDs) + len(sub.Filter.Labels) + len(sub.Filter.Projects); n > stream.MaxFilterEntries {
		return nil, 0, badRequest("bad_filter", "filter has %d names, ids, labels and projects: the limit is %d in all", n, stream.MaxFilterEntries)
	}
	for _, l := range sub.Filter.Labels {
		if k, _, _ := strings.Cut(l, "="); k == "" {
			return nil, 0, badRequest("bad_filter", "invalid label filter %q: use key or key=value", l)
		}
	}
	for _, list := range [][]string{sub.Filter.Names, sub.Filter.IDs, sub.Filter.Projects} {
		if slices.Contains(list, "") {
			return nil, 0, badRequest("bad_filter", "invalid filter: empty name, id or project")
		}
	}
	if _, err := stream.CompileNames(sub.Filter.Names); err != nil {
		return nil, 0, badRequest("bad_filter", "%v", err)
	}
	interval := stream.DefaultStatsRefresh
	if sub.StatsInterval != "" {
		d, err := time.ParseDuration(sub.StatsInterval)
		if err != nil {
			return nil, 0, badRequest("bad_interval", "invalid stats_interval %q: %v", sub.StatsInterval, err)
		}
		if d < stream.MinStatsInterval {
			return nil, 0, badRequest("bad_interval", "stats_interval %s is below the minimum of %s", d, stream.MinStatsInterval)
		}
		interval = d
	}
	return topics, interval, nil
}

// Subscribe registers a subscriber. Its first frames are a hello and either
// the messages after sub.Since (when the ring still holds them all) or a
// snapshot (flagged as a resync when a Since could not be honoured), then
// the newest stats. All of it is queued under the hub's lock, so nothing
// broadcast concurrently can fall between the replay and the live stream.
func (h *Hub) Subscribe(sub stream.Subscription) (*Subscriber, error) {
	topics, interval, err := validate(sub)
	if err == nil {
		err = validateHistory(sub, topics)
	}
	if err != nil {
		return nil, err
	}
	s := &Subscriber{
		hub:      h,
		topics:   topics,
		filter:   sub.Filter,
		filtered: !sub.Filter.IsEmpty(),
		match:    newFilterMatcher(sub.Filter),
		interval: interval,
		maxQueue: h.cfg.QueueSize,
		notify:   make(chan struct{}, 1),
		ended:    make(chan struct{}),
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errors.New("streamer stopping")
	}
	s.match = h.internFilterLocked(s.match)
	var replay []entry
	resumed := false
	if sub.Since != nil && sub.Since.Epoch == h.epoch {
		replay, resumed = h.ring.after(sub.Since.Seq, h.seq)
	}
	now := h.cfg.Now()
	hello := &stream.Message{Type: stream.TypeHello, Epoch: h.epoch, Seq: h.seq, Time: now, Hello: &stream.Hello{
		Protocol:      stream.ProtocolVersion,
		Server:        h.cfg.Server,
		Context:       h.cfg.Context,
		Endpoint:      h.cfg.Endpoint,
		Engine:        h.engine,
		StatsInterval: h.cfg.StatsFlush.String(),
		Resumed:       resumed,
		History:       h.hist.spanText(),
	}}
	s.queue = append(s.queue, mustEncode(hello))
	snapshot := false
	if resumed {
		for _, e := range replay {
			if s.wants(e) {
				s.queue = append(s.queue, e.data)
			}
		}
	} else if s.wantsTopic(stream.TopicContainers) {
		s.queue = append(s.queue, h.snapshotLocked(s, sub.Since != nil, now))
		snapshot = true
	}
	if hist := h.historyFrameLocked(s, sub, resumed, now); hist != nil {
		s.queue = append(s.queue, hist)
	}
	// A replay may be longer than the queue: it is not lag, so the bound
	// counts from after it until the write pump has taken it.
	s.maxQueue += len(s.queue)
	if s.wantsTopic(stream.TopicStats) && h.lastBatch != nil {
		// A snapshot carries samples at least as new as the last batch,
		// which after it would turn values back.
		s.sent = h.lastBatch
		if !snapshot {
			s.stats = h.lastBatch.forSubscriber(s)
			s.lastStats = now
		}
	}
	h.subs[s] = struct{}{}
	h.idleSince = time.Time{}
	s.wake()
	return s, nil
}

func (h *Hub) snapshotLocked(s *Subscriber, resync bool, now time.Time) []byte {
	snap := &stream.Snapshot{Resync: resync, Engine: h.engine, Containers: make([]stream.Container, 0, len(h.containers))}
	for _, id := range slices.Sorted(maps.Keys(h.containers)) {
		c := h.containers[id]
		if !s.match.matches(c) {
			continue
		}
		cc := *c
		if st, ok := h.stats[id]; ok {
			cc.Stats = &st
		}
		snap.Containers = append(snap.Containers, cc)
	}
	return mustEncode(&stream.Message{Type: stream.TypeSnapshot, Epoch: h.epoch, Seq: h.seq, Time: now, Snapshot: snap})
}

// Unsubscribe removes s; its write pump should stop.
func (h *Hub) Unsubscribe(s *Subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	h.releaseFilterLocked(s.match)
	if len(h.subs) == 0 {
		h.idleSince = h.cfg.Now()
	}
}

func mustEncode(m *stream.Message) []byte {
	data, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("hub: encoding %s message: %v", m.Type, err))
	}
	return data
}
