package tui

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
)

// Columns of the table, in the order they are drawn.
const (
	colName = iota
	colState
	colCPU
	colCPUBar
	colMem
	colMemBar
	colMemUsage
	colNetRx
	colNetTx
	colBlock
	colPIDs
	colUptime
	colProject
	colImage
	numCols
)

var colTitles = [numCols]string{
	"NAME", "STATE", "CPU %", "", "MEM %", "", "MEM", "NET RX/s", "NET TX/s", "BLOCK I/O", "PIDS", "UPTIME", "PROJECT", "IMAGE",
}

// colRight marks the numeric columns, aligned right.
var colRight = [numCols]bool{colCPU: true, colMem: true, colMemUsage: true, colNetRx: true, colNetTx: true, colBlock: true, colPIDs: true, colUptime: true}

// colFixed is the width of each numeric column, wide enough for its
// largest value ("1600.00%", "23.54GiB", "12.5kB/s", "1.23MB / 4.56MB";
// sizes keep three or four significant digits, as docker stats prints them):
// their numbers are formatted only for the rows drawn, and the columns do
// not jump as values change.
var colFixed = [numCols]int{colCPU: 8, colCPUBar: barWidth, colMem: 7, colMemBar: barWidth, colMemUsage: 8, colNetRx: 8, colNetTx: 8, colBlock: 15, colPIDs: 4, colUptime: 6}

// colMax caps a column's width; longer text is cut with an ellipsis.
var colMax = [numCols]int{colName: 40, colState: 19, colProject: 16, colImage: 32}

// dropOrder is the order in which columns give way when the terminal is
// too narrow, first dropped first (README "Terminal view" lists it): the
// first four (IMAGE, UPTIME and the two bars) before a long name is
// shortened, the others only once names are down to 12 columns. NAME,
// STATE, CPU % and MEM % always stay.
// decorative is how many columns of dropOrder go before a name is shortened.
const decorative = 4

var dropOrder = []int{colImage, colUptime, colMemBar, colCPUBar, colPIDs, colBlock, colProject, colNetTx, colNetRx, colMemUsage}

// sortColumn is the column whose title carries the sort mark.
var sortColumn = map[string]int{"name": colName, "cpu": colCPU, "mem": colMem, "net": colNetRx, "io": colBlock, "pids": colPIDs, "state": colState}

const (
	barWidth     = 10
	markerWidth  = 2 // "› " before the selected row
	columnGap    = 2
	minNameWidth = 12
)

// line is one table row: a container, or a Compose project's group header.
type line struct {
	group bool
	id    string
	state string
	row   output.Row
	cells [numCols]string
	text  string // a group header's text
	// numbers says the numeric cells are formatted (fillNumbers); at is
	// the time their uptime is computed for.
	numbers bool
	at      time.Time
}

// layout is which columns fit the width, and how wide each is.
type layout struct {
	cols   []int
	widths [numCols]int
}

func (m *Model) sortKey() string { return SortKeys[m.sortIdx] }

// descending reports whether the current order is largest first: numbers
// start that way, names and states A to Z; S flips either.
func (m *Model) descending() bool {
	k := m.sortKey()
	return (k != "name" && k != "state") != m.reverse
}

// rebuild recomputes the rows after new data or a key that changes what
// is shown: filter, running-only, sort, then groups; the selection stays
// on its container.
func (m *Model) rebuild() {
	now := m.now()
	filter := strings.ToLower(m.filter)
	rows := make([]*line, 0, len(m.containers))
	for _, c := range m.containers {
		if !m.all && !stream.IsActive(c.State) {
			continue
		}
		if filter != "" && !matchesFilter(&c, filter) {
			continue
		}
		var st *stream.Stats
		if s, ok := m.stats[c.ID]; ok {
			st = &s
		}
		l := &line{id: c.ID, state: c.State, row: output.NewRow(c, st), at: now}
		fillText(l, &c)
		rows = append(rows, l)
	}
	m.sortLines(rows)
	m.shown = len(rows)
	if m.group {
		rows = groupLines(rows, m.containers)
	}
	m.lines = rows
	m.layout = m.fit()

	// Keep the selection on its container; if it went away, on the row
	// where it was.
	idx := -1
	if m.selID != "" {
		for i := range m.lines {
			if !m.lines[i].group && m.lines[i].id == m.selID {
				idx = i
				break
			}
		}
	}
	if idx < 0 {
		m.selIdx = min(max(m.selIdx, 0), max(len(m.lines)-1, 0))
		m.move(0)
	} else {
		m.selIdx = idx
	}
	m.scroll()
}

func matchesFilter(c *stream.Container, lower string) bool {
	return strings.Contains(strings.ToLower(c.Name), lower) ||
		strings.Contains(strings.ToLower(c.Project), lower) ||
		strings.Contains(strings.ToLower(c.Image), lower)
}

// fillText sets the cells whose width the layout measures: the texts.
func fillText(l *line, c *stream.Container) {
	r := &l.row
	if r.Name == "" {
		l.cells[colName] = shortID(r.ID)
	} else {
		l.cells[colName] = output.Escape(r.Name)
	}
	l.cells[colState] = r.StateText()
	l.cells[colProject] = output.Escape(c.Project)
	l.cells[colImage] = output.Escape(c.Image)
}

// fillNumbers formats the numeric cells, which have fixed widths: only
// for rows drawn, once per rebuild, so that a stats update does not format
// the numbers of hundreds of rows nobody sees.
func fillNumbers(l *line) {
	if l.numbers || l.group {
		return
	}
	l.numbers = true
	r := &l.row
	l.cells[colCPU] = r.CPUText()
	l.cells[colMem] = r.MemPercentText()
	l.cells[colMemUsage] = "--"
	if r.HasStats {
		l.cells[colCPUBar] = bar(r.CPUPercent)
		l.cells[colMemBar] = bar(r.MemPercent)
		l.cells[colMemUsage] = output.BinarySize(r.MemUsage)
	}
	l.cells[colNetRx] = r.NetRxRateText()
	l.cells[colNetTx] = r.NetTxRateText()
	l.cells[colBlock] = r.BlockIOText()
	l.cells[colPIDs] = r.PIDsText()
	l.cells[colUptime] = r.UptimeText(l.at)
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// bar draws a percentage (of one CPU, or of the memory limit) in barWidth
// cells.
func bar(pct float64) string {
	filled := int(pct/100*barWidth + 0.5)
	return bars[min(max(filled, 0), barWidth)]
}

var bars = func() (b [barWidth + 1]string) {
	for i := range b {
		b[i] = strings.Repeat("█", i) + strings.Repeat("░", barWidth-i)
	}
	return b
}()

func (m *Model) sortLines(rows []*line) {
	key := m.sortKey()
	num := func(l *line) float64 {
		r := &l.row
		switch key {
		case "cpu":
			return r.CPUPercent
		case "mem":
			return float64(r.MemUsage)
		case "net":
			return r.NetRxRate + r.NetTxRate
		case "io":
			return float64(r.BlockRead + r.BlockWrite)
		case "pids":
			return float64(r.PIDs)
		}
		return 0
	}
	desc := m.descending()
	// Pointers, not the lines, move: a line is half a kilobyte. The id
	// breaks every tie, so the order is total and needs no stable sort.
	slices.SortFunc(rows, func(a, b *line) int {
		var c int
		switch key {
		case "name":
			c = strings.Compare(a.row.Name, b.row.Name)
		case "state":
			c = strings.Compare(a.row.State, b.row.State)
		default:
			c = cmp.Compare(num(a), num(b))
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = strings.Compare(a.row.Name, b.row.Name)
		}
		if c == 0 {
			c = strings.Compare(a.id, b.id)
		}
		return c
	})
}

// noProject is the group of containers without a Compose project label.
const noProject = "(no project)"

// groupLines puts a header row above each Compose project's containers,
// with their totals; projects A to Z, containers without one last.
func groupLines(rows []*line, containers map[string]stream.Container) []*line {
	byProject := map[string][]*line{}
	var names []string
	for _, l := range rows {
		p := containers[l.id].Project
		if p == "" {
			p = noProject
		}
		if _, ok := byProject[p]; !ok {
			names = append(names, p)
		}
		byProject[p] = append(byProject[p], l)
	}
	slices.SortFunc(names, func(a, b string) int {
		if (a == noProject) != (b == noProject) {
			if a == noProject {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	out := make([]*line, 0, len(rows)+len(names))
	for _, p := range names {
		members := byProject[p]
		var cpu, rx, tx float64
		var mem uint64
		for _, l := range members {
			cpu += l.row.CPUPercent
			mem += l.row.MemUsage
			rx += l.row.NetRxRate
			tx += l.row.NetTxRate
		}
		n := "containers"
		if len(members) == 1 {
			n = "container"
		}
		var b strings.Builder
		b.WriteString("▾ ")
		b.WriteString(output.Escape(p))
		b.WriteString("  ")
		b.WriteString(itoa(len(members)))
		b.WriteString(" " + n + "  CPU ")
		b.WriteString(output.Percent(cpu))
		b.WriteString("  MEM ")
		b.WriteString(output.BinarySize(mem))
		b.WriteString("  NET ↓")
		b.WriteString(output.Rate(rx))
		b.WriteString(" ↑")
		b.WriteString(output.Rate(tx))
		out = append(out, &line{group: true, id: "group:" + p, text: b.String()})
		out = append(out, members...)
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

// fit chooses the columns for the width: every column's natural width
// (its widest cell or title, capped), then columns dropped in dropOrder
// until the line fits with NAME at least minNameWidth wide.
func (m *Model) fit() layout {
	var natural [numCols]int
	for c := range numCols {
		natural[c] = utf8.RuneCountInString(m.title(c))
	}
	for c, w := range colFixed {
		natural[c] = max(natural[c], w)
	}
	for _, l := range m.lines {
		if l.group {
			continue
		}
		for _, c := range [...]int{colName, colState, colProject, colImage} {
			if n := utf8.RuneCountInString(l.cells[c]); n > natural[c] {
				natural[c] = n
			}
		}
	}
	for c, cap := range colMax {
		if cap > 0 {
			natural[c] = min(natural[c], cap)
		}
	}
	dropped := [numCols]bool{}
	// Empty optional columns take no room.
	if !m.anyProject() {
		dropped[colProject] = true
	}
	var lay layout
	for i, next := range append(slices.Clone(dropOrder), -1) {
		rest := markerWidth
		for c := 1; c < numCols; c++ {
			if !dropped[c] {
				rest += columnGap + natural[c]
			}
		}
		avail := m.width - rest
		// The decorative columns give way before a name is shortened;
		// the rest only once names are down to minNameWidth.
		need := min(natural[colName], minNameWidth)
		if i < decorative {
			need = natural[colName]
		}
		if avail >= need || next < 0 {
			lay.widths = natural
			lay.widths[colName] = max(min(natural[colName], avail), 1)
			for c := range numCols {
				if !dropped[c] {
					lay.cols = append(lay.cols, c)
				}
			}
			return lay
		}
		dropped[next] = true
	}
	return lay
}

func (m *Model) anyProject() bool {
	for _, c := range m.containers {
		if c.Project != "" {
			return true
		}
	}
	return false
}

// title is a column's header, with the sort mark on the sort column.
func (m *Model) title(c int) string {
	t := colTitles[c]
	if sortColumn[m.sortKey()] == c {
		if m.descending() {
			return t + "▼"
		}
		return t + "▲"
	}
	return t
}

// tableRows is how many rows fit between the header lines and the status
// and footer lines.
func (m *Model) tableRows() int { return max(m.height-4, 1) }

// scroll keeps the selected row on screen.
func (m *Model) scroll() {
	n := m.tableRows()
	if m.selIdx < m.offset {
		m.offset = m.selIdx
	}
	if m.selIdx >= m.offset+n {
		m.offset = m.selIdx - n + 1
	}
	m.offset = min(m.offset, max(len(m.lines)-n, 0))
	m.offset = max(m.offset, 0)
}
