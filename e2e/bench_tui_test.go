package e2e

// Benchmark of the interactive watch (make bench): its client CPU over a
// window at 200 containers, side by side with `docker stats` on the same
// containers, each in a real terminal (tmux). Target: at most half of
// docker stats' client CPU.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBenchTUI(t *testing.T) {
	if os.Getenv("DOCKER_LIVE_BENCH") != "1" {
		t.Skip("benchmarks run only with DOCKER_LIVE_BENCH=1 (make bench)")
	}
	requireTmux(t)
	n := 200
	if v, err := strconv.Atoi(os.Getenv("DOCKER_LIVE_BENCH_TUI_N")); err == nil && v > 0 {
		n = v
	}
	window := 30 * time.Second
	if v, err := time.ParseDuration(os.Getenv("DOCKER_LIVE_BENCH_TUI_WINDOW")); err == nil && v > 0 {
		window = v
	}
	fleet := &benchFleet{t: t, label: testLabel(t)}
	t.Cleanup(fleet.removeAll)
	ids := fleet.ensure(t, n)
	env, dir := fltConfig(t, "")

	ours := newTUITerm(t, env)
	ours.text("docker live watch --filter 'label=" + fleet.label + "'")
	ours.keys("Enter")
	want := fmt.Sprintf("%d containers", n)
	ours.waitScreen(3*time.Minute, "the view with every container, live", func(s string) bool {
		return strings.HasPrefix(s, "● live") && strings.Contains(s, want)
	})
	stats := newTUITerm(t, nil)
	// On a loaded Engine docker stats with container arguments gives up
	// ("timeout waiting for stats": a first sample of one of them took too
	// long) and exits: start it again, a few times, then show every
	// running container instead, which it does not give up on. The report
	// says which it was.
	statsArgs := "docker stats " + strings.Join(ids, " ")
	statsWhat := fmt.Sprintf("docker stats with the %d container ids", n)
	for attempt := 1; ; attempt++ {
		stats.tmux("send-keys", "-t", "w", "C-l")
		stats.text(statsArgs)
		stats.keys("Enter")
		s := stats.waitScreen(3*time.Minute, "docker stats' table, or its end", func(s string) bool {
			return strings.Contains(s, "CONTAINER ID") || strings.Contains(s, "timeout waiting for stats")
		})
		if strings.Contains(s, "CONTAINER ID") {
			break
		}
		stats.waitShellBack(time.Minute, "docker stats gave up")
		t.Logf("%s gave up (attempt %d)", statsWhat, attempt)
		switch attempt {
		case 3:
			running := len(strings.Fields(dockerCmd(t, "ps", "-q")))
			statsArgs = "docker stats"
			statsWhat = fmt.Sprintf("docker stats (every running container: %d on the host, %d of them this test's)", running, n)
		case 6:
			t.Fatalf("docker stats gave up %d times on this Engine:\n%s", attempt, s)
		}
	}
	// Both clients' processes: the docker CLI and, for ours, the plugin it runs.
	var ourPIDs, statsPIDs []int
	eventually(t, 30*time.Second, func() error {
		ourPIDs, statsPIDs = ours.clientPIDs(), stats.clientPIDs()
		if len(ourPIDs) < 2 || len(statsPIDs) < 1 {
			return fmt.Errorf("client processes: ours %v, docker stats %v", ourPIDs, statsPIDs)
		}
		return nil
	})
	var streamerPIDs []int
	if matches, _ := filepath.Glob(filepath.Join(dir, "live", "*", "info.json")); len(matches) == 1 {
		if info, err := fltReadInfo(filepath.Dir(matches[0])); err == nil {
			streamerPIDs = []int{info.PID}
		}
	}
	// Settle: the first seconds hold the history and the first frames.
	time.Sleep(5 * time.Second) // a warm-up period, not a condition to wait for
	// Press keys during the window, as a person would: a move a second.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				if i%2 == 0 {
					ours.keys("j")
				} else {
					ours.keys("k")
				}
			}
		}
	})
	ourCPU := newBenchCPUMeter(ourPIDs, false)
	statsCPU := newBenchCPUMeter(statsPIDs, false)
	strmCPU := newBenchCPUMeter(streamerPIDs, false)
	start := time.Now()
	time.Sleep(window) // the measurement window itself
	elapsed := time.Since(start).Seconds()
	o, s, st := ourCPU.seconds(), statsCPU.seconds(), strmCPU.seconds()
	close(stop)
	wg.Wait()

	if !strings.HasPrefix(ours.screen(), "● live") {
		t.Errorf("the view left live during the window:\n%s", ours.screen())
	}
	verdict := "met"
	if o > s/2 {
		verdict = "MISSED"
	}
	t.Logf("interactive watch vs docker stats, %d containers, %.0f s window, %d cores:", n, elapsed, benchNumCPU())
	t.Logf("| client | CPU seconds | CPU %% of one core |")
	t.Logf("|---|---|---|")
	t.Logf("| docker live watch (interactive; docker CLI + plugin) | %.2f | %.1f%% |", o, o/elapsed*100)
	t.Logf("| %s | %.2f | %.1f%% |", statsWhat, s, s/elapsed*100)
	t.Logf("| the streamer, shared by every client (not counted above) | %.2f | %.1f%% |", st, st/elapsed*100)
	t.Logf("ratio %s; target at most half of docker stats: %s", benchRatio(o, s), verdict)
	ours.keys("q")
	ours.waitShellBack(10*time.Second, "after q")
	stats.keys("C-c")
}

// clientPIDs returns the docker CLI process under the pane's shell and
// its children (the plugin, for docker live).
func (term *tuiTerm) clientPIDs() []int {
	shell, _ := strconv.Atoi(term.format("#{pane_pid}"))
	var out []int
	for _, docker := range childPIDs(shell) {
		out = append(out, docker)
		out = append(out, childPIDs(docker)...)
	}
	return out
}
