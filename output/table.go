package output

import (
	"bytes"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// Connection modes shown in the table's status line.
const (
	ModeLive              = "live"
	ModeReconnecting      = "reconnecting"
	ModePolling           = "polling"
	ModeEngineUnavailable = "engine-unavailable"
	// ModeStale is a live connection on which the streamer has been
	// silent for 3x the stats interval: the numbers may be old.
	ModeStale = "stale"
)

// Header is the status line above the table: how the data is arriving and
// how fresh it is. A zero Mode leaves the line out.
type Header struct {
	Mode       string // ModeLive, ModeReconnecting, ModePolling or ModeEngineUnavailable
	Detail     string // e.g. "attempt 3, next in 1.6s"
	Context    string
	Containers int      // rows shown
	Total      int      // containers known; shown as "3 of 7" when more than Containers
	Waiting    []string // CONTAINER arguments that match nothing yet
	Hidden     int      // columns left out for the width; set by RenderTable
	Updated    time.Time
}

// TableOptions shape one rendering of the table.
type TableOptions struct {
	Width   int  // terminal columns; 0 means unlimited
	Height  int  // terminal rows; 0 means unlimited. Rows that do not fit are counted in a last line
	NoTrunc bool // never shorten names (lines may then exceed Width)
	Now     time.Time
	TTY     bool // colour the status indicator
	// Template replaces the default columns with a "table TEMPLATE" format.
	Template *Template
	// ShowContext puts a CONTEXT column (Row.Context) before the default
	// columns, for a view over several contexts. A "table TEMPLATE" names
	// its own columns ({{.Context}}) instead.
	ShowContext bool
}

const (
	colGap       = 3 // docker's tabwriter padding
	minNameWidth = 12
	ellipsis     = "…"
)

var tableHeaders = [...]string{
	"NAME", "STATE", "CPU %", "MEM USAGE / LIMIT", "MEM %",
	"NET RX/s", "NET TX/s", "BLOCK I/O", "PIDS", "UPTIME",
}

const numCols = len(tableHeaders)

// contextHeader names the CONTEXT column (TableOptions.ShowContext).
const contextHeader = "CONTEXT"

var headerBytes = func() (b [numCols][]byte) {
	for i, h := range tableHeaders {
		b[i] = []byte(h)
	}
	return b
}()

func appendCell(dst []byte, r *Row, col int, now time.Time) []byte {
	switch col {
	case 0:
		if r.Name == "" {
			return append(dst, truncateID(r.ID)...)
		}
		return AppendEscaped(dst, r.Name)
	case 1:
		return r.appendState(dst)
	case 2:
		return r.appendCPU(dst)
	case 3:
		return r.appendMemUsage(dst, noValue)
	case 4:
		return r.appendMemPercent(dst)
	case 5:
		return r.appendRate(dst, r.NetRxRate)
	case 6:
		return r.appendRate(dst, r.NetTxRate)
	case 7:
		return r.appendBlockIO(dst)
	case 8:
		return r.appendPIDs(dst)
	default:
		return r.appendUptime(dst, now)
	}
}

// RenderTable renders one frame: the status line, the column headers and one
// line per row, in the order given. Lines never exceed opts.Width unless
// NoTrunc: names are shortened first, then the rightmost columns that still
// do not fit are dropped. The result has no escape codes unless opts.TTY.
func RenderTable(rows []Row, h Header, opts TableOptions) []byte {
	var headers []Header
	if h.Mode != "" {
		headers = []Header{h}
	}
	return RenderTableHeaders(rows, headers, opts)
}

// RenderTableHeaders is RenderTable with one status line per header, in the
// order given: a view over several contexts has one per context. The first
// line says how many columns the width left out.
func RenderTableHeaders(rows []Row, headers []Header, opts TableOptions) []byte {
	fixed := 1 + len(headers) // the column header line and the status lines
	shown, hidden := fitHeight(len(rows), opts.Height, fixed)
	var body []byte
	hiddenCols := 0
	if opts.Template != nil {
		body = opts.Template.appendTable(nil, rows[:shown], opts)
	} else {
		body, hiddenCols = appendColumns(nil, rows[:shown], opts)
	}
	// The status lines go first but say how many columns the width left
	// out, so they are made after them.
	// With a CONTEXT column each status line starts with its context,
	// padded to the longest, so that a long detail never pushes the name
	// off a narrow terminal and the lines read as a column.
	ctxWidth := 0
	if opts.ShowContext {
		for _, h := range headers {
			ctxWidth = max(ctxWidth, utf8.RuneCountInString(h.Context))
		}
	}
	var out []byte
	for i, h := range headers {
		if out == nil {
			out = make([]byte, 0, len(body)+128*len(headers))
		}
		if i == 0 {
			h.Hidden = hiddenCols
		}
		out = appendStatusLine(out, h, opts, ctxWidth)
	}
	out = append(out, body...)
	if hidden > 0 {
		more := make([]byte, 0, 32)
		more = append(more, ellipsis+" "...)
		more = strconv.AppendInt(more, int64(hidden), 10)
		more = append(more, " more"...)
		out = appendClipped(out, more, opts)
	}
	return out
}

// fitHeight says how many rows fit under the fixed lines, keeping one line
// to count the rest when they do not all fit.
func fitHeight(n, height, fixed int) (shown, hidden int) {
	if height <= 0 || n+fixed <= height {
		return n, 0
	}
	shown = max(height-fixed-1, 0)
	return shown, n - shown
}

// appendStatusLine appends h's line; ctxWidth > 0 puts the context first,
// padded to that width.
func appendStatusLine(out []byte, h Header, opts TableOptions, ctxWidth int) []byte {
	const dot = "●"
	line := make([]byte, 0, 96)
	line = append(line, dot+" "...)
	if ctxWidth > 0 {
		line = append(line, h.Context...)
		for range ctxWidth - utf8.RuneCountInString(h.Context) + 2 {
			line = append(line, ' ')
		}
	}
	line = append(line, h.Mode...)
	if h.Detail != "" {
		line = append(line, " ("...)
		line = AppendEscaped(line, h.Detail)
		line = append(line, ')')
	}
	if h.Context != "" && ctxWidth == 0 {
		line = append(line, "  context "...)
		line = append(line, h.Context...)
	}
	line = append(line, "  "...)
	line = strconv.AppendInt(line, int64(h.Containers), 10)
	n := h.Containers
	if h.Total > h.Containers {
		line = append(line, " of "...)
		line = strconv.AppendInt(line, int64(h.Total), 10)
		n = h.Total
	}
	if n == 1 {
		line = append(line, " container"...)
	} else {
		line = append(line, " containers"...)
	}
	if len(h.Waiting) > 0 {
		line = append(line, "  waiting for "...)
		for i, w := range h.Waiting {
			if i > 0 {
				line = append(line, ", "...)
			}
			line = append(line, w...)
		}
	}
	if h.Hidden > 0 {
		line = append(line, "  "...)
		line = strconv.AppendInt(line, int64(h.Hidden), 10)
		if h.Hidden == 1 {
			line = append(line, " column hidden"...)
		} else {
			line = append(line, " columns hidden"...)
		}
	}
	if !h.Updated.IsZero() {
		line = append(line, "  updated "...)
		line = h.Updated.AppendFormat(line, time.TimeOnly)
	}
	if opts.Width > 0 && !opts.NoTrunc {
		line = clip(line, opts.Width)
	}
	if color := modeColor(h.Mode); opts.TTY && color != "" && bytes.HasPrefix(line, []byte(dot)) {
		out = append(out, color...)
		out = append(out, dot...)
		out = append(out, "\x1b[0m"...)
		line = line[len(dot):]
	}
	out = append(out, line...)
	return append(out, '\n')
}

func modeColor(mode string) string {
	switch mode {
	case ModeLive:
		return "\x1b[32m"
	case ModeReconnecting, ModePolling:
		return "\x1b[33m"
	case ModeEngineUnavailable, ModeStale:
		return "\x1b[31m"
	}
	return ""
}

// appendColumns lays the default columns out like docker's tabwriter (left
// aligned, three spaces apart) but measures every cell first so it can
// decide what fits before writing anything. Cells go into one buffer so a
// frame costs a few allocations, not one per cell.
func appendColumns(out []byte, rows []Row, opts TableOptions) ([]byte, int) {
	// The CONTEXT column is laid out before the others and never dropped:
	// without it the rows of two contexts cannot be told apart.
	ctxWidth := 0
	var ctxCells [][]byte
	if opts.ShowContext {
		ctxWidth = len(contextHeader)
		ctxCells = make([][]byte, len(rows))
		for i := range rows {
			ctxCells[i] = AppendEscaped(nil, rows[i].Context)
			ctxWidth = max(ctxWidth, utf8.RuneCount(ctxCells[i]))
		}
		if opts.Width > 0 {
			opts.Width = max(opts.Width-ctxWidth-colGap, 1)
		}
	}
	var widths [numCols]int
	for c, h := range tableHeaders {
		widths[c] = len(h)
	}
	cells := make([]byte, 0, len(rows)*112)
	ends := make([]int, 0, len(rows)*numCols)
	for i := range rows {
		for c := range numCols {
			start := len(cells)
			cells = appendCell(cells, &rows[i], c, opts.Now)
			ends = append(ends, len(cells))
			widths[c] = max(widths[c], utf8.RuneCount(cells[start:]))
		}
	}
	ncols, nameWidth := fitColumns(widths[:], opts.Width, opts.NoTrunc)
	widths[0] = nameWidth
	lineLen := 1
	for c := range ncols {
		lineLen += widths[c] + colGap
	}
	out = slices.Grow(out, lineLen*(len(rows)+1)+len(ellipsis))

	line := func(ctx []byte, cell func(c int) []byte) {
		if opts.ShowContext {
			out = append(out, ctx...)
			for range ctxWidth - utf8.RuneCount(ctx) + colGap {
				out = append(out, ' ')
			}
		}
		pad := 0
		for c := range ncols {
			for range pad {
				out = append(out, ' ')
			}
			text := cell(c)
			n := utf8.RuneCount(text)
			if c == 0 && n > nameWidth {
				out, n = appendShortened(out, text, nameWidth)
			} else {
				out = append(out, text...)
			}
			pad = widths[c] - n + colGap
		}
		out = append(out, '\n')
	}
	line([]byte(contextHeader), func(c int) []byte { return headerBytes[c] })
	for i := range rows {
		var ctx []byte
		if opts.ShowContext {
			ctx = ctxCells[i]
		}
		line(ctx, func(c int) []byte {
			k := i*numCols + c
			if k == 0 {
				return cells[:ends[0]]
			}
			return cells[ends[k-1]:ends[k]]
		})
	}
	return out, numCols - ncols
}

// fitColumns chooses how many columns to show and how wide the NAME column
// is. It keeps every column it can: a long name is shortened (to no less
// than minNameWidth) before a column is given up.
func fitColumns(widths []int, width int, noTrunc bool) (ncols, nameWidth int) {
	natural := widths[0]
	if width <= 0 {
		return len(widths), natural
	}
	rest := 0
	for c := 1; c < len(widths); c++ {
		rest += colGap + widths[c]
	}
	for n := len(widths); n >= 1; n-- {
		if n < len(widths) {
			rest -= colGap + widths[n]
		}
		avail := width - rest
		if natural <= avail {
			return n, natural
		}
		if !noTrunc && avail >= minNameWidth {
			return n, avail
		}
	}
	if noTrunc {
		return 1, natural
	}
	return 1, max(width, 1)
}

// appendShortened appends text cut to n runes, the last one an ellipsis.
func appendShortened(out, text []byte, n int) ([]byte, int) {
	if n <= 0 {
		return out, 0
	}
	if n == 1 {
		_, size := utf8.DecodeRune(text)
		return append(out, text[:size]...), 1
	}
	i := 0
	for range n - 1 {
		_, size := utf8.DecodeRune(text[i:])
		i += size
	}
	out = append(out, text[:i]...)
	return append(out, ellipsis...), n
}

// clip cuts a line to width runes without an ellipsis.
func clip(line []byte, width int) []byte {
	if utf8.RuneCount(line) <= width {
		return line
	}
	i := 0
	for range width {
		_, size := utf8.DecodeRune(line[i:])
		i += size
	}
	return line[:i]
}

// appendClipped appends text as a line (text without its newline), cut to
// the width unless NoTrunc.
func appendClipped(out, text []byte, opts TableOptions) []byte {
	if opts.Width > 0 && !opts.NoTrunc {
		text = clip(text, opts.Width)
	}
	out = append(out, text...)
	return append(out, '\n')
}

// clipLines applies appendClipped to every line of text.
func clipLines(out, text []byte, opts TableOptions) []byte {
	for len(text) > 0 {
		line, rest, _ := bytes.Cut(text, []byte{'\n'})
		out = appendClipped(out, line, opts)
		text = rest
	}
	return out
}

// newTabWriter has docker's table settings (formatter.Context).
func newTabWriter(buf *bytes.Buffer) *tabwriter.Writer {
	return tabwriter.NewWriter(buf, 10, 1, colGap, ' ', 0)
}
