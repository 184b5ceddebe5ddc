package tui

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current rendering")

func TestMain(m *testing.M) {
	// Golden screens show times; keep them the same on every machine.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// clock is the tests' fixed, steppable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2026, 12, 2, 15, 4, 5, 0, time.UTC)

// fakeEngine records actions and answers inspects; a unit-test fake of
// the Engine, named as such.
type fakeEngine struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (f *fakeEngine) record(verb, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, verb+" "+id)
	return f.fail
}

func (f *fakeEngine) Inspect(_ context.Context, id string) (Identity, error) {
	if err := f.record("inspect", id); err != nil {
		return Identity{}, err
	}
	return Identity{ID: id, Name: "inspected", Health: "healthy", HealthOutput: "ok: 200 in 3ms\n", HealthExit: 0}, nil
}
func (f *fakeEngine) Pause(_ context.Context, id string) error   { return f.record("pause", id) }
func (f *fakeEngine) Unpause(_ context.Context, id string) error { return f.record("unpause", id) }
func (f *fakeEngine) Restart(_ context.Context, id string) error { return f.record("restart", id) }
func (f *fakeEngine) Stop(_ context.Context, id string) error    { return f.record("stop", id) }

func (f *fakeEngine) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// fixture is a small host: a Compose project of three, a paused and a
// restarting container, an exited one (shown with a), an unhealthy one.
// fixtureID is a container id that looks like one: a hash of its name.
func fixtureID(name string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(name))) }

func fixture() DataMsg {
	mk := func(n int, name, state, health string, cpu float64, mem uint64, project, service string) (stream.Container, *stream.Stats) {
		c := stream.Container{
			ID: fixtureID(name), Name: name, Image: "acme/" + strings.SplitN(name, "-", 2)[0] + ":1.4", Command: "/srv --port 80",
			Created: t0.Add(-2 * time.Hour), State: state, Health: health, StartedAt: t0.Add(-time.Duration(n) * 7 * time.Minute),
			Project: project, Service: service, Networks: []string{"shop_default"},
			Labels: map[string]string{"tier": "front"},
		}
		if project != "" {
			c.Labels["com.docker.compose.project"] = project
			c.Labels["com.docker.compose.service"] = service
		}
		if state == "exited" {
			c.ExitCode = 137
			c.FinishedAt = t0.Add(-time.Minute)
		}
		if state != "running" && state != "paused" {
			return c, nil
		}
		return c, &stream.Stats{ID: c.ID, Read: t0.Add(-500 * time.Millisecond), CPUPercent: cpu, MemUsage: mem, MemLimit: 8 << 30,
			MemPercent: float64(mem) / float64(8<<30) * 100, NetRxRate: cpu * 1000, NetTxRate: cpu * 300,
			BlockRead: uint64(n) << 20, BlockWrite: uint64(n) << 18, PIDs: uint64(n + 3)}
	}
	specs := []struct {
		name, state, health string
		cpu                 float64
		mem                 uint64
		project, service    string
	}{
		{"web-1", "running", "healthy", 12.5, 64 << 20, "shop", "web"},
		{"web-2", "running", "healthy", 48.25, 80 << 20, "shop", "web"},
		{"db-1", "running", "", 3.1, 900 << 20, "shop", "db"},
		{"burner", "running", "", 87.9, 2 << 20, "", ""},
		{"cache", "paused", "", 0, 30 << 20, "", ""},
		{"flaky", "restarting", "", 0, 0, "", ""},
		{"sick", "running", "unhealthy", 1.2, 12 << 20, "", ""},
		{"old-job", "exited", "", 0, 0, "", ""},
	}
	d := DataMsg{Stats: map[string]stream.Stats{}, Header: output.Header{Mode: output.ModeLive, Context: "default", Updated: t0.Add(-500 * time.Millisecond)}}
	for i, s := range specs {
		c, st := mk(i+1, s.name, s.state, s.health, s.cpu, s.mem, s.project, s.service)
		d.Containers = append(d.Containers, c)
		if st != nil {
			d.Stats[c.ID] = *st
		}
	}
	return d
}

// fixtureHistory is five minutes of web-1's past: a CPU ramp and a saw of memory.
func fixtureHistory() *stream.History {
	n := 300
	ch := stream.ContainerHistory{ID: fixtureID("web-1"), Start: t0.Add(-time.Duration(n) * time.Second)}
	for i := range n {
		ch.CPUPercent = append(ch.CPUPercent, float64(i%60))
		ch.MemUsage = append(ch.MemUsage, float64((40+i%30)<<20))
		ch.MemLimit = append(ch.MemLimit, 8<<30)
		ch.NetRxRate = append(ch.NetRxRate, float64(i*100))
		ch.NetTxRate = append(ch.NetTxRate, float64(i*10))
		ch.BlockReadRate = append(ch.BlockReadRate, 0)
		w := float64(1000 * (i % 7))
		if i > 100 && i < 120 {
			w = math.NaN() // a gap
		}
		ch.BlockWriteRate = append(ch.BlockWriteRate, w)
		ch.PIDs = append(ch.PIDs, 4)
	}
	return &stream.History{Step: "1s", Span: "5m0s", Containers: []stream.ContainerHistory{ch}}
}

func newTestModel(t *testing.T, w, h int, color bool) (*Model, *clock, *fakeEngine) {
	t.Helper()
	clk := &clock{t: t0}
	eng := &fakeEngine{}
	m := New(Options{Engine: eng, Sort: "name", Color: color, Now: clk.now})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(HistoryMsg{History: fixtureHistory()})
	m.Update(fixture())
	return m, clk, eng
}

// press sends keys: single characters, or names such as "enter", "up".
func press(m *Model, ks ...string) tea.Cmd {
	var last tea.Cmd
	for _, k := range ks {
		last = pressOne(m, k)
	}
	return last
}

func pressOne(m *Model, k string) tea.Cmd {
	var msg tea.KeyPressMsg
	switch k {
	case "enter":
		msg = tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		msg = tea.KeyPressMsg{Code: tea.KeyEscape}
	case "backspace":
		msg = tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "up":
		msg = tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		msg = tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgup":
		msg = tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		msg = tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "home":
		msg = tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		msg = tea.KeyPressMsg{Code: tea.KeyEnd}
	case "ctrl+c":
		msg = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	default:
		r := []rune(k)[0]
		code := r
		var mod tea.KeyMod
		if r >= 'A' && r <= 'Z' {
			code, mod = r+('a'-'A'), tea.ModShift
		}
		msg = tea.KeyPressMsg{Code: code, Text: k, Mod: mod}
	}
	_, cmd := m.Update(msg)
	return cmd
}

// runCmd executes a command and feeds its message back, as the program would.
func runCmd(t *testing.T, m *Model, cmd tea.Cmd) {
	t.Helper()
	if cmd == nil {
		t.Fatal("expected a command")
	}
	msg := cmd()
	if batch, ok := msg.(tea.BatchMsg); ok {
		for _, c := range batch {
			if c != nil {
				m.Update(c())
			}
		}
		return
	}
	m.Update(msg)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden screen (go test ./tui -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// checkFits asserts the screen is exactly h lines, none wider than w.
func checkFits(t *testing.T, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	if len(lines) != h {
		t.Errorf("screen has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d columns wide, more than %d: %q", i, n, w, l)
		}
	}
}

func TestGoldenScreens(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 50}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			m, _, _ := newTestModel(t, size.w, size.h, true)
			suffix := fmt.Sprintf("_%dx%d", size.w, size.h)
			check := func(name string) {
				t.Helper()
				s := m.Screen()
				checkFits(t, s, size.w, size.h)
				golden(t, name+suffix, s)
			}
			check("table")
			press(m, "g")
			check("group")
			press(m, "g", "a")
			check("all")
			press(m, "a", "?")
			check("help")
			press(m, "x")         // any key leaves help
			press(m, "end", "up") // web-1, which has history
			runCmd(t, m, press(m, "enter"))
			check("detail")
		})
	}
}

func TestTableShowsStateAndSortMark(t *testing.T) {
	m, _, _ := newTestModel(t, 160, 50, false)
	s := m.Screen()
	for _, want := range []string{"● live", "context default", "NAME▲", "running (healthy)", "paused", "restarting", "running (unhealthy)", "12.50%", "updated 15:04:04"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "old-job") {
		t.Error("an exited container shows without a")
	}
}

// rowNames returns the container names in screen order.
func rowNames(m *Model) []string {
	var out []string
	for _, l := range m.lines {
		if !l.group {
			out = append(out, l.row.Name)
		}
	}
	return out
}

func TestKeys(t *testing.T) {
	t.Run("move", func(t *testing.T) {
		m, _, _ := newTestModel(t, 80, 24, false)
		names := rowNames(m)
		if m.selected() != m.lines[0].id {
			t.Fatal("the first row is not selected at start")
		}
		press(m, "down", "j")
		if got := m.name(m.selected()); got != names[2] {
			t.Errorf("down, j: selected %s, want %s", got, names[2])
		}
		press(m, "up")
		if got := m.name(m.selected()); got != names[1] {
			t.Errorf("up: selected %s, want %s", got, names[1])
		}
		press(m, "k")
		if got := m.name(m.selected()); got != names[0] {
			t.Errorf("k: selected %s, want %s", got, names[0])
		}
		press(m, "end")
		if got := m.name(m.selected()); got != names[len(names)-1] {
			t.Errorf("End: selected %s, want %s", got, names[len(names)-1])
		}
		press(m, "home")
		if got := m.name(m.selected()); got != names[0] {
			t.Errorf("Home: selected %s, want %s", got, names[0])
		}
		press(m, "pgdown")
		if got := m.name(m.selected()); got != names[len(names)-1] {
			t.Errorf("PgDn (all rows fit): selected %s, want the last, %s", got, names[len(names)-1])
		}
		press(m, "pgup")
		if got := m.name(m.selected()); got != names[0] {
			t.Errorf("PgUp: selected %s, want %s", got, names[0])
		}
		if !strings.Contains(m.Screen(), "› "+names[0]) {
			t.Errorf("the selected row is not marked:\n%s", m.Screen())
		}
	})
	t.Run("selection follows the container", func(t *testing.T) {
		m, _, _ := newTestModel(t, 80, 24, false)
		press(m, "down")
		id := m.selected()
		press(m, "s") // cpu
		if m.selected() != id {
			t.Errorf("after a re-sort the selection moved from %s to %s", m.name(id), m.name(m.selected()))
		}
		d := fixture()
		for k, st := range d.Stats {
			st.CPUPercent = 100 - st.CPUPercent
			d.Stats[k] = st
		}
		m.Update(d)
		if m.selected() != id {
			t.Errorf("after new numbers re-sorted the rows the selection moved from %s to %s", m.name(id), m.name(m.selected()))
		}
	})
	t.Run("s and S", func(t *testing.T) {
		m, _, _ := newTestModel(t, 160, 50, false)
		press(m, "s")
		if m.sortKey() != "cpu" || rowNames(m)[0] != "burner" {
			t.Fatalf("s: sort %s, first %s; want cpu, burner", m.sortKey(), rowNames(m)[0])
		}
		if !strings.Contains(m.Screen(), "CPU %▼") {
			t.Errorf("the header does not mark CPU descending:\n%s", m.Screen())
		}
		press(m, "S")
		if names := rowNames(m); names[len(names)-1] != "burner" {
			t.Errorf("S: burner is not last: %v", names)
		}
		if !strings.Contains(m.Screen(), "CPU %▲") {
			t.Errorf("the header does not mark CPU ascending")
		}
		for range len(SortKeys) - 1 {
			press(m, "s")
		}
		if m.sortKey() != "name" {
			t.Errorf("s does not cycle back to name: %s", m.sortKey())
		}
	})
	t.Run("filter", func(t *testing.T) {
		m, _, _ := newTestModel(t, 80, 24, false)
		press(m, "/", "w", "e")
		if got := rowNames(m); len(got) != 2 || got[0] != "web-1" || got[1] != "web-2" {
			t.Fatalf("/we: rows %v, want web-1 and web-2", got)
		}
		if !strings.Contains(m.Screen(), "/we▏") {
			t.Errorf("the filter line is not shown:\n%s", m.Screen())
		}
		press(m, "backspace", "backspace", "s", "h", "o", "p") // project
		if got := rowNames(m); len(got) != 3 {
			t.Errorf("/shop (a Compose project): rows %v, want the three of shop", got)
		}
		press(m, "enter")
		if m.filtering || m.filter != "shop" {
			t.Errorf("Enter does not keep the filter: filtering=%v filter=%q", m.filtering, m.filter)
		}
		if !strings.Contains(m.Screen(), `filter "shop"`) {
			t.Errorf("the kept filter is not in the header")
		}
		press(m, "/", "x")
		press(m, "esc")
		if m.filter != "" || len(rowNames(m)) != 7 {
			t.Errorf("Esc does not clear the filter: %q, %d rows", m.filter, len(rowNames(m)))
		}
		press(m, "/", "a", "c", "m", "e", "/", "w", "enter")
		if got := rowNames(m); len(got) != 2 {
			t.Errorf("image filter acme/w: rows %v", got)
		}
		press(m, "/", "z", "enter")
		if got := rowNames(m); len(got) != 0 || !strings.Contains(m.Screen(), `no running container matches "acme/wz"; a shows all`) {
			t.Errorf("image filter: rows %v", got)
		}
	})
	t.Run("a", func(t *testing.T) {
		m, _, _ := newTestModel(t, 80, 24, false)
		press(m, "a")
		if len(rowNames(m)) != 8 {
			t.Errorf("a: %d rows, want all 8", len(rowNames(m)))
		}
		press(m, "a")
		if len(rowNames(m)) != 7 {
			t.Errorf("a again: %d rows, want the 7 running, paused or restarting", len(rowNames(m)))
		}
	})
	t.Run("g", func(t *testing.T) {
		m, _, _ := newTestModel(t, 160, 50, false)
		press(m, "g")
		s := m.Screen()
		for _, want := range []string{"▾ shop  3 containers  CPU 63.85%  MEM 1.02GiB  NET ↓63.9kB/s ↑19.2kB/s", "▾ (no project)  4 containers"} {
			if !strings.Contains(s, want) {
				t.Errorf("g: no group row %q:\n%s", want, s)
			}
		}
		press(m, "home")
		if m.selected() == "" || m.lines[m.selIdx].group {
			t.Error("a group row can be selected")
		}
		press(m, "g")
		if strings.Contains(m.Screen(), "▾ shop") {
			t.Error("g again does not ungroup")
		}
	})
	t.Run("enter, esc, backspace", func(t *testing.T) {
		m, _, eng := newTestModel(t, 80, 24, false)
		cmd := press(m, "end", "enter") // web-2 has a health check

		if m.screen != screenDetail || m.detailID != m.selected() {
			t.Fatal("Enter does not open the detail view of the selection")
		}
		runCmd(t, m, cmd)
		if calls := eng.Calls(); len(calls) != 1 || !strings.HasPrefix(calls[0], "inspect ") {
			t.Errorf("Enter: Engine calls %v, want one inspect", calls)
		}
		if !strings.Contains(m.Screen(), "last probe (exit 0): ok: 200 in 3ms") {
			t.Errorf("the inspect's health probe is not shown:\n%s", m.Screen())
		}
		press(m, "esc")
		if m.screen != screenTable {
			t.Error("Esc does not return to the table")
		}
		press(m, "enter", "backspace")
		if m.screen != screenTable {
			t.Error("Backspace does not return to the table")
		}
	})
	t.Run("p r x ask first", func(t *testing.T) {
		m, _, eng := newTestModel(t, 80, 24, false)
		press(m, "home") // burner
		id := m.selected()
		if cmd := press(m, "x"); cmd != nil {
			t.Error("x acted before y")
		}
		if !strings.Contains(m.Screen(), "Stop burner? y/N") {
			t.Fatalf("x does not ask:\n%s", m.Screen())
		}
		press(m, "n")
		if len(eng.Calls()) != 0 || !strings.Contains(m.Screen(), "stop cancelled") {
			t.Fatalf("n did not cancel: %v", eng.Calls())
		}
		press(m, "x")
		runCmd(t, m, press(m, "y"))
		if calls := eng.Calls(); len(calls) != 1 || calls[0] != "stop "+id {
			t.Fatalf("x y: calls %v", calls)
		}
		if !strings.Contains(m.Screen(), "stopped burner") {
			t.Errorf("no result shown:\n%s", m.Screen())
		}
		press(m, "r")
		runCmd(t, m, press(m, "y"))
		press(m, "p")
		if !strings.Contains(m.Screen(), "Pause burner? y/N") {
			t.Errorf("p does not ask to pause")
		}
		runCmd(t, m, press(m, "y"))
		if calls := eng.Calls(); len(calls) != 3 || calls[1] != "restart "+id || calls[2] != "pause "+id {
			t.Errorf("r y, p y: calls %v", calls)
		}
		// A paused container is unpaused by p.
		for i, n := range rowNames(m) {
			if n == "cache" {
				m.selIdx, m.selID = i, m.lines[i].id
			}
		}
		press(m, "p")
		if !strings.Contains(m.Screen(), "Unpause cache? y/N") {
			t.Errorf("p on a paused container does not ask to unpause:\n%s", m.Screen())
		}
		runCmd(t, m, press(m, "Y"))
		// The Engine's error is shown without leaving the view.
		eng.fail = errors.New("Error response from daemon: cannot stop container: permission denied\nmore")
		press(m, "x")
		runCmd(t, m, press(m, "y"))
		s := m.Screen()
		if !strings.Contains(s, "Error response from daemon: cannot stop container: permission denied") || strings.Contains(s, "more") {
			t.Errorf("the Engine's error is not on the status line as one line:\n%s", s)
		}
		if m.screen != screenTable {
			t.Error("an error left the table")
		}
	})
	t.Run("actions from the detail view", func(t *testing.T) {
		m, _, eng := newTestModel(t, 80, 24, false)
		runCmd(t, m, press(m, "enter"))
		id := m.detailID
		press(m, "r")
		runCmd(t, m, press(m, "y"))
		if calls := eng.Calls(); calls[len(calls)-1] != "restart "+id || m.screen != screenDetail {
			t.Errorf("r y in the detail view: calls %v, screen %v", calls, m.screen)
		}
	})
	t.Run("? and q and ctrl+c", func(t *testing.T) {
		m, _, _ := newTestModel(t, 80, 24, false)
		press(m, "?")
		if m.screen != screenHelp || !strings.Contains(m.Screen(), "group by Compose project") {
			t.Fatal("? does not show the key table")
		}
		press(m, "j")
		if m.screen != screenTable {
			t.Error("a key does not leave help")
		}
		if !isQuit(press(m, "q")) {
			t.Error("q does not quit")
		}
		if !isQuit(press(m, "ctrl+c")) {
			t.Error("Ctrl-C does not quit")
		}
		press(m, "/")
		if !isQuit(press(m, "ctrl+c")) {
			t.Error("Ctrl-C does not quit while filtering")
		}
	})
}

func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	switch cmd().(type) {
	case tea.QuitMsg, tea.InterruptMsg:
		return true
	}
	return false
}

func TestResizeReflows(t *testing.T) {
	m, _, _ := newTestModel(t, 160, 50, false)
	wide := m.Screen()
	if !strings.Contains(wide, "IMAGE") || !strings.Contains(wide, "UPTIME") {
		t.Fatalf("160 columns do not show IMAGE and UPTIME:\n%s", wide)
	}
	for _, size := range []struct{ w, h int }{{80, 24}, {60, 10}, {40, 8}, {20, 5}, {200, 60}} {
		m.Update(tea.WindowSizeMsg{Width: size.w, Height: size.h})
		s := m.Screen()
		checkFits(t, s, size.w, size.h)
		if size.w == 80 && (strings.Contains(s, "IMAGE") || !strings.Contains(s, "CPU %") || !strings.Contains(s, "MEM %")) {
			t.Errorf("80 columns: IMAGE should be dropped, CPU %% and MEM %% kept:\n%s", s)
		}
	}
	// Rows beyond the height scroll with the selection.
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 6})
	press(m, "end")
	if !strings.Contains(m.Screen(), "› "+rowNames(m)[len(rowNames(m))-1]) {
		t.Errorf("End at 6 lines: the last row is not on screen:\n%s", m.Screen())
	}
}

func TestNoColor(t *testing.T) {
	m, clk, _ := newTestModel(t, 160, 50, false)
	// A state change makes a highlight; it must not bring colour either.
	d := fixture()
	d.Containers[0].State = "paused"
	m.Update(d)
	check := func(what string) {
		t.Helper()
		for _, seq := range strings.Split(m.View().Content, "\x1b[")[1:] {
			params, _, _ := strings.Cut(seq, "m")
			for _, p := range strings.Split(params, ";") {
				if len(p) == 2 && (p[0] == '3' || p[0] == '4' || p[0] == '9') {
					t.Errorf("%s: a colour SGR %q with colour off", what, params)
				}
			}
		}
	}
	check("table")
	press(m, "g")
	check("groups")
	press(m, "g", "enter")
	check("detail")
	clk.t = clk.t.Add(2 * time.Second)

	colored, _, _ := newTestModel(t, 160, 50, true)
	if !strings.Contains(colored.View().Content, "\x1b[32m") {
		t.Error("with colour on, running is not green")
	}
}

func TestChangedStateHighlightedForASecond(t *testing.T) {
	m, clk, _ := newTestModel(t, 160, 50, true)
	d := fixture()
	for i := range d.Containers {
		if d.Containers[i].Name == "sick" {
			d.Containers[i].Health = "healthy"
		}
	}
	_, cmd := m.Update(d)
	if cmd == nil {
		t.Error("no tick scheduled to end the highlight")
	}
	row := func() string {
		for _, l := range strings.Split(m.View().Content, "\n") {
			if strings.Contains(ansi.Strip(l), "sick") {
				return l
			}
		}
		return ""
	}
	if !strings.Contains(row(), "\x1b[1;7;33m") {
		t.Errorf("a changed state is not highlighted: %q", row())
	}
	clk.t = clk.t.Add(900 * time.Millisecond)
	if !strings.Contains(row(), "\x1b[1;7;33m") {
		t.Error("the highlight ended before a second")
	}
	clk.t = clk.t.Add(200 * time.Millisecond)
	m.Update(tickMsg{})
	if strings.Contains(row(), "\x1b[1;7;33m") {
		t.Error("the highlight lasts beyond a second")
	}
}

func TestConnectionIndicator(t *testing.T) {
	m, _, _ := newTestModel(t, 120, 30, true)
	for _, h := range []struct {
		hdr  output.Header
		want string
		sgr  string
	}{
		{output.Header{Mode: output.ModeLive, Updated: t0}, "● live", "\x1b[1;32m● live"},
		{output.Header{Mode: output.ModeReconnecting, Detail: "attempt 3, next in 1.6s"}, "● reconnecting (attempt 3, next in 1.6s)", "\x1b[1;33m● reconnecting"},
		{output.Header{Mode: output.ModePolling, Detail: "streamer unavailable, Docker API every 1s"}, "● polling (streamer unavailable", "\x1b[1;33m● polling"},
		{output.Header{Mode: output.ModeEngineUnavailable, Detail: "connection refused"}, "● engine-unavailable (connection refused)", "\x1b[1;31m● engine-unavailable"},
	} {
		d := fixture()
		d.Header = h.hdr
		m.Update(d)
		c := m.View().Content
		if !strings.Contains(ansi.Strip(c), h.want) || !strings.Contains(c, h.sgr) {
			t.Errorf("header for %s: %q", h.hdr.Mode, strings.SplitN(c, "\n", 2)[0])
		}
	}
}

func TestDetailGraphsFromHistoryThenLive(t *testing.T) {
	m, clk, _ := newTestModel(t, 160, 50, false)
	for i, n := range rowNames(m) {
		if n == "web-1" {
			m.selIdx, m.selID = i, m.lines[i].id
		}
	}
	press(m, "enter")
	s := m.Screen()
	if !strings.Contains(s, "█") || !strings.Contains(s, "max 59.00%") {
		t.Fatalf("the CPU graph is not drawn from history at once:\n%s", s)
	}
	// A live sample beyond history's maximum extends the graph.
	clk.t = clk.t.Add(time.Second)
	d := fixture()
	st := d.Stats[m.detailID]
	st.Read, st.CPUPercent = clk.t, 75
	d.Stats[m.detailID] = st
	m.Update(d)
	if s := m.Screen(); !strings.Contains(s, "now 75.00%") || !strings.Contains(s, "max 75.00%") {
		t.Errorf("a live sample does not extend the graph:\n%s", s)
	}
	// While polling, samples keep coming the same way.
	clk.t = clk.t.Add(time.Second)
	d.Header = output.Header{Mode: output.ModePolling, Detail: "streamer unavailable"}
	st.Read, st.CPUPercent = clk.t, 80
	d.Stats[m.detailID] = st
	m.Update(d)
	if s := m.Screen(); !strings.Contains(s, "now 80.00%") || !strings.Contains(s, "● polling") {
		t.Errorf("polled samples do not extend the graph:\n%s", s)
	}
	// A state change refreshes the inspect.
	d.Containers[0].State = "paused"
	if _, cmd := m.Update(d); cmd == nil {
		t.Error("a state change of the shown container does not inspect it again")
	}
}

func TestSeriesBlockRates(t *testing.T) {
	h := newHistories(5 * time.Minute)
	h.addStats(&stream.Stats{ID: "a", Read: t0, BlockRead: 1000, BlockWrite: 0})
	h.addStats(&stream.Stats{ID: "a", Read: t0.Add(2 * time.Second), BlockRead: 5000, BlockWrite: 2000})
	h.addStats(&stream.Stats{ID: "a", Read: t0.Add(2 * time.Second), BlockRead: 9000}) // a repeat: ignored
	s := h.byID["a"]
	if len(s.points) != 2 {
		t.Fatalf("%d points, want 2", len(s.points))
	}
	if got := s.points[1].v[metricBlockRead]; got != 2000 {
		t.Errorf("block read rate %v, want 2000", got)
	}
	if got := s.points[1].v[metricBlockWrite]; got != 1000 {
		t.Errorf("block write rate %v, want 1000", got)
	}
	// Older than the span: trimmed.
	h.addStats(&stream.Stats{ID: "a", Read: t0.Add(6 * time.Minute)})
	if len(s.points) != 1 {
		t.Errorf("old samples kept: %d", len(s.points))
	}
}

func TestDrawGraph(t *testing.T) {
	rows := drawGraph([]float64{0, 50, 100, math.NaN()}, 2, 100)
	if rows[0] != "  █ " || rows[1] != "▁██ " {
		t.Errorf("graph rows %q", rows)
	}
}

// TestREADMEShowsTheGoldenScreens keeps the README's "Terminal view"
// screens true: they are the 80x24 golden screens, blank lines left out.
func TestREADMEShowsTheGoldenScreens(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"table_80x24", "detail_80x24"} {
		g, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(string(g), "\n") {
			if strings.TrimSpace(l) != "" {
				lines = append(lines, strings.TrimRight(l, " "))
			}
		}
		if !strings.Contains(string(readme), "```text\n"+strings.Join(lines, "\n")+"\n```") {
			t.Errorf("README.md does not show testdata/%s.golden (blank lines left out): copy it there", name)
		}
	}
}
