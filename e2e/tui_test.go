package e2e

// Issue "interactive watch": `docker live watch` on a real terminal (tmux),
// driven with send-keys and read with capture-pane, against the real Engine.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tuiTerm is one tmux server of the test's own (its own socket, so no
// other tmux user is touched) running a shell in a fixed-size window.
type tuiTerm struct {
	t      testing.TB
	socket string
	env    []string
}

const (
	tuiWidth  = 120
	tuiHeight = 40
)

// requireTmux skips without tmux, unless CI is set: then it fails.
func requireTmux(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and tmux is missing: %v", err)
		}
		t.Skipf("tmux is not installed: %v (set CI=1 to make this a failure)", err)
	}
}

// newTUITerm starts a tmux server with one session running bash under env.
func newTUITerm(t testing.TB, env []string) *tuiTerm {
	t.Helper()
	requireTmux(t)
	dir, err := os.MkdirTemp(tmpRoot, "tmux")
	if err != nil {
		t.Fatal(err)
	}
	term := &tuiTerm{t: t, socket: filepath.Join(dir, "s"), env: env}
	// The shell prints a marker prompt, so that the test can tell when it
	// has the terminal back.
	term.tmux("new-session", "-d", "-s", "w", "-x", strconv.Itoa(tuiWidth), "-y", strconv.Itoa(tuiHeight),
		"env", "PS1=tui-shell$ ", "bash", "--norc", "--noprofile")
	t.Cleanup(func() {
		_ = exec.Command("tmux", "-S", term.socket, "kill-server").Run()
		_ = os.RemoveAll(dir)
	})
	waitFor(t, 10*time.Second, "the shell prompt in tmux", func() bool {
		return strings.Contains(term.screen(), "tui-shell$")
	})
	return term
}

func (term *tuiTerm) tmux(args ...string) string {
	term.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tmux", append([]string{"-S", term.socket}, args...)...)
	cmd.Env = append(dockerEnv(term.env), "TERM=xterm-256color")
	out, err := cmd.CombinedOutput()
	if err != nil {
		term.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is the visible text of the window.
func (term *tuiTerm) screen() string { return term.tmux("capture-pane", "-p", "-t", "w") }

// keys sends tmux key names ("s", "Enter", "Escape") or literal text (-l).
func (term *tuiTerm) keys(keys ...string) {
	term.tmux(append([]string{"send-keys", "-t", "w"}, keys...)...)
}
func (term *tuiTerm) text(s string) { term.tmux("send-keys", "-t", "w", "-l", s) }

// format reads a tmux format of the pane, e.g. #{alternate_on}.
func (term *tuiTerm) format(f string) string {
	return strings.TrimSpace(term.tmux("display-message", "-p", "-t", "w", f))
}

// waitScreen polls the screen until cond holds, failing with the last
// screen after timeout.
func (term *tuiTerm) waitScreen(timeout time.Duration, desc string, cond func(screen string) bool) string {
	term.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := term.screen()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("not within %v: %s; the screen:\n%s", timeout, desc, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tuiRows returns the table rows (the lines after the column titles that
// name a container of this run) in screen order.
func tuiRows(screen string) []string {
	var rows []string
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "dle2e-") && (strings.HasPrefix(l, "  ") || strings.HasPrefix(l, "› ")) {
			rows = append(rows, l)
		}
	}
	return rows
}

// tuiHasName reports whether a row shows name, whole or shortened with an
// ellipsis to the width the view gave it (at least 12 columns).
func tuiHasName(row, name string) bool {
	if strings.Contains(row, name) {
		return true
	}
	for k := len(name) - 1; k >= 11; k-- {
		if strings.Contains(row, name[:k]+"…") {
			return true
		}
	}
	return false
}

// tuiGraphRE is a run of graph columns: five or more, several seconds of
// history each.
var tuiGraphRE = regexp.MustCompile(`[▁▂▃▄▅▆▇█]{5,}`)

// tuiPlugin returns the pid of the docker-live plugin process under the
// pane's shell (bash -> docker -> docker-live), or 0.
func (term *tuiTerm) pluginPID() int {
	shell, _ := strconv.Atoi(term.format("#{pane_pid}"))
	for _, docker := range childPIDs(shell) {
		for _, p := range childPIDs(docker) {
			if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p)); strings.TrimSpace(string(cmd)) == "docker-live" {
				return p
			}
		}
	}
	return 0
}

// childPIDs lists the processes whose parent is pid. /proc/PID/task/*/children
// would do per thread; the docker CLI forks from any of its threads.
func childPIDs(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state, ppid, ...
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// waitShellBack waits for the shell to have the terminal again, with the
// alternate screen left and the cursor visible.
func (term *tuiTerm) waitShellBack(timeout time.Duration, why string) {
	term.t.Helper()
	eventually(term.t, timeout, func() error {
		cmd, alt, cursor := term.format("#{pane_current_command}"), term.format("#{alternate_on}"), term.format("#{cursor_flag}")
		if cmd != "bash" || alt != "0" || cursor != "1" {
			return fmt.Errorf("%s: pane command %q, alternate_on %s, cursor_flag %s; screen:\n%s", why, cmd, alt, cursor, term.screen())
		}
		return nil
	})
}

func TestTUI(t *testing.T) {
	requireTmux(t)
	t.Parallel()
	env, dir := fltConfig(t, "")
	label := testLabel(t)
	project := "proj" + runID
	burner := runHelper(t, HelperOpts{Name: uniqueName("burner"), Args: []string{"cpu", "--share", "1"}, RunArgs: []string{"--cpus", "0.5"}})
	web := runHelper(t, HelperOpts{Name: uniqueName("web"), Labels: map[string]string{
		"com.docker.compose.project": project, "com.docker.compose.service": "web"}})
	victim := runHelper(t, HelperOpts{Name: uniqueName("victim")})

	term := newTUITerm(t, env)
	watchCmd := "docker live watch --filter 'label=" + label + "'"
	term.text(watchCmd)
	term.keys("Enter")
	term.waitScreen(60*time.Second, "the three containers, live", func(s string) bool {
		return strings.Contains(s, "● live") && len(tuiRows(s)) == 3
	})
	if alt := term.format("#{alternate_on}"); alt != "1" {
		t.Fatalf("the view is not on the alternate screen: alternate_on=%s", alt)
	}

	t.Run("s sorts by CPU, the burner first", func(t *testing.T) {
		for range 7 {
			if strings.Contains(term.screen(), "CPU %▼") {
				break
			}
			before := term.screen()
			term.keys("s")
			term.waitScreen(5*time.Second, "the sort mark to move after s", func(s string) bool {
				return headerLine(s) != headerLine(before)
			})
		}
		term.waitScreen(30*time.Second, "the --cpus 0.5 burner on the first row, sorted by CPU %", func(s string) bool {
			rows := tuiRows(s)
			return strings.Contains(s, "CPU %▼") && len(rows) == 3 && tuiHasName(rows[0], burner.Name)
		})
	})

	t.Run("/ filters on part of a name", func(t *testing.T) {
		part := web.Name[len(web.Name)-8:] // "web-<n>" and a bit of the run id
		term.keys("/")
		term.text(part)
		s := term.waitScreen(10*time.Second, "only the matching row", func(s string) bool {
			rows := tuiRows(s)
			return len(rows) == 1 && tuiHasName(rows[0], web.Name)
		})
		if !strings.Contains(s, "/"+part) {
			t.Errorf("the filter line does not show what was typed:\n%s", s)
		}
		term.keys("Escape")
		term.waitScreen(10*time.Second, "all three rows after Esc", func(s string) bool { return len(tuiRows(s)) == 3 })
	})

	t.Run("Enter shows the detail view with graphs within 2 s", func(t *testing.T) {
		// Some history to draw: the streamer keeps a sample a second
		// from the container's start; 20 s make several columns of the graph.
		started := inspectState(t, burner.ID).StartedAt
		if wait := 20*time.Second - time.Since(started); wait > 0 {
			time.Sleep(wait) // the history's length is the point here, not a condition to poll
		}
		term.keys("Home")
		term.waitScreen(5*time.Second, "the burner selected", func(s string) bool {
			rows := tuiRows(s)
			return len(rows) > 0 && strings.Contains(rows[0], "› ") && tuiHasName(rows[0], burner.Name)
		})
		start := time.Now()
		term.keys("Enter")
		s := term.waitScreen(10*time.Second, "the detail view with graph characters", func(s string) bool {
			return strings.Contains(s, "Command") && strings.Contains(s, "CPU %") && tuiGraphRE.MatchString(s)
		})
		took := time.Since(start)
		t.Logf("graphs drawn %v after Enter", took.Round(time.Millisecond))
		if took > 2*time.Second {
			t.Errorf("graphs took %v after Enter, more than 2 s:\n%s", took, s)
		}
		for _, want := range []string{burner.Name, burner.ID[:12], "/helper cpu --share 1", "min ", "max "} {
			if !strings.Contains(s, want) {
				t.Errorf("the detail view lacks %q:\n%s", want, s)
			}
		}
		term.keys("Escape")
		term.waitScreen(5*time.Second, "the table after Esc", func(s string) bool { return len(tuiRows(s)) == 3 })
	})

	t.Run("g shows a group row for the Compose project", func(t *testing.T) {
		term.keys("g")
		s := term.waitScreen(10*time.Second, "a group row for "+project, func(s string) bool {
			return strings.Contains(s, "▾ "+project+"  1 container  CPU ")
		})
		if !strings.Contains(s, "▾ (no project)  2 containers") {
			t.Errorf("no group row for the containers without a project:\n%s", s)
		}
		term.keys("g")
		term.waitScreen(5*time.Second, "no group rows after g again", func(s string) bool { return !strings.Contains(s, "▾ ") })
	})

	t.Run("x then y stops a container", func(t *testing.T) {
		term.keys("/")
		term.text(victim.Name)
		term.keys("Enter")
		term.waitScreen(10*time.Second, "only the victim", func(s string) bool {
			rows := tuiRows(s)
			return len(rows) == 1 && strings.Contains(rows[0], "› ") && tuiHasName(rows[0], victim.Name)
		})
		term.keys("x")
		term.waitScreen(5*time.Second, "the question", func(s string) bool { return strings.Contains(s, "Stop "+victim.Name+"? y/N") })
		if st := inspectState(t, victim.ID); !st.Running {
			t.Fatal("x stopped the container before y")
		}
		term.keys("y")
		term.waitScreen(60*time.Second, "the result on the status line", func(s string) bool { return strings.Contains(s, "stopped "+victim.Name) })
		if out := dockerCmd(t, "ps", "-q", "--no-trunc", "--filter", "id="+victim.ID); out != "" {
			t.Errorf("docker ps still lists the stopped container: %s", out)
		}
		term.keys("Escape")
		term.waitScreen(10*time.Second, "the two running containers", func(s string) bool { return len(tuiRows(s)) == 2 })
	})

	t.Run("a lost streamer: reconnecting or polling, then live, keys working", func(t *testing.T) {
		matches, _ := filepath.Glob(filepath.Join(dir, "live", "*", "info.json"))
		if len(matches) != 1 {
			t.Fatalf("want one streamer's info.json under %s, found %v", dir, matches)
		}
		info, err := fltReadInfo(filepath.Dir(matches[0]))
		if err != nil || info.PID <= 0 {
			t.Fatalf("info.json: %v %+v", err, info)
		}
		if err := syscall.Kill(info.PID, syscall.SIGKILL); err != nil {
			t.Fatalf("kill the streamer: %v", err)
		}
		// The outage shows as reconnecting or polling while it lasts, and
		// as "resumed ... after" once live again: a restart that fast can
		// fall between two captures, never out of the header.
		outage := regexp.MustCompile(`● (reconnecting|polling)|● live \(resumed \S+ after \S+ (reconnecting|polling)\)`)
		term.waitScreen(30*time.Second, "the outage in the header", func(s string) bool { return outage.MatchString(s) })
		term.waitScreen(30*time.Second, "live again", func(s string) bool { return strings.HasPrefix(s, "● live") })
		before := headerLine(term.screen())
		term.keys("s")
		term.waitScreen(5*time.Second, "s to move the sort mark after the reconnect", func(s string) bool {
			return headerLine(s) != before && len(tuiRows(s)) == 2
		})
	})

	t.Run("q returns the shell", func(t *testing.T) {
		term.keys("q")
		term.waitShellBack(10*time.Second, "after q")
		if s := term.screen(); !strings.Contains(s, watchCmd) {
			t.Errorf("the shell's screen was not restored (no command line):\n%s", s)
		}
	})

	// The other ways out restore the terminal the same way.
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run("restored on "+sig.String(), func(t *testing.T) {
			term.text(watchCmd)
			term.keys("Enter")
			term.waitScreen(30*time.Second, "the view again", func(s string) bool { return len(tuiRows(s)) == 2 })
			pid := term.pluginPID()
			if pid == 0 {
				t.Fatal("no docker-live process under the shell")
			}
			if err := syscall.Kill(pid, sig); err != nil {
				t.Fatal(err)
			}
			term.waitShellBack(10*time.Second, "after "+sig.String())
		})
	}
	t.Run("restored on Ctrl-C", func(t *testing.T) {
		term.text(watchCmd)
		term.keys("Enter")
		term.waitScreen(30*time.Second, "the view again", func(s string) bool { return len(tuiRows(s)) == 2 })
		term.keys("C-c")
		term.waitShellBack(10*time.Second, "after Ctrl-C")
		term.text("echo status=$?")
		term.keys("Enter")
		term.waitScreen(5*time.Second, "the exit status of a SIGINT", func(s string) bool { return strings.Contains(s, "status=130") })
	})
}

// headerLine is the column titles' line: where the sort mark is.
func headerLine(screen string) string {
	lines := strings.Split(screen, "\n")
	if len(lines) < 2 {
		return ""
	}
	return lines[1]
}
