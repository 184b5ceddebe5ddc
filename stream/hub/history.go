package hub

import (
	"maps"
	"slices"
	"time"
	"unsafe"

	"github.com/docker-live/docker-live/stream"
)

// histSample is one second (one stats flush) of one container, 48 bytes:
// CPU % and the two memory figures keep the live sample's exact values; the
// four rates are 32-bit floats (7 significant digits, plenty for a graph).
// slot says which flush it belongs to (0: the entry was never written), so
// a ring entry left from before a gap is recognised as stale.
type histSample struct {
	cpu      float64
	memUsage uint64
	memLimit uint64
	slot     uint32
	netRx    float32
	netTx    float32
	blkRead  float32
	blkWrite float32
	pids     uint32
}

// HistorySampleBytes is the memory one sample of one container takes.
const HistorySampleBytes = int(unsafe.Sizeof(histSample{}))

// containerHistory is one container's ring: samples[slot % len] holds the
// sample of that slot if its slot field says so. It is allocated once, when
// the container's first sample is recorded, and kept (also while the
// container is stopped) until the container is removed.
type containerHistory struct {
	samples []histSample
	free    func() // releases samples (see allocHistRing); nil for a heap slice
	newest  uint32 // slot of the newest sample
	// The previous sample's block totals, for the block rates that the live
	// samples do not carry.
	prevRead               time.Time
	prevBlkRead, prevBlkWr uint64
	blkRead, blkWrite      float32 // the rates of the newest live sample
}

// newHistRing allocates a container's ring and writes every entry once (as
// "never written", slot 0). Fresh memory from the OS is not resident until
// written, so a ring left to fill over its span would grow the streamer's
// RSS for its first 5 minutes; written at once, the RSS a streamer shows a
// second after it has sampled its containers is the one it keeps. That is
// also what lets a benchmark measure the full-history RSS without waiting
// for the span.
func newHistRing(size int) ([]histSample, func()) {
	r, free := allocHistRing(size)
	for i := range r {
		r[i].slot = 0 // a store per entry: the compiler cannot skip it
	}
	return r, free
}

// history is the hub's stats history: a ring per container on a grid of
// slots shared by all containers. Slot n is the flush at base + (n-1)*step;
// slot 0 means "none". The hub's lock guards it.
type history struct {
	size  int // samples per container; 0 keeps no history
	step  time.Duration
	span  time.Duration
	base  time.Time
	conts map[string]*containerHistory
	// full caches the encoded history of every container for unfiltered
	// subscribers that ask for all of it, until the next flush changes it.
	full []byte
	// bytesPerSample is what the last history frame took per container
	// sample, to size the next one's buffer.
	bytesPerSample int
}

func newHistory(span, step time.Duration, base time.Time) history {
	h := history{step: step, base: base, conts: make(map[string]*containerHistory)}
	if span > 0 {
		h.size = int((span + step - 1) / step)
		h.span = time.Duration(h.size) * step
	}
	return h
}

// slotOf maps a time to the nearest flush slot (at least 1), so a flush
// that runs late by less than half a step still lands in its own slot.
func (hs *history) slotOf(t time.Time) uint32 {
	d := t.Sub(hs.base)
	if d < 0 {
		return 1
	}
	return uint32((d+hs.step/2)/hs.step) + 1
}

func (hs *history) slotTime(slot uint32) time.Time {
	return hs.base.Add(time.Duration(slot-1) * hs.step)
}

// record adds the newest live sample of every running container as the
// sample of the flush at now. It allocates nothing except a container's
// ring the first time that container is recorded.
func (hs *history) record(now time.Time, samples map[string]stream.Stats) {
	if hs.size == 0 || len(samples) == 0 {
		return
	}
	slot := hs.slotOf(now)
	for id, st := range samples {
		ch := hs.conts[id]
		if ch == nil {
			r, free := newHistRing(hs.size)
			ch = &containerHistory{samples: r, free: free}
			hs.conts[id] = ch
		}
		if slot < ch.newest {
			continue // the clock went back; keep the ring ordered
		}
		if !st.Read.Equal(ch.prevRead) {
			ch.blkRead, ch.blkWrite = 0, 0
			// The same bound as a live rate: only between two samples of one
			// run of the container (its counters restart with it).
			if dt := st.Read.Sub(ch.prevRead).Seconds(); !ch.prevRead.IsZero() && dt > 0 && dt <= 10*hs.step.Seconds() {
				if st.BlockRead >= ch.prevBlkRead {
					ch.blkRead = float32(float64(st.BlockRead-ch.prevBlkRead) / dt)
				}
				if st.BlockWrite >= ch.prevBlkWr {
					ch.blkWrite = float32(float64(st.BlockWrite-ch.prevBlkWr) / dt)
				}
			}
			ch.prevRead, ch.prevBlkRead, ch.prevBlkWr = st.Read, st.BlockRead, st.BlockWrite
		}
		ch.samples[int(slot)%hs.size] = histSample{
			cpu:      st.CPUPercent,
			memUsage: st.MemUsage,
			memLimit: st.MemLimit,
			slot:     slot,
			netRx:    float32(st.NetRxRate),
			netTx:    float32(st.NetTxRate),
			blkRead:  ch.blkRead,
			blkWrite: ch.blkWrite,
			pids:     uint32(min(st.PIDs, 1<<32-1)),
		}
		ch.newest = slot
	}
	hs.full = nil
}

// forget drops a removed container's history.
func (hs *history) forget(id string) {
	if ch, ok := hs.conts[id]; ok {
		delete(hs.conts, id)
		hs.full = nil
		// Nothing else refers to the ring: encodings copy out of it
		// under the hub's lock, which the caller holds.
		if ch.free != nil {
			ch.free()
			ch.samples, ch.free = nil, nil
		}
	}
}

// window is the slots of ch to send: from at the earliest, and never more
// than the ring holds behind the container's newest sample (a stopped
// container keeps the window that ended when it stopped). ok is false when
// nothing in it was recorded.
func (hs *history) window(ch *containerHistory, from uint32) (first, last uint32, ok bool) {
	last = ch.newest
	if last == 0 || last < from {
		return 0, 0, false
	}
	first = from
	if oldest := int64(last) - int64(hs.size) + 1; int64(first) < oldest {
		first = uint32(oldest)
	}
	first = max(first, 1)
	for first <= last && ch.samples[int(first)%hs.size].slot != first {
		first++
	}
	return first, last, first <= last
}

// validateHistory checks a subscription's history request.
func validateHistory(sub stream.Subscription, topics map[string]bool) error {
	if sub.History.Invalid != "" {
		return badRequest("bad_history", `invalid history %s: use true, false or a duration such as "2m"`, sub.History.Invalid)
	}
	if sub.History.Want && topics != nil && !topics[stream.TopicStats] {
		return badRequest("bad_history", "history needs the stats topic")
	}
	return nil
}

// fromSlot is the first slot a request may receive: span limits it back
// from now, and since (the time of the newest stats message a resumed
// client holds) to what came after.
func (hs *history) fromSlot(req stream.HistoryRequest, since time.Time, now time.Time) uint32 {
	from := uint32(1)
	cur := hs.slotOf(now)
	if req.Span > 0 {
		n := uint32(min(int64((req.Span+hs.step-1)/hs.step), int64(cur)))
		from = max(from, cur-n+1)
	}
	if !since.IsZero() {
		from = max(from, hs.slotOf(since)+1)
	}
	return from
}

// historyFrameLocked encodes the history message for a new subscription,
// or returns nil when none was asked for. A resumed subscriber gets only
// the samples after its history_since; a snapshot (fresh or resync) gets
// the whole series.
func (h *Hub) historyFrameLocked(s *Subscriber, sub stream.Subscription, resumed bool, now time.Time) []byte {
	if !sub.History.Want || !s.wantsTopic(stream.TopicStats) {
		return nil
	}
	since := time.Time{}
	if resumed {
		since = sub.HistorySince
	}
	from := h.hist.fromSlot(sub.History, since, now)
	full := !s.filtered && from == 1
	if full && h.hist.full != nil {
		return h.hist.full
	}
	data := h.appendHistoryMessage(nil, s, from, now)
	if full {
		h.hist.full = data
	}
	return data
}

// historyIDs lists, sorted, the containers whose history s may see.
func (h *Hub) historyIDs(match func(*stream.Container) bool) []string {
	ids := make([]string, 0, len(h.hist.conts))
	for _, id := range slices.Sorted(maps.Keys(h.hist.conts)) {
		c, ok := h.containers[id]
		if ok && (match == nil || match(c)) {
			ids = append(ids, id)
		}
	}
	return ids
}

// spanText is hello's history field: empty when no history is kept.
func (hs *history) spanText() string {
	if hs.size == 0 {
		return ""
	}
	return hs.span.String()
}
