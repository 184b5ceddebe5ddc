package tui

import (
	"context"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// keyMap is the key table of docs and README; the help screen lists it
// and the footer shows its short form.
type keyMap struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
	Sort, Reverse, Filter, All, Group     key.Binding
	Detail, Back                          key.Binding
	Pause, Restart, Stop                  key.Binding
	Help, Quit, Interrupt                 key.Binding
}

var keys = keyMap{
	Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "move up")),
	Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "move down")),
	PageUp:    key.NewBinding(key.WithKeys("pgup"), key.WithHelp("PgUp", "page up")),
	PageDown:  key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("PgDn", "page down")),
	Home:      key.NewBinding(key.WithKeys("home"), key.WithHelp("Home", "first row")),
	End:       key.NewBinding(key.WithKeys("end"), key.WithHelp("End", "last row")),
	Sort:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "next sort column")),
	Reverse:   key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse sort order")),
	Filter:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter on name, project or image (Enter keeps, Esc clears)")),
	All:       key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all containers / running only")),
	Group:     key.NewBinding(key.WithKeys("g"), key.WithHelp("g", "group by Compose project")),
	Detail:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("Enter", "detail view")),
	Back:      key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("Esc", "back to the table")),
	Pause:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause / unpause")),
	Restart:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restart")),
	Stop:      key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop")),
	Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "this help")),
	Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	Interrupt: key.NewBinding(key.WithKeys("ctrl+c")),
}

// helpOrder is the order the help screen lists the bindings in.
func (k keyMap) helpOrder() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End, k.Sort, k.Reverse, k.Filter,
		k.All, k.Group, k.Detail, k.Back, k.Pause, k.Restart, k.Stop, k.Help, k.Quit}
}

// action is an Engine action waiting for y on the status line.
type action struct {
	id, name string
	verb     string // "pause", "unpause", "restart", "stop"
	ing      string // "pausing", ...
	done     string // "paused", ...
}

// key handles one key press in whatever mode the view is in.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	if key.Matches(msg, keys.Interrupt) {
		// Ctrl-C is a key in raw mode; the program ends as on SIGINT.
		return tea.Interrupt
	}
	if m.confirm != nil {
		a := m.confirm
		m.confirm = nil
		if msg.String() == "y" || msg.String() == "Y" {
			m.setStatus(a.ing+" "+a.name+"…", false)
			return m.run(a)
		}
		m.setStatus(a.verb+" cancelled", false)
		return nil
	}
	if m.filtering {
		return m.filterKey(msg)
	}
	if m.screen == screenHelp {
		if key.Matches(msg, keys.Quit) {
			return tea.Quit
		}
		m.screen = m.backTo
		return nil
	}
	m.status, m.statusErr = "", false
	switch {
	case key.Matches(msg, keys.Quit):
		return tea.Quit
	case key.Matches(msg, keys.Help):
		m.backTo, m.screen = m.screen, screenHelp
		return nil
	case key.Matches(msg, keys.Pause):
		return m.ask("pause")
	case key.Matches(msg, keys.Restart):
		return m.ask("restart")
	case key.Matches(msg, keys.Stop):
		return m.ask("stop")
	}
	if m.screen == screenDetail {
		if key.Matches(msg, keys.Back) {
			m.screen = screenTable
			m.detailID, m.identity, m.identErr = "", nil, ""
		}
		return nil
	}
	switch {
	case key.Matches(msg, keys.Up):
		m.move(-1)
	case key.Matches(msg, keys.Down):
		m.move(1)
	case key.Matches(msg, keys.PageUp):
		m.move(-max(m.tableRows()-1, 1))
	case key.Matches(msg, keys.PageDown):
		m.move(max(m.tableRows()-1, 1))
	case key.Matches(msg, keys.Home):
		m.move(-len(m.lines))
	case key.Matches(msg, keys.End):
		m.move(len(m.lines))
	case key.Matches(msg, keys.Sort):
		m.sortIdx = (m.sortIdx + 1) % len(SortKeys)
		m.reverse = false
		m.rebuild()
	case key.Matches(msg, keys.Reverse):
		m.reverse = !m.reverse
		m.rebuild()
	case key.Matches(msg, keys.Filter):
		m.filtering = true
	case key.Matches(msg, keys.All):
		m.all = !m.all
		m.rebuild()
	case key.Matches(msg, keys.Group):
		m.group = !m.group
		m.rebuild()
	case key.Matches(msg, keys.Detail):
		id := m.selected()
		if id == "" {
			return nil
		}
		m.screen, m.detailID, m.identity, m.identErr = screenDetail, id, nil, ""
		return m.inspect(id)
	case key.Matches(msg, keys.Back):
		// Esc in the table clears a kept filter.
		if m.filter != "" {
			m.filter = ""
			m.rebuild()
		}
	}
	return nil
}

// filterKey edits the filter line: each key narrows the rows at once.
func (m *Model) filterKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "enter":
		m.filtering = false
	case "esc":
		m.filtering = false
		m.filter = ""
		m.rebuild()
	case "backspace":
		if m.filter != "" {
			_, size := utf8.DecodeLastRuneInString(m.filter)
			m.filter = m.filter[:len(m.filter)-size]
			m.rebuild()
		}
	case "up":
		m.move(-1)
	case "down":
		m.move(1)
	default:
		if t := msg.Key().Text; t != "" && len(m.filter) < 64 {
			m.filter += t
			m.rebuild()
		}
	}
	return nil
}

// ask puts an action on the status line, to be confirmed with y.
func (m *Model) ask(verb string) tea.Cmd {
	id := m.selected()
	if m.screen == screenDetail {
		id = m.detailID
	}
	if id == "" {
		return nil
	}
	c, ok := m.containers[id]
	if !ok {
		return nil
	}
	a := &action{id: id, name: m.name(id), verb: verb}
	switch verb {
	case "pause":
		a.ing, a.done = "pausing", "paused"
		if c.State == "paused" {
			a.verb, a.ing, a.done = "unpause", "unpausing", "unpaused"
		}
	case "restart":
		a.ing, a.done = "restarting", "restarted"
	case "stop":
		a.ing, a.done = "stopping", "stopped"
	}
	m.confirm = a
	return nil
}

// run performs a confirmed action; its result comes back as actionDoneMsg.
func (m *Model) run(a *action) tea.Cmd {
	eng, timeout := m.opts.Engine, m.opts.ActionTimeout
	if eng == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var err error
		switch a.verb {
		case "pause":
			err = eng.Pause(ctx, a.id)
		case "unpause":
			err = eng.Unpause(ctx, a.id)
		case "restart":
			err = eng.Restart(ctx, a.id)
		case "stop":
			err = eng.Stop(ctx, a.id)
		}
		return actionDoneMsg{verb: a.done, name: a.name, err: err}
	}
}

// move shifts the selection by delta containers, skipping group rows.
func (m *Model) move(delta int) {
	if len(m.lines) == 0 {
		return
	}
	i := min(max(m.selIdx+delta, 0), len(m.lines)-1)
	step := 1
	if delta < 0 {
		step = -1
	}
	for i >= 0 && i < len(m.lines) && m.lines[i].group {
		i += step
	}
	if i < 0 || i >= len(m.lines) {
		// Past a group row at an end: the nearest container the other way.
		i = min(max(i, 0), len(m.lines)-1)
		for i >= 0 && i < len(m.lines) && m.lines[i].group {
			i -= step
		}
		if i < 0 || i >= len(m.lines) {
			return
		}
	}
	m.selIdx = i
	m.selID = m.lines[i].id
	m.scroll()
}
