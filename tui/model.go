// Package tui is the interactive terminal view of `docker live watch`: a
// bubbletea model that renders the containers' table, a detail view with
// graphs, and asks the Engine to pause, restart or stop a container.
//
// It knows the protocol types and output's units, never the Engine client
// or the streamer: plugin/ feeds it DataMsg and HistoryMsg from the watch
// state (live, reconnecting or polling alike) and gives it an Engine for
// the actions, so tests drive it with fakes and read its screens as text.
package tui

import (
	"context"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
)

// Engine is what the view asks of the Docker Engine. plugin/ implements it
// with the Engine API client; tests with a fake.
type Engine interface {
	Inspect(ctx context.Context, id string) (Identity, error)
	Pause(ctx context.Context, id string) error
	Unpause(ctx context.Context, id string) error
	Restart(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
}

// Identity is what the detail view shows about a container beyond the
// stream: an Engine inspect's answer.
type Identity struct {
	ID           string
	Name         string
	Image        string
	Command      string
	Created      time.Time
	Started      time.Time
	Finished     time.Time
	State        string
	RestartCount int
	ExitCode     int
	Health       string
	// HealthOutput is the last health probe's output, HealthExit its exit code.
	HealthOutput string
	HealthExit   int
	Project      string
	Service      string
	Labels       map[string]string
	Networks     []string
	Ports        []string // "0.0.0.0:8080->80/tcp", "53/udp"
}

// DataMsg is the state to show: every container the command's arguments
// and --filter let through (running-only is the view's own toggle), the
// newest stats, and the connection header in the words of the plain table.
type DataMsg struct {
	Containers []stream.Container
	Stats      map[string]stream.Stats
	Header     output.Header
}

// HistoryMsg carries the streamer's stats history, which seeds the graphs.
type HistoryMsg struct{ History *stream.History }

// Options configure a Model.
type Options struct {
	Engine Engine
	// Sort is the first sort column, one of SortKeys; empty means name.
	Sort string
	// All starts with every container shown, not only running ones.
	All bool
	// Color enables colours; false for NO_COLOR.
	Color bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// GraphSpan is how far back the graphs reach; zero means 5 minutes.
	GraphSpan time.Duration
	// ActionTimeout bounds one Engine action; zero means 30 s (a stop
	// waits for the container's grace period).
	ActionTimeout time.Duration
}

// SortKeys are the sort columns in the order `s` steps through them; the
// same names as watch's --sort.
var SortKeys = []string{"name", "cpu", "mem", "net", "io", "pids", "state"}

type screen int

const (
	screenTable screen = iota
	screenDetail
	screenHelp
)

// Model is the view's whole state. Update keeps the visible rows sorted
// and filtered, so View only lays out what fits the screen.
type Model struct {
	opts  Options
	now   func() time.Time
	width int

	height int

	containers map[string]stream.Container
	stats      map[string]stream.Stats
	header     output.Header
	haveData   bool
	hist       *histories

	sortIdx   int
	reverse   bool
	filter    string
	filtering bool // the filter line takes the keys
	all       bool
	group     bool

	lines    []*line // what the table shows, in order
	shown    int     // containers among lines
	layout   layout
	selID    string // the selected container: it follows the container as rows move
	selIdx   int    // index into lines of the selection
	offset   int    // first line shown
	screen   screen
	backTo   screen // where help returns to
	detailID string
	identity *Identity
	identErr string

	confirm   *action // asked on the status line, y/N
	status    string
	statusErr bool

	lastState map[string]string    // state+health as last seen, to notice changes
	changedAt map[string]time.Time // when each container's state last changed
	tickOn    bool
}

// New returns a model that shows nothing until its first DataMsg.
func New(opts Options) *Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.GraphSpan <= 0 {
		opts.GraphSpan = 5 * time.Minute
	}
	if opts.ActionTimeout <= 0 {
		opts.ActionTimeout = 30 * time.Second
	}
	m := &Model{
		opts:       opts,
		now:        opts.Now,
		width:      80,
		height:     24,
		containers: make(map[string]stream.Container),
		stats:      make(map[string]stream.Stats),
		hist:       newHistories(opts.GraphSpan),
		all:        opts.All,
		lastState:  make(map[string]string),
		changedAt:  make(map[string]time.Time),
	}
	for i, k := range SortKeys {
		if k == opts.Sort {
			m.sortIdx = i
		}
	}
	return m
}

// Init starts nothing: data arrives as messages from plugin/.
func (m *Model) Init() tea.Cmd { return nil }

// highlightFor is how long a changed state stays highlighted.
const highlightFor = time.Second

type tickMsg struct{}

// actionDoneMsg is an Engine action's result.
type actionDoneMsg struct {
	verb string // past tense, for the status line
	name string
	err  error
}

// identityMsg is an inspect's answer for the detail view.
type identityMsg struct {
	id  string
	idn Identity
	err error
}

// Update applies one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 1), max(msg.Height, 1)
		m.rebuild()
		return m, nil
	case DataMsg:
		return m, m.applyData(msg)
	case HistoryMsg:
		m.hist.addHistory(msg.History)
		return m, nil
	case tickMsg:
		m.tickOn = false
		return m, m.scheduleTick()
	case actionDoneMsg:
		if msg.err != nil {
			m.setStatus(oneLine(msg.err.Error()), true)
		} else {
			m.setStatus(msg.verb+" "+msg.name, false)
		}
		return m, nil
	case identityMsg:
		if msg.id == m.detailID {
			if msg.err != nil {
				m.identErr = oneLine(msg.err.Error())
			} else {
				idn := msg.idn
				m.identity, m.identErr = &idn, ""
			}
		}
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *Model) setStatus(s string, isErr bool) {
	m.status, m.statusErr = s, isErr
}

// applyData takes the new state, notes which containers changed state
// (for the highlight and a fresh inspect of the detail view), and rebuilds
// the rows.
func (m *Model) applyData(d DataMsg) tea.Cmd {
	now := m.now()
	var cmds []tea.Cmd
	seen := make(map[string]stream.Container, len(d.Containers))
	for _, c := range d.Containers {
		seen[c.ID] = c
		key := c.State + "/" + c.Health + "/" + c.StartedAt.String()
		if old, ok := m.lastState[c.ID]; ok && old != key {
			if m.haveData {
				m.changedAt[c.ID] = now
			}
			if c.ID == m.detailID && m.screen == screenDetail {
				cmds = append(cmds, m.inspect(c.ID))
			}
		}
		m.lastState[c.ID] = key
	}
	for id := range m.lastState {
		if _, ok := seen[id]; !ok {
			delete(m.lastState, id)
			delete(m.changedAt, id)
		}
	}
	m.containers = seen
	m.stats = d.Stats
	if m.stats == nil {
		m.stats = map[string]stream.Stats{}
	}
	for id, st := range m.stats {
		if _, ok := seen[id]; ok {
			st.ID = id
			m.hist.addStats(&st)
		}
	}
	m.hist.forget(func(id string) bool { _, ok := seen[id]; return ok })
	m.header = d.Header
	m.haveData = true
	m.rebuild()
	cmds = append(cmds, m.scheduleTick())
	return tea.Batch(cmds...)
}

// scheduleTick asks for a redraw when a highlight ends.
func (m *Model) scheduleTick() tea.Cmd {
	if m.tickOn {
		return nil
	}
	now := m.now()
	var next time.Duration
	for _, t := range m.changedAt {
		if left := highlightFor - now.Sub(t); left > 0 && (next == 0 || left < next) {
			next = left
		}
	}
	if next == 0 {
		return nil
	}
	m.tickOn = true
	return tea.Tick(next+10*time.Millisecond, func(time.Time) tea.Msg { return tickMsg{} })
}

func (m *Model) highlighted(id string, now time.Time) bool {
	t, ok := m.changedAt[id]
	return ok && now.Sub(t) < highlightFor
}

// selected returns the selected container's id, or "".
func (m *Model) selected() string {
	if m.selIdx >= 0 && m.selIdx < len(m.lines) && !m.lines[m.selIdx].group {
		return m.lines[m.selIdx].id
	}
	return ""
}

func (m *Model) name(id string) string {
	if c, ok := m.containers[id]; ok && c.Name != "" {
		return strings.TrimPrefix(c.Name, "/")
	}
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// inspect asks the Engine for the detail view's identity block.
func (m *Model) inspect(id string) tea.Cmd {
	eng, timeout := m.opts.Engine, m.opts.ActionTimeout
	if eng == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		idn, err := eng.Inspect(ctx, id)
		return identityMsg{id: id, idn: idn, err: err}
	}
}

// oneLine keeps an error on the status line: its first line.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
