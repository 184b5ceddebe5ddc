package tui

import (
	"math"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// The metrics the detail view graphs, in the order it draws them.
const (
	metricCPU = iota
	metricMem
	metricNetRx
	metricNetTx
	metricBlockRead
	metricBlockWrite
	numMetrics
)

// point is one sample of every graphed metric; NaN marks a metric with no
// value at that moment (a gap).
type point struct {
	t time.Time
	v [numMetrics]float64
}

// series is one container's recent samples, oldest first, at most span
// long. It is extended from live (or polled) stats and seeded from the
// streamer's history, so a graph starts full instead of empty.
type series struct {
	points []point
	// The last cumulative block I/O counters seen in live stats: the
	// protocol gives rates for the network but totals for block I/O.
	lastBlockAt     time.Time
	lastBlockRead   uint64
	lastBlockWrite  uint64
	lastBlockLoaded bool
}

// histories holds the series of every container the client knows.
type histories struct {
	span time.Duration
	byID map[string]*series
}

func newHistories(span time.Duration) *histories {
	return &histories{span: span, byID: make(map[string]*series)}
}

func (h *histories) get(id string) *series {
	s := h.byID[id]
	if s == nil {
		s = &series{}
		h.byID[id] = s
	}
	return s
}

// addStats appends a live or polled sample. A sample not newer than the
// last one is a repeat (the same stats in the next frame) and is ignored.
func (h *histories) addStats(st *stream.Stats) {
	if st.Read.IsZero() {
		return
	}
	s := h.get(st.ID)
	if n := len(s.points); n > 0 && !st.Read.After(s.points[n-1].t) {
		return
	}
	p := point{t: st.Read}
	p.v[metricCPU] = st.CPUPercent
	p.v[metricMem] = float64(st.MemUsage)
	p.v[metricNetRx] = st.NetRxRate
	p.v[metricNetTx] = st.NetTxRate
	p.v[metricBlockRead], p.v[metricBlockWrite] = math.NaN(), math.NaN()
	if s.lastBlockLoaded && st.Read.After(s.lastBlockAt) && st.BlockRead >= s.lastBlockRead && st.BlockWrite >= s.lastBlockWrite {
		dt := st.Read.Sub(s.lastBlockAt).Seconds()
		p.v[metricBlockRead] = float64(st.BlockRead-s.lastBlockRead) / dt
		p.v[metricBlockWrite] = float64(st.BlockWrite-s.lastBlockWrite) / dt
	} else if n := len(s.points); n > 0 {
		// First sample after a gap in counters (or the first live one
		// after history): carry the last rate rather than draw a hole.
		p.v[metricBlockRead] = s.points[n-1].v[metricBlockRead]
		p.v[metricBlockWrite] = s.points[n-1].v[metricBlockWrite]
	}
	s.lastBlockAt, s.lastBlockRead, s.lastBlockWrite, s.lastBlockLoaded = st.Read, st.BlockRead, st.BlockWrite, true
	s.points = append(s.points, p)
	s.trim(st.Read.Add(-h.span))
}

// addHistory merges the streamer's history: its samples replace what the
// client holds for the same period; older and newer samples the client
// has (from polling, or live stats that came first) are kept.
func (h *histories) addHistory(hist *stream.History) {
	if hist == nil {
		return
	}
	step, err := time.ParseDuration(hist.Step)
	if err != nil || step <= 0 {
		return
	}
	for i := range hist.Containers {
		ch := &hist.Containers[i]
		n := len(ch.CPUPercent)
		if n == 0 {
			continue
		}
		from := make([]point, 0, n)
		for j := range n {
			p := point{t: ch.Start.Add(time.Duration(j) * step)}
			p.v[metricCPU] = at(ch.CPUPercent, j)
			p.v[metricMem] = at(ch.MemUsage, j)
			p.v[metricNetRx] = at(ch.NetRxRate, j)
			p.v[metricNetTx] = at(ch.NetTxRate, j)
			p.v[metricBlockRead] = at(ch.BlockReadRate, j)
			p.v[metricBlockWrite] = at(ch.BlockWriteRate, j)
			from = append(from, p)
		}
		s := h.get(ch.ID)
		first, last := from[0].t, from[len(from)-1].t
		merged := make([]point, 0, len(s.points)+len(from))
		for _, p := range s.points {
			if p.t.Before(first) {
				merged = append(merged, p)
			}
		}
		merged = append(merged, from...)
		for _, p := range s.points {
			if p.t.After(last) {
				merged = append(merged, p)
			}
		}
		s.points = merged
		s.trim(merged[len(merged)-1].t.Add(-h.span))
	}
}

func at(s stream.Series, i int) float64 {
	if i < len(s) {
		return s[i]
	}
	return math.NaN()
}

// trim drops the samples older than oldest, reusing the slice's memory.
func (s *series) trim(oldest time.Time) {
	i := 0
	for i < len(s.points) && s.points[i].t.Before(oldest) {
		i++
	}
	if i > 0 {
		// Reslice rather than shift: append reallocates (and so drops the
		// front) when the capacity runs out, amortised O(1) per sample.
		s.points = s.points[i:]
	}
}

// forget drops the series of containers no longer known.
func (h *histories) forget(keep func(id string) bool) {
	for id := range h.byID {
		if !keep(id) {
			delete(h.byID, id)
		}
	}
}

// summary is a metric's current, min and max over the window.
type summary struct {
	cur, min, max float64
	ok            bool
}

// summarize returns the metric's figures over the samples at or after from.
func (s *series) summarize(metric int, from time.Time) summary {
	var sum summary
	if s == nil {
		return sum
	}
	for _, p := range s.points {
		if p.t.Before(from) {
			continue
		}
		v := p.v[metric]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if !sum.ok {
			sum.min, sum.max = v, v
			sum.ok = true
		}
		sum.min = min(sum.min, v)
		sum.max = max(sum.max, v)
		sum.cur = v
	}
	return sum
}

// buckets reduces the metric over [end-span, end] to width columns, each
// the largest value of its samples (a spike stays visible), NaN where a
// column has none.
func (s *series) buckets(metric int, end time.Time, span time.Duration, width int) []float64 {
	out := make([]float64, width)
	for i := range out {
		out[i] = math.NaN()
	}
	if s == nil || width <= 0 {
		return out
	}
	start := end.Add(-span)
	per := float64(span) / float64(width)
	for _, p := range s.points {
		if p.t.Before(start) || p.t.After(end) {
			continue
		}
		v := p.v[metric]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		col := int(float64(p.t.Sub(start)) / per)
		col = min(max(col, 0), width-1)
		if math.IsNaN(out[col]) || v > out[col] {
			out[col] = v
		}
	}
	return out
}

// fillHoles gives a single empty column between two drawn ones its left
// neighbour's value: with a column per second or less, clock jitter
// otherwise leaves a hole where no sample happens to fall.
func fillHoles(cols []float64) {
	for i := 1; i+1 < len(cols); i++ {
		if math.IsNaN(cols[i]) && !math.IsNaN(cols[i-1]) && !math.IsNaN(cols[i+1]) {
			cols[i] = cols[i-1]
		}
	}
}

// graphLevels are the eighths of a cell a bar can fill.
var graphLevels = [...]string{" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"}

// drawGraph renders cols as height rows of bars, top row first, scaled so
// that top fills the whole height. A column without a value is blank; any
// value, even zero, shows at least the lowest eighth, so that a flat line
// of zeros is visibly data and not a gap.
func drawGraph(cols []float64, height int, top float64) []string {
	if height < 1 {
		height = 1
	}
	if top <= 0 || math.IsNaN(top) {
		top = 1
	}
	rows := make([][]byte, height)
	for r := range rows {
		rows[r] = make([]byte, 0, len(cols)*3)
	}
	for _, v := range cols {
		units := -1
		if !math.IsNaN(v) {
			units = int(math.Round(max(v, 0) / top * float64(height*8)))
			units = max(units, 1)
		}
		for r := range height {
			// r counts from the bottom; rows[height-1-r] is that row.
			cell := 0
			if units >= 0 {
				cell = min(max(units-r*8, 0), 8)
			}
			rows[height-1-r] = append(rows[height-1-r], graphLevels[cell]...)
		}
	}
	out := make([]string, height)
	for i, r := range rows {
		out[i] = string(r)
	}
	return out
}
