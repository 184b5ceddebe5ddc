package e2e

// Issue 18: honest numbers, visible staleness, stop means stop, and the
// "as docker" promise. One test per bullet of the "Done when".

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// honestStatus is one line of `docker live status --format json`.
type honestStatus struct {
	PID    int    `json:"pid"`
	State  string `json:"state"`
	Listen string `json:"listen"`
}

func honestStatusList(t testing.TB, env []string) []honestStatus {
	t.Helper()
	out, stderr, code := dockerTryEnv(t, env, "live", "status", "--format", "json")
	if code != 0 {
		t.Fatalf("docker live status: exit %d: %s", code, stderr)
	}
	var list []honestStatus
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var s honestStatus
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("status line is not JSON: %v: %s", err, line)
		}
		list = append(list, s)
	}
	return list
}

// jsonRowsOf runs watch --format json under env with args and returns the
// lines for the container named name.
func jsonRowsOf(t testing.TB, env []string, name string, args ...string) []map[string]any {
	t.Helper()
	stdout, stderr, code := dockerTryEnv(t, env, append([]string{"live", "watch", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("watch %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	var rows []map[string]any
	for _, line := range strings.Split(stdout, "\n") {
		if line == "" {
			continue
		}
		row, err := parseWatchJSON(line)
		if err != nil {
			t.Fatal(err)
		}
		if row["name"] == name {
			rows = append(rows, row)
		}
	}
	return rows
}

// A 0.5-CPU burner never appears at 0 % on any path (cold start, --poll,
// a streaming --poll's first rounds), and an exited container has null
// stats in NDJSON and "--" in tables and templates.
func TestHonestUnknownIsNotZero(t *testing.T) {
	env, _ := fltConfig(t, "")
	burner := runHelper(t, HelperOpts{Args: []string{"cpu", "--share", "0.5"}})
	exited := runHelper(t, HelperOpts{Args: []string{"exit", "--code", "3"}})
	waitState(t, exited.ID, 30*time.Second, "exited", func(s ContainerState) bool { return s.Status == "exited" })
	label := "label=" + testLabel(t)

	checkBurner := func(path string, row map[string]any) {
		t.Helper()
		cpu, ok := row["cpu_percent"].(float64)
		if ok && cpu == 0 {
			t.Errorf("%s: the burner shows cpu_percent 0 (a made-up zero): %v", path, row)
		}
		if rate, ok := row["net_rx_rate"].(float64); ok && rate != 0 {
			t.Errorf("%s: net_rx_rate %v for a container without a network", path, rate)
		}
	}

	// Cold: no streamer runs in this DOCKER_CONFIG.
	done := beginCreate(t)
	rows := jsonRowsOf(t, env, burner.Name, "--no-stream", "--filter", label)
	done()
	if len(rows) != 1 {
		t.Fatalf("cold --no-stream: %d lines for the burner, want 1", len(rows))
	}
	checkBurner("cold --no-stream", rows[0])
	if _, ok := rows[0]["cpu_percent"].(float64); !ok {
		t.Errorf("cold --no-stream printed no CPU %% for the running burner: %v", rows[0])
	}

	// --poll --no-stream waits for its second round.
	rows = jsonRowsOf(t, env, burner.Name, "--poll", "--no-stream", "--filter", label)
	if len(rows) != 1 {
		t.Fatalf("--poll --no-stream: %d lines for the burner, want 1", len(rows))
	}
	checkBurner("--poll --no-stream", rows[0])
	if _, ok := rows[0]["cpu_percent"].(float64); !ok {
		t.Errorf("--poll --no-stream printed no CPU %% for the running burner: %v", rows[0])
	}

	// A streaming --poll: its first rounds have null, never 0.
	p := startDockerEnv(t, env, "live", "watch", "--poll", "--format", "json", "--filter", label, "-a")
	seen := 0
	var exitedRow map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for seen < 3 && time.Now().Before(deadline) {
		line := nextLine(t, p, 30*time.Second)
		row, err := parseWatchJSON(line)
		if err != nil {
			t.Fatal(err)
		}
		switch row["name"] {
		case burner.Name:
			checkBurner("streaming --poll", row)
			if _, ok := row["cpu_percent"].(float64); ok {
				seen++
			}
		case exited.Name:
			exitedRow = row
		}
	}
	if seen < 3 {
		t.Errorf("streaming --poll: %d lines with CPU %% for the burner within 30 s, want 3", seen)
	}
	p.Kill()
	if exitedRow == nil {
		t.Fatal("streaming --poll -a printed no line for the exited container")
	}
	for _, k := range []string{"cpu_percent", "mem_limit", "mem_usage", "pids"} {
		if v, present := exitedRow[k]; !present || v != nil {
			t.Errorf("exited container: %s = %v, want null", k, v)
		}
	}

	// Tables and templates: "--" for the exited container.
	out, stderr, code := dockerTryEnv(t, env, "live", "watch", "--no-stream", "-a", "--filter", label, "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}")
	if code != 0 {
		t.Fatalf("template: exit %d: %s", code, stderr)
	}
	if want := exited.Name + " -- -- / -- --"; !strings.Contains(out, want+"\n") {
		t.Errorf("template output lacks %q:\n%s", want, out)
	}
	out, _, _ = dockerTryEnv(t, env, "live", "watch", "--no-stream", "-a", "--filter", label)
	_, cells := tableRows(out)
	if row := cells[exited.Name]; len(row) < 3 || row[2] != "--" {
		t.Errorf("table row of the exited container = %q, want CPU %% --", row)
	}
}

// NDJSON writes a container's line when its state or sample changed, with
// the sample's time: never the same sample twice.
func TestHonestJSONLinesOnlyOnChange(t *testing.T) {
	c := runHelper(t, HelperOpts{})
	startStreamer(t)
	p := startDocker(t, "live", "watch", "--format", "json", "--filter", "label="+testLabel(t))
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		row, err := parseWatchJSON(nextLine(t, p, 20*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if row["name"] != c.Name {
			t.Fatalf("line for %v, want only %s", row["name"], c.Name)
		}
		ts := row["time"].(string)
		if seen[ts] {
			t.Errorf("two lines with time %s: a sample repeated", ts)
		}
		seen[ts] = true
	}
}

// A SIGSTOPped streamer turns the header stale within 3x the interval and
// back after SIGCONT; status says "not responding" with its pid; JSON
// output says it on stderr.
func TestHonestStaleStreamerIsVisible(t *testing.T) {
	env, _ := fltConfig(t, "")
	c := runHelper(t, HelperOpts{})
	s := fltServe(t, env, nil)
	defer syscall.Kill(s.PID, syscall.SIGCONT)
	table := startDockerEnv(t, env, "live", "watch", "--filter", "label="+testLabel(t))
	jsonOut := startDockerEnv(t, env, "live", "watch", "--format", "json", "--filter", "label="+testLabel(t))
	waitLine(t, table, 20*time.Second, "a live header", func(l string) bool { return strings.HasPrefix(l, "● live") })
	nextLine(t, jsonOut, 20*time.Second)

	if err := syscall.Kill(s.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	// 3 s (3x the 1 s interval) plus one redraw, on a busy host.
	waitLine(t, table, 10*time.Second, "a stale header", func(l string) bool { return strings.HasPrefix(l, "● stale") })
	took := time.Since(stoppedAt)
	t.Logf("header stale %v after SIGSTOP", took.Round(time.Millisecond))
	if took < 2*time.Second {
		t.Errorf("stale after %v, before 3x the interval", took)
	}
	waitFor(t, 10*time.Second, "stale notice on the JSON watch's stderr", func() bool {
		return strings.Contains(jsonOut.Stderr(), "docker live: stale: no message from the streamer")
	})
	list := honestStatusList(t, env)
	if len(list) != 1 || list[0].State != "not responding" || list[0].PID != s.PID {
		t.Errorf("status of a stopped streamer = %+v, want it not responding with pid %d", list, s.PID)
	}
	out, _, _ := dockerTryEnv(t, env, "live", "status")
	if !strings.Contains(out, "not responding") || !strings.Contains(out, fmt.Sprint(s.PID)) {
		t.Errorf("status table lacks \"not responding\" and the pid:\n%s", out)
	}

	if err := syscall.Kill(s.PID, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitLine(t, table, 20*time.Second, "a live header again", func(l string) bool { return strings.HasPrefix(l, "● live") })
	_ = c
}

// After docker live stop with a watch attached, no streamer runs 5 s later,
// and the watch says it is polling because of the stop. A new command
// starts one again.
func TestHonestStopMeansStop(t *testing.T) {
	env, _ := fltConfig(t, "")
	runHelper(t, HelperOpts{})
	s := fltServe(t, env, nil)
	w := startDockerEnv(t, env, "live", "watch", "--format", "json", "--filter", "label="+testLabel(t))
	nextLine(t, w, 20*time.Second)
	if out, stderr, code := dockerTryEnv(t, env, "live", "stop"); code != 0 {
		t.Fatalf("docker live stop: exit %d: %s%s", code, out, stderr)
	}
	waitFor(t, 15*time.Second, "the watch saying why it polls", func() bool {
		return strings.Contains(w.Stderr(), "polling: streamer stopped by 'docker live stop'")
	})
	// Five seconds: more than the client's restart spacing (3 s), so a
	// respawn would have happened by then.
	time.Sleep(5 * time.Second)
	if list := honestStatusList(t, env); len(list) != 0 {
		t.Errorf("5 s after docker live stop with a watch attached, status lists %+v", list)
	}
	if fltAlive(s.PID) {
		t.Errorf("the stopped streamer (pid %d) still runs", s.PID)
	}
	if strings.Contains(w.Stderr(), "starting the docker live streamer") {
		t.Errorf("the attached watch started a streamer after the stop:\n%s", w.Stderr())
	}
	// A new command starts one again.
	done := beginCreate(t)
	_, stderr, code := dockerTryEnv(t, env, "live", "watch", "--no-stream", "--filter", "label="+testLabel(t))
	done()
	if code != 0 {
		t.Fatalf("a new watch --no-stream: exit %d: %s", code, stderr)
	}
	if list := honestStatusList(t, env); len(list) != 1 || list[0].State != "running" {
		t.Errorf("after a new watch, status lists %+v, want one running streamer", list)
	}
}

// Each "as docker" row of the issue gives docker's answer.
func TestHonestAsDocker(t *testing.T) {
	env, _ := fltConfig(t, "")
	tag := uniqueName("ad")
	one := runHelper(t, HelperOpts{Name: tag + "-1"})
	two := runHelper(t, HelperOpts{Name: tag + "-2"})
	runHelper(t, HelperOpts{Name: tag + "-3"})
	exited := runHelper(t, HelperOpts{Name: tag + "-x", Args: []string{"exit", "--code", "0"}})
	waitState(t, exited.ID, 30*time.Second, "exited", func(s ContainerState) bool { return s.Status == "exited" })
	label := "label=" + testLabel(t)
	done := beginCreate(t)
	dockerTryEnv(t, env, "live", "serve", "--detach")
	done()

	t.Run("no such container", func(t *testing.T) {
		missing := tag + "-nope"
		_, dockerErr, dockerCode := dockerTry(t, "stats", "--no-stream", missing)
		_, liveErr, liveCode := dockerTryEnv(t, env, "live", "watch", "--no-stream", missing)
		if liveCode != dockerCode || liveCode != 1 {
			t.Errorf("exit %d, docker stats %d", liveCode, dockerCode)
		}
		want := "No such container: " + missing
		if !strings.Contains(dockerErr, want) || strings.TrimSpace(liveErr) != want {
			t.Errorf("stderr %q, docker stats %q; want %q", liveErr, dockerErr, want)
		}
		// A live watch waits for it, and says so.
		p := startDockerEnv(t, env, "live", "watch", missing)
		waitLine(t, p, 20*time.Second, "waiting header", func(l string) bool {
			return strings.HasPrefix(l, "● ") && strings.Contains(l, "waiting for "+missing)
		})
	})

	t.Run("regex names", func(t *testing.T) {
		re := "^" + regexp.QuoteMeta(tag) + "-[12]$"
		ps := strings.Fields(dockerCmd(t, "ps", "--filter", "name="+re, "--format", "{{.Names}}"))
		out, stderr, code := dockerTryEnv(t, env, "live", "watch", "--no-stream", "--filter", "name="+re, "--format", "{{.Name}}")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		live := strings.Fields(out)
		if strings.Join(live, " ") != strings.Join(sortedCopy(ps), " ") || len(live) != 2 || live[0] != one.Name || live[1] != two.Name {
			t.Errorf("name=%s: live %q, docker ps %q", re, live, ps)
		}
	})

	t.Run("status filter implies -a", func(t *testing.T) {
		ps := strings.Fields(dockerCmd(t, "ps", "--filter", label, "--filter", "status=exited", "--format", "{{.Names}}"))
		out, _, _ := dockerTryEnv(t, env, "live", "watch", "--no-stream", "--filter", label, "--filter", "status=exited", "--format", "{{.Name}}")
		if strings.Join(strings.Fields(out), " ") != exited.Name || strings.Join(ps, " ") != exited.Name {
			t.Errorf("status=exited without -a: live %q, docker ps %q, want %s", out, ps, exited.Name)
		}
	})

	t.Run("ambiguous id prefix", func(t *testing.T) {
		prefix := ambiguousPrefix(t)
		_, stderr, code := dockerTryEnv(t, env, "live", "watch", "--no-stream", prefix)
		if code != 1 || !strings.Contains(stderr, "Multiple IDs found with provided prefix: "+prefix) {
			t.Errorf("prefix %s: exit %d, stderr %q; want 1 and Multiple IDs found", prefix, code, stderr)
		}
		_, dockerErr, _ := dockerTry(t, "container", "inspect", "--format", "{{.ID}}", prefix)
		t.Logf("docker container inspect %s: %s", prefix, strings.TrimSpace(dockerErr))
	})

	t.Run("Ctrl-C exits 130", func(t *testing.T) {
		p := startDockerEnv(t, env, "live", "watch", "--filter", label)
		nextLine(t, p, 20*time.Second)
		p.Signal(syscall.SIGINT)
		if code := p.Wait(t, 10*time.Second); code != 130 {
			t.Errorf("watch after Ctrl-C: exit %d, want 130 as docker stats", code)
		}
	})

	t.Run("usage errors exit 125", func(t *testing.T) {
		for _, args := range [][]string{{"--interval", "100ms"}, {"--interval", "1"}, {"--sort", "zzz"}} {
			_, stderr, code := dockerTryEnv(t, env, append([]string{"live", "watch", "--no-stream"}, args...)...)
			if code != 125 {
				t.Errorf("watch %s: exit %d, want 125: %s", strings.Join(args, " "), code, stderr)
			}
		}
	})

	t.Run("templates for version and status", func(t *testing.T) {
		out, stderr, code := dockerTryEnv(t, env, "live", "version", "--format", "{{.Context}} {{.APIVersion}}")
		if code != 0 || !regexp.MustCompile(`^default 1\.\d+\n$`).MatchString(out) {
			t.Errorf("version --format template: exit %d, %q %s", code, out, stderr)
		}
		out, stderr, code = dockerTryEnv(t, env, "live", "status", "--format", "{{.Context}} {{.State}}")
		if code != 0 || out != "default running\n" {
			t.Errorf("status --format template: exit %d, %q %s", code, out, stderr)
		}
	})
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// ambiguousPrefix returns a one-character id prefix that at least two
// containers on the Engine share and no container is named, creating
// labelled containers of this test until one exists (17 always suffice).
func ambiguousPrefix(t *testing.T) string {
	t.Helper()
	for range 17 {
		ids := strings.Fields(dockerCmd(t, "ps", "-aq", "--no-trunc"))
		names := " " + strings.Join(strings.Fields(dockerCmd(t, "ps", "-a", "--format", "{{.Names}}")), " ") + " "
		count := map[string]int{}
		for _, id := range ids {
			count[id[:1]]++
		}
		for p, n := range count {
			if n >= 2 && !strings.Contains(names, " "+p+" ") {
				return p
			}
		}
		runHelper(t, HelperOpts{Create: true})
	}
	t.Fatal("no ambiguous prefix after 17 containers")
	return ""
}

// Small truths: the header counts the rows shown "of N"; an unreachable
// Engine fails --no-stream within a second and leaves no streamer; serve
// --detach --listen 0.0.0.0 warns on the terminal and status shows the
// address.
func TestHonestSmallTruths(t *testing.T) {
	env, dir := fltConfig(t, "")
	a := runHelper(t, HelperOpts{})
	runHelper(t, HelperOpts{})

	t.Run("header count of N", func(t *testing.T) {
		done := beginCreate(t)
		p := startDockerEnv(t, env, "live", "watch", "--filter", "name=^"+regexp.QuoteMeta(a.Name)+"$")
		done()
		line := waitLine(t, p, 20*time.Second, "a live header", func(l string) bool { return strings.HasPrefix(l, "● live") })
		m := regexp.MustCompile(`  (\d+) of (\d+) containers`).FindStringSubmatch(line)
		if m == nil || m[1] != "1" {
			t.Errorf("header %q does not count 1 row of N", line)
		}
	})

	t.Run("columns hidden at 80 columns", func(t *testing.T) {
		scriptPath, err := exec.LookPath("script")
		if err != nil {
			t.Skip("no script(1) to give watch a terminal")
		}
		// script(1) gives watch a terminal of 80 columns, as the issue's; --plain
		// asks for the redrawing table, not the interactive view.
		line := "stty cols 80 rows 30; exec docker live watch --plain --filter label=" + testLabel(t)
		done := beginCreate(t)
		out, _ := commandOutput(6*time.Second, dockerEnv(env), scriptPath, "-q", "-c", line, "/dev/null")
		done()
		m := regexp.MustCompile(`(\d+) columns? hidden`).FindStringSubmatch(out)
		if m == nil || m[1] == "0" {
			t.Errorf("an 80-column watch does not say columns are hidden; output %q", out)
		}
		if strings.Contains(out, "UPTIME") {
			t.Errorf("UPTIME shown at 80 columns although columns are hidden")
		}
	})

	t.Run("unreachable Engine", func(t *testing.T) {
		env2, dir2 := fltConfig(t, "")
		start := time.Now()
		stdout, stderr, code, _ := fltCLIRun(t, env2, 20*time.Second, "-H", "unix:///nonexistent.sock", "live", "watch", "--no-stream")
		took := time.Since(start)
		if code != 1 || took > time.Second || stdout != "" {
			t.Errorf("exit %d after %v (want 1 within 1 s), stdout %q", code, took.Round(time.Millisecond), stdout)
		}
		if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(stderr, "nonexistent.sock") {
			t.Errorf("stderr is not one line naming the endpoint: %q", stderr)
		}
		entries, _ := os.ReadDir(filepath.Join(dir2, "live"))
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(dir2, "live", e.Name(), "live.sock")); err == nil {
				t.Errorf("a streamer socket was left behind in %s", e.Name())
			}
		}
		_ = dir
	})

	t.Run("listen 0.0.0.0", func(t *testing.T) {
		env3, _ := fltConfig(t, "")
		done := beginCreate(t)
		stdout, stderr, code := dockerTryEnv(t, env3, "live", "serve", "--detach", "--listen", "0.0.0.0:0")
		done()
		if code != 0 {
			t.Fatalf("serve --detach --listen 0.0.0.0:0: exit %d: %s", code, stderr)
		}
		if !regexp.MustCompile(`WARNING: --listen (0\.0\.0\.0|\[::\]):\d+ is not a loopback address`).MatchString(stderr) || !strings.Contains(stdout, "token in ") {
			t.Errorf("terminal lacks the warning or the token path:\nstdout %s\nstderr %s", stdout, stderr)
		}
		list := honestStatusList(t, env3)
		// Go reports a 0.0.0.0 listener as [::] (it listens dual-stack).
		if len(list) != 1 || !(strings.HasPrefix(list[0].Listen, "0.0.0.0:") || strings.HasPrefix(list[0].Listen, "[::]:")) {
			t.Errorf("status = %+v, want the listen address", list)
		}
		out, _, _ := dockerTryEnv(t, env3, "live", "status")
		if !strings.Contains(out, "LISTEN") || !strings.Contains(out, list[0].Listen) {
			t.Errorf("status table lacks the listen address:\n%s", out)
		}
	})
}
