package hub

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// The history message is written by hand rather than through
// encoding/json: it is the largest frame the streamer makes (200 containers
// x 300 samples x 8 metrics), and appending numbers straight into one
// buffer avoids a float64 slice per metric and lets the 32-bit rates print
// as their shortest 32-bit form instead of float64 noise.

// appendHistoryMessage appends a whole history frame for subscriber s
// (nil: no filter) with the samples from slot from on.
func (h *Hub) appendHistoryMessage(b []byte, s *Subscriber, from uint32, now time.Time) []byte {
	b = append(b, `{"type":"history","epoch":`...)
	b = appendJSONString(b, h.epoch)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, h.seq, 10)
	b = append(b, `,"time":"`...)
	b = now.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","history":`...)
	var match func(*stream.Container) bool
	if s != nil && s.filtered {
		match = s.match.matches
	}
	b = h.appendHistoryBody(b, match, from)
	return append(b, '}')
}

// appendHistoryBody appends the History object: the containers match
// selects (nil: all) that have samples from slot from on, sorted by id.
func (h *Hub) appendHistoryBody(b []byte, match func(*stream.Container) bool, from uint32) []byte {
	hs := &h.hist
	b = append(b, `{"step":"`...)
	b = append(b, hs.step.String()...)
	b = append(b, `","span":"`...)
	b = append(b, hs.span.String()...)
	b = append(b, `","containers":[`...)
	n := 0
	if hs.size > 0 {
		ids := h.historyIDs(match)
		// Grow once to about the size the frame will have (the last frame's
		// bytes per sample), rather than doubling through it.
		if hs.bytesPerSample > 0 {
			b = slices.Grow(b, len(ids)*hs.size*hs.bytesPerSample)
		}
		start, samples := len(b), 0
		for _, id := range ids {
			ch := hs.conts[id]
			first, last, ok := hs.window(ch, from)
			if !ok {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = hs.appendContainer(b, id, ch, first, last)
			samples += int(last - first + 1)
		}
		if samples > 0 {
			hs.bytesPerSample = (len(b)-start)/samples + 1
		}
	}
	return append(b, "]}"...)
}

// historyMetrics are the series in wire order, each with how to append one
// sample's value.
var historyMetrics = [...]struct {
	name   string
	append func(b []byte, e *histSample) []byte
}{
	{"cpu_percent", func(b []byte, e *histSample) []byte { return appendFloat(b, e.cpu, 64) }},
	{"mem_usage", func(b []byte, e *histSample) []byte { return strconv.AppendUint(b, e.memUsage, 10) }},
	{"mem_limit", func(b []byte, e *histSample) []byte { return strconv.AppendUint(b, e.memLimit, 10) }},
	{"net_rx_rate", func(b []byte, e *histSample) []byte { return appendFloat(b, float64(e.netRx), 32) }},
	{"net_tx_rate", func(b []byte, e *histSample) []byte { return appendFloat(b, float64(e.netTx), 32) }},
	{"block_read_rate", func(b []byte, e *histSample) []byte { return appendFloat(b, float64(e.blkRead), 32) }},
	{"block_write_rate", func(b []byte, e *histSample) []byte { return appendFloat(b, float64(e.blkWrite), 32) }},
	{"pids", func(b []byte, e *histSample) []byte { return strconv.AppendUint(b, uint64(e.pids), 10) }},
}

func (hs *history) appendContainer(b []byte, id string, ch *containerHistory, first, last uint32) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"start":"`...)
	b = hs.slotTime(first).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	for mi, m := range historyMetrics {
		b = append(b, `,"`...)
		b = append(b, m.name...)
		b = append(b, `":[`...)
		// Many values repeat (the limit, pids, idle rates): a value equal to
		// the one before it copies that one's digits instead of formatting.
		prevStart, prevEnd := -1, -1
		var prev *histSample
		for slot := first; slot <= last; slot++ {
			if slot > first {
				b = append(b, ',')
			}
			e := &ch.samples[int(slot)%hs.size]
			if e.slot != slot {
				b = append(b, "null"...)
				prev = nil
				continue
			}
			if prev != nil && sameMetric(mi, prev, e) {
				b = append(b, b[prevStart:prevEnd]...)
				continue
			}
			prevStart = len(b)
			b = m.append(b, e)
			prevEnd, prev = len(b), e
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// sameMetric reports whether metric i of a and b is bit for bit the same.
func sameMetric(i int, a, b *histSample) bool {
	switch i {
	case 0:
		return math.Float64bits(a.cpu) == math.Float64bits(b.cpu)
	case 1:
		return a.memUsage == b.memUsage
	case 2:
		return a.memLimit == b.memLimit
	case 3:
		return math.Float32bits(a.netRx) == math.Float32bits(b.netRx)
	case 4:
		return math.Float32bits(a.netTx) == math.Float32bits(b.netTx)
	case 5:
		return math.Float32bits(a.blkRead) == math.Float32bits(b.blkRead)
	case 6:
		return math.Float32bits(a.blkWrite) == math.Float32bits(b.blkWrite)
	default:
		return a.pids == b.pids
	}
}

// appendFloat writes the shortest decimal that reads back as the same
// value at bits precision; JSON has no NaN or infinity, so those are null.
func appendFloat(b []byte, v float64, bits int) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'f', -1, bits)
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}
