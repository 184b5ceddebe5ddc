package hub

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// statsBatch is one flush: the newest sample of every container, encoded
// once for all unfiltered subscribers. Filtered subscribers get their own
// encoding, shared among those with the same filter.
type statsBatch struct {
	epoch   string
	seq     uint64
	at      time.Time
	samples []stream.Stats // sorted by container id
	conts   map[string]*stream.Container
	all     []byte
	byKey   map[string][]byte
}

// It returns nil when a filter leaves nothing: an empty batch would tell a
// filtered subscriber nothing that container messages have not.
func (b *statsBatch) forSubscriber(s *Subscriber) []byte {
	if !s.filtered {
		return b.all
	}
	key := filterKey(s.filter)
	if data, ok := b.byKey[key]; ok {
		return data
	}
	var picked []stream.Stats
	for _, st := range b.samples {
		if c := b.conts[st.ID]; c != nil && matches(s.filter, c) {
			picked = append(picked, st)
		}
	}
	var data []byte
	if len(picked) > 0 {
		data = mustEncode(&stream.Message{Type: stream.TypeStats, Epoch: b.epoch, Seq: b.seq, Time: b.at, Stats: picked})
	}
	b.byKey[key] = data
	return data
}

func filterKey(f stream.ContainerFilter) string {
	parts := func(l []string) string { return strings.Join(slices.Sorted(slices.Values(l)), "\x00") }
	return parts(f.Names) + "\x01" + parts(f.IDs) + "\x01" + parts(f.Labels) + "\x01" + parts(f.Projects)
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
	b := &statsBatch{epoch: h.epoch, seq: h.seq, at: now, conts: maps.Clone(h.containers), byKey: map[string][]byte{}}
	b.samples = make([]stream.Stats, 0, len(h.stats))
	for _, id := range slices.Sorted(maps.Keys(h.stats)) {
		b.samples = append(b.samples, h.stats[id])
	}
	b.all = mustEncode(&stream.Message{Type: stream.TypeStats, Epoch: h.epoch, Seq: h.seq, Time: now, Stats: b.samples})
	h.lastBatch = b
}
