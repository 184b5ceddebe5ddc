package tui

import (
	"strings"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/docker-live/docker-live/output"
)

// style is an SGR sequence: colour parts are left out without colour
// (NO_COLOR), attributes (bold, reverse, underline) stay.
type style struct {
	attr  string // "1", "7", "1;4"
	color string // "32", "31"
}

var (
	styleNone      = style{}
	styleBold      = style{attr: "1"}
	styleSelected  = style{attr: "7"}
	styleChanged   = style{attr: "1;7", color: "33"}
	styleChangedOn = style{attr: "1;4"} // a changed row that is also selected (already reversed)
	styleGroup     = style{attr: "1", color: "36"}
	styleFaint     = style{attr: "2"}
	styleError     = style{attr: "1", color: "31"}
	styleGreen     = style{color: "32"}
	styleYellow    = style{color: "33"}
	styleRed       = style{color: "31"}
	styleMagenta   = style{color: "35"}
	styleCyan      = style{color: "36"}
)

// paint appends text in style s.
func (m *Model) paint(b *strings.Builder, s style, text string) {
	sgr := s.attr
	if m.opts.Color && s.color != "" {
		if sgr != "" {
			sgr += ";"
		}
		sgr += s.color
	}
	if sgr == "" {
		b.WriteString(text)
		return
	}
	b.WriteString("\x1b[")
	b.WriteString(sgr)
	b.WriteByte('m')
	b.WriteString(text)
	b.WriteString("\x1b[0m")
}

// stateStyle colours a state: running green, paused yellow, restarting
// magenta, a failed exit or an unhealthy container red, created cyan.
func stateStyle(l *line) style {
	switch {
	case l.row.Health == "unhealthy":
		return styleRed
	case l.state == "running":
		if l.row.Health == "starting" {
			return styleYellow
		}
		return styleGreen
	case l.state == "paused":
		return styleYellow
	case l.state == "restarting":
		return styleMagenta
	case l.state == "exited" && l.row.ExitCode != 0, l.state == "dead":
		return styleRed
	case l.state == "created":
		return styleCyan
	}
	return styleFaint
}

// loadStyle colours a CPU or memory percentage: from 50% yellow, from 80% red.
func loadStyle(pct float64, has bool) style {
	switch {
	case !has:
		return styleNone
	case pct >= 80:
		return styleRed
	case pct >= 50:
		return styleYellow
	}
	return styleGreen
}

func modeStyle(mode string) style {
	switch mode {
	case output.ModeLive:
		return style{attr: "1", color: "32"}
	case output.ModeReconnecting, output.ModePolling:
		return style{attr: "1", color: "33"}
	case output.ModeEngineUnavailable, output.ModeStale:
		return style{attr: "1", color: "31"}
	}
	return styleBold
}

// View draws the screen. It only lays out rows already sorted and
// filtered by Update, and only those that fit.
func (m *Model) View() tea.View {
	var content string
	switch m.screen {
	case screenDetail:
		content = m.viewDetail()
	case screenHelp:
		content = m.viewHelp()
	default:
		content = m.viewTable()
	}
	v := tea.NewView(content)
	v.AltScreen = true
	v.WindowTitle = "docker live watch"
	return v
}

// Screen returns the current screen as plain text, without escapes: what
// the golden tests and the README show.
func (m *Model) Screen() string { return ansi.Strip(m.View().Content) }

// headerLine is the connection indicator, in the plain table's words, and
// the time of the last update.
func (m *Model) headerLine(b *strings.Builder) {
	h := m.header
	mode := h.Mode
	if mode == "" {
		mode = output.ModeReconnecting
		if h.Detail == "" {
			h.Detail = "connecting"
		}
	}
	var rest strings.Builder
	if h.Detail != "" {
		rest.WriteString(" (")
		rest.WriteString(output.Escape(h.Detail))
		rest.WriteString(")")
	}
	if h.Context != "" {
		rest.WriteString("  context ")
		rest.WriteString(output.Escape(h.Context))
	}
	if m.screen == screenTable || m.screen == screenHelp {
		rest.WriteString("  ")
		rest.WriteString(itoa(m.shown))
		if len(m.containers) != m.shown {
			rest.WriteString(" of ")
			rest.WriteString(itoa(len(m.containers)))
		}
		if len(m.containers) == 1 {
			rest.WriteString(" container")
		} else {
			rest.WriteString(" containers")
		}
		if !m.all {
			rest.WriteString(" (running)")
		}
		if m.group {
			rest.WriteString("  by project")
		}
		if m.filter != "" && !m.filtering {
			rest.WriteString("  filter \"")
			rest.WriteString(output.Escape(m.filter))
			rest.WriteString("\"")
		}
	}
	if !h.Updated.IsZero() {
		rest.WriteString("  updated ")
		rest.WriteString(h.Updated.Local().Format(time.TimeOnly))
	}
	// The dot and the mode word carry the colour; the rest is clipped.
	head := "● " + mode
	m.paint(b, modeStyle(mode), head)
	b.WriteString(clip(rest.String(), m.width-utf8.RuneCountInString(head)))
	b.WriteByte('\n')
}

func (m *Model) viewTable() string {
	var b strings.Builder
	b.Grow(m.width * m.height * 2)
	m.headerLine(&b)
	now := m.now()
	lay := &m.layout

	// Column titles.
	var t strings.Builder
	t.WriteString(strings.Repeat(" ", markerWidth))
	for i, c := range lay.cols {
		if i > 0 {
			t.WriteString("  ")
		}
		t.WriteString(pad(m.title(c), lay.widths[c], colRight[c]))
	}
	m.paint(&b, styleBold, clip(strings.TrimRight(t.String(), " "), m.width))
	b.WriteByte('\n')

	n := m.tableRows()
	drawn := 0
	if !m.haveData {
		b.WriteString("  waiting for the first state…\n")
		drawn++
	} else if len(m.lines) == 0 {
		switch {
		case m.filter != "" && !m.all:
			b.WriteString(clip("  no running container matches \""+output.Escape(m.filter)+"\"; a shows all", m.width))
		case m.filter != "":
			b.WriteString(clip("  no container matches \""+output.Escape(m.filter)+"\"", m.width))
		case !m.all && len(m.containers) > 0:
			b.WriteString(clip("  no running container; a shows all", m.width))
		default:
			b.WriteString("  no containers")
		}
		b.WriteByte('\n')
		drawn++
	}
	for i := m.offset; i < len(m.lines) && drawn < n; i++ {
		m.drawRow(&b, m.lines[i], i == m.selIdx, now)
		b.WriteByte('\n')
		drawn++
	}
	for ; drawn < n; drawn++ {
		b.WriteByte('\n')
	}
	m.statusLine(&b)
	m.footer(&b, "↑↓ move  s/S sort  / filter  a all  g group  ⏎ detail  p pause  r restart  x stop  ? help  q quit",
		"↑↓ move  s/S sort  / filter  a all  g group  ⏎ detail  p/r/x act  ? help  q quit",
		"↑↓ s/S / a g ⏎ p r x  ? help  q quit")
	return b.String()
}

// drawRow appends one table row, coloured cell by cell.
func (m *Model) drawRow(b *strings.Builder, l *line, selected bool, now time.Time) {
	if l.group {
		st := styleGroup
		if selected {
			st = styleSelected
		}
		m.paint(b, st, clip(l.text, m.width))
		return
	}
	lay := &m.layout
	fillNumbers(l)
	changed := m.highlighted(l.id, now)
	if selected {
		// One reversed line, no inner colours, so the bar is unbroken.
		var t strings.Builder
		t.WriteString("› ")
		for i, c := range lay.cols {
			if i > 0 {
				t.WriteString("  ")
			}
			t.WriteString(pad(cellText(l, c, lay.widths[c]), lay.widths[c], colRight[c]))
		}
		text := clip(strings.TrimRight(t.String(), " "), m.width)
		if changed {
			m.paint(b, style{attr: "1;4;7"}, text)
		} else {
			m.paint(b, styleSelected, text)
		}
		return
	}
	used := markerWidth
	b.WriteString("  ")
	for i, c := range lay.cols {
		w := lay.widths[c]
		if i > 0 {
			if used+columnGap >= m.width {
				break
			}
			b.WriteString("  ")
			used += columnGap
		}
		w = min(w, m.width-used)
		if w <= 0 {
			break
		}
		text := cellText(l, c, w)
		if i < len(lay.cols)-1 || colRight[c] {
			text = pad(text, w, colRight[c])
		}
		used += w
		var st style
		switch c {
		case colState:
			st = stateStyle(l)
			if changed {
				st = styleChanged
			}
		case colCPU, colCPUBar:
			st = loadStyle(l.row.CPUPercent, l.row.HasStats)
		case colMem, colMemBar:
			st = loadStyle(l.row.MemPercent, l.row.HasStats)
		case colProject, colImage:
			st = styleFaint
		}
		m.paint(b, st, text)
	}
}

// cellText is a cell cut to w columns with an ellipsis.
func cellText(l *line, c, w int) string {
	s := l.cells[c]
	if utf8.RuneCountInString(s) <= w {
		return s
	}
	if w <= 1 {
		return clip(s, w)
	}
	return clip(s, w-1) + "…"
}

// pad fills s to w columns, on the left for numbers.
func pad(s string, w int, right bool) string {
	n := utf8.RuneCountInString(s)
	if n >= w {
		return s
	}
	if right {
		return strings.Repeat(" ", w-n) + s
	}
	return s + strings.Repeat(" ", w-n)
}

// clip cuts s to w runes.
func clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= w {
		return s
	}
	i := 0
	for range w {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// statusLine shows the filter being typed, a question, or the result of
// the last action.
func (m *Model) statusLine(b *strings.Builder) {
	switch {
	case m.filtering:
		m.paint(b, styleBold, clip("/"+output.Escape(m.filter)+"▏", m.width))
		b.WriteString(clip("  Enter keeps, Esc clears", m.width-utf8.RuneCountInString(m.filter)-2))
	case m.confirm != nil:
		q := strings.ToUpper(m.confirm.verb[:1]) + m.confirm.verb[1:] + " " + output.Escape(m.confirm.name) + "? y/N"
		m.paint(b, style{attr: "1", color: "33"}, clip(q, m.width))
	case m.status != "" && m.statusErr:
		m.paint(b, styleError, clip(output.Escape(m.status), m.width))
	case m.status != "":
		b.WriteString(clip(output.Escape(m.status), m.width))
	}
	b.WriteByte('\n')
}

// footer shows the keys, in the longest of its forms that fits (no
// newline: the last line must not scroll).
func (m *Model) footer(b *strings.Builder, forms ...string) {
	text := forms[len(forms)-1]
	for _, f := range forms {
		if utf8.RuneCountInString(f) <= m.width {
			text = f
			break
		}
	}
	m.paint(b, styleFaint, clip(text, m.width))
}

func (m *Model) viewHelp() string {
	var b strings.Builder
	m.headerLine(&b)
	var t strings.Builder
	t.WriteString("Keys\n")
	for _, k := range keys.helpOrder() {
		h := k.Help()
		t.WriteString(pad(h.Key, 7, false) + " " + h.Desc + "\n")
	}
	t.WriteString("p, r and x ask y/N first; Ctrl-C quits too.")
	box := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1).Render(t.String())
	lines := 1
	for _, l := range strings.Split(box, "\n") {
		if lines >= m.height-1 {
			break
		}
		b.WriteString(ansi.Truncate(l, m.width, ""))
		b.WriteByte('\n')
		lines++
	}
	for ; lines < m.height-1; lines++ {
		b.WriteByte('\n')
	}
	m.footer(&b, "any key returns  q quit")
	return b.String()
}
