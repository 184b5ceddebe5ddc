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

// It returns nil when a filter leaves nothing: an empty batch would tell a
// filtered subscriber nothing that container messages have not. The
// encoding is shared by every subscriber with the same (interned) filter,
// and is the unfiltered one when the filter leaves every sample.
func (b *statsBatch) forSubscriber(s *Subscriber) []byte {
	if s.match == nil {
		return b.allData()
	}
	if data, ok := b.byFilter[s.match]; ok {
		return data
	}
	// picked is built only from the first sample the filter leaves out:
	// a filter that keeps them all shares the unfiltered encoding.
	var picked []stream.Stats
	every := true
	for i, st := range b.samples {
		c := b.conts[st.ID]
		keep := c != nil && s.match.matches(c)
		switch {
		case !keep && every:
			every = false
			picked = append(make([]stream.Stats, 0, len(b.samples)-1), b.samples[:i]...)
		case keep && !every:
			picked = append(picked, st)
		}
	}
	var data []byte
	switch {
	case every:
		data = b.allData()
	case len(picked) > 0:
		data = mustEncode(&stream.Message{Type: stream.TypeStats, Epoch: b.epoch, Seq: b.seq, Time: b.at, Stats: picked})
	}
	b.byFilter[s.match] = data
	return data
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
func (h *Hub) flushStats() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Now()
	h.hist.record(now, h.stats)
	if h.statsDirty {
		h.newBatchLocked(now)
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

func (h *Hub) newBatchLocked(now time.Time) {
	h.statsDirty = false
	// conts must not follow later changes of the live map.
	b := &statsBatch{epoch: h.epoch, seq: h.seq, at: now, conts: maps.Clone(h.containers), byFilter: map[*filterMatcher][]byte{}}
	b.samples = make([]stream.Stats, 0, len(h.stats))
	for _, id := range slices.Sorted(maps.Keys(h.stats)) {
		b.samples = append(b.samples, h.stats[id])
	}
	h.lastBatch = b
}
