package hub

import (
	"maps"
	"slices"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// statsBatch is one flush: the newest sample of every container, encoded
// once for all unfiltered subscribers. Filtered subscribers get their own
// encoding, shared among those with the same filter. The hub's lock guards
// the lazily filled fields.
type statsBatch struct {
	epoch    string
	seq      uint64
	at       time.Time
	samples  []stream.Stats // sorted by container id
	conts    map[string]*stream.Container
	all      []byte // encoded lazily: see allData
	byFilter map[*filterMatcher][]byte
}

// forSubscriber is the batch as s gets it. It returns nil when a filter
// leaves nothing: an empty batch would tell a filtered subscriber nothing
// that container messages have not. The encoding is shared by every
// subscriber with the same (interned) filter, and is the unfiltered one when
// the filter leaves every sample. A batch the flush published has its
// subscribers' encodings made already; one made here (a subscriber that
// joined since) is made under the hub's lock, which guards the cache.
func (b *statsBatch) forSubscriber(s *Subscriber) []byte {
	if s.match == nil {
		return b.allData()
	}
	if data, ok := b.byFilter[s.match]; ok {
		return data
	}
	data := b.encodeFor(s.match)
	b.byFilter[s.match] = data
	return data
}

// encodeFor encodes the samples match keeps (the unfiltered encoding when
// it keeps them all; nil when none). It reads only the batch's own
// immutable fields, so it can run without the hub's lock.
func (b *statsBatch) encodeFor(match *filterMatcher) []byte {
	// picked is built only from the first sample the filter leaves out:
	// a filter that keeps them all shares the unfiltered encoding.
	var picked []stream.Stats
	every := true
	for i, st := range b.samples {
		c := b.conts[st.ID]
		keep := c != nil && match.matches(c)
		switch {
		case !keep && every:
			every = false
			picked = append(make([]stream.Stats, 0, len(b.samples)-1), b.samples[:i]...)
		case keep && !every:
			picked = append(picked, st)
		}
	}
	switch {
	case every:
		return b.allData()
	case len(picked) > 0:
		return mustEncode(&stream.Message{Type: stream.TypeStats, Epoch: b.epoch, Seq: b.seq, Time: b.at, Stats: picked})
	}
	return nil
}

// allData is the batch encoded for unfiltered subscribers, encoded when
// first wanted: when every subscriber filters, it may never be.
func (b *statsBatch) allData() []byte {
	if b.all == nil {
		b.all = mustEncode(&stream.Message{Type: stream.TypeStats, Epoch: b.epoch, Seq: b.seq, Time: b.at, Stats: b.samples})
	}
	return b.all
}

// flushStats encodes a new batch when any sample changed since the last
// flush, and offers the newest batch to every subscriber that has not had it.
//
// The encoding (a few hundred microseconds for 200 containers, far longer
// when the host is busy and the thread is descheduled) happens outside the
// hub's lock, so that an event arriving meanwhile is not held behind the
// stats: the batch is built under the lock, encoded for the filters its
// subscribers use without it, then published under the lock again, unless
// a container's samples were dropped meanwhile (the next flush then builds
// a new one).
func (h *Hub) flushStats() {
	h.mu.Lock()
	now := h.cfg.Now()
	h.hist.record(now, h.stats)
	var b *statsBatch
	var gen uint64
	var matchers []*filterMatcher
	needAll := false
	if h.statsDirty {
		b = h.newBatchLocked(now)
		gen = h.statsGen
		for s := range h.subs {
			if !s.wantsTopic(stream.TopicStats) {
				continue
			}
			if s.match == nil {
				needAll = true
			} else if !slices.Contains(matchers, s.match) {
				matchers = append(matchers, s.match)
			}
		}
	}
	h.mu.Unlock()

	if b != nil {
		if flushEncodeHook != nil {
			flushEncodeHook()
		}
		if needAll {
			b.allData()
		}
		for _, m := range matchers {
			b.byFilter[m] = b.encodeFor(m)
		}
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if b != nil && h.statsGen == gen && !h.closed {
		h.lastBatch = b
	}
	if h.lastBatch == nil {
		return
	}
	slack := h.cfg.StatsFlush / 2
	for s := range h.subs {
		if s.wantsTopic(stream.TopicStats) {
			s.offerStats(h.lastBatch, now, slack)
		}
	}
}

// flushEncodeHook, when set (tests only), runs where flushStats encodes
// without the hub's lock.
var flushEncodeHook func()

// newBatchLocked takes the newest samples as a batch, not yet published.
func (h *Hub) newBatchLocked(now time.Time) *statsBatch {
	h.statsDirty = false
	// conts must not follow later changes of the live map.
	b := &statsBatch{epoch: h.epoch, seq: h.seq, at: now, conts: maps.Clone(h.containers), byFilter: map[*filterMatcher][]byte{}}
	b.samples = make([]stream.Stats, 0, len(h.stats))
	for _, id := range slices.Sorted(maps.Keys(h.stats)) {
		b.samples = append(b.samples, h.stats[id])
	}
	return b
}
