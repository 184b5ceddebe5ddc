package e2e

// Issue "watch/events", the watch half: `docker live watch` through the real
// docker CLI, its table, NDJSON and template output, its filters and sort,
// its speed with a warm streamer, and its polling fallback.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watchJSONKinds are the fields every `watch --format json` line carries,
// with their JSON types: numbers stay raw numbers.
var watchJSONKinds = map[string]string{
	"time": "string", "context": "string", "id": "string", "name": "string", "image": "string",
	"state": "string", "status": "string", "health": "string",
	"exit_code": "number", "cpu_percent": "number", "mem_usage": "number", "mem_limit": "number",
	"mem_percent": "number", "net_rx": "number", "net_tx": "number", "net_rx_rate": "number",
	"net_tx_rate": "number", "block_read": "number", "block_write": "number", "pids": "number",
}

// statsField are the fields that are null without a sample.
var statsField = map[string]bool{
	"cpu_percent": true, "mem_usage": true, "mem_limit": true, "mem_percent": true, "net_rx": true, "net_tx": true,
	"net_rx_rate": true, "net_tx_rate": true, "block_read": true, "block_write": true, "pids": true,
}

var fullIDRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// parseWatchJSON decodes one NDJSON line of watch and checks that it has
// every field with its type, and a valid time.
func parseWatchJSON(line string) (map[string]any, error) {
	var row map[string]any
	if err := json.Unmarshal([]byte(line), &row); err != nil {
		return nil, fmt.Errorf("not JSON: %v: %q", err, line)
	}
	_, hasStats := row["cpu_percent"].(float64)
	for k, kind := range watchJSONKinds {
		v, present := row[k]
		got := jsonKind(v)
		switch {
		case !present:
			got = "absent"
		case v == nil:
			got = "null"
		}
		// Unknown is not zero: the stats fields are all null together (no
		// sample) or all numbers.
		if statsField[k] && !hasStats {
			kind = "null"
		}
		if got != kind {
			return nil, fmt.Errorf("field %q is %s (%v), want a %s: %s", k, got, row[k], kind, line)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, row["time"].(string)); err != nil {
		return nil, fmt.Errorf("time %q is not RFC 3339: %v", row["time"], err)
	}
	if !fullIDRE.MatchString(row["id"].(string)) {
		return nil, fmt.Errorf("id %q is not a full container id", row["id"])
	}
	return row, nil
}

// watchOnceJSON runs `watch --no-stream --format json` with args and returns
// the rows by name, failing the test on any malformed line.
func watchOnceJSON(t testing.TB, args ...string) map[string]map[string]any {
	t.Helper()
	out := dockerCmd(t, append([]string{"live", "watch", "--no-stream", "--format", "json"}, args...)...)
	rows := map[string]map[string]any{}
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		row, err := parseWatchJSON(line)
		if err != nil {
			t.Fatalf("watch --no-stream --format json: %v", err)
		}
		name := row["name"].(string)
		if _, dup := rows[name]; dup {
			t.Errorf("watch --no-stream --format json printed %s twice", name)
		}
		rows[name] = row
	}
	return rows
}

// watchOnceNames runs `watch --no-stream --format {{.Name}}` with args and
// returns the names in output order.
func watchOnceNames(t testing.TB, args ...string) []string {
	t.Helper()
	out := dockerCmd(t, append([]string{"live", "watch", "--no-stream", "--format", "{{.Name}}"}, args...)...)
	if out == "" {
		return []string{}
	}
	return strings.Split(out, "\n")
}

// tableRows splits a plain table into cells (columns are separated by two
// or more spaces, cells hold single spaces) and returns the header and the
// rows keyed by their first cell.
func tableRows(out string) (header []string, rows map[string][]string) {
	sep := regexp.MustCompile(`\s{2,}`)
	rows = map[string][]string{}
	for i, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		cells := sep.Split(strings.TrimSpace(line), -1)
		if i == 0 {
			header = cells
			continue
		}
		rows[cells[0]] = cells
	}
	return header, rows
}

func TestWatchNoStreamColdStart(t *testing.T) {
	c := runHelper(t, HelperOpts{})
	stopStreamers(t)
	// No streamer runs: watch starts one and must still show what runs.
	done := beginCreate(t)
	out, errOut, code := dockerTry(t, "live", "watch", "--no-stream", "--format", "{{.Name}} {{.State}}", "--filter", "label="+testLabel(t))
	done()
	if code != 0 {
		t.Fatalf("watch --no-stream with no streamer: exit %d: %s", code, errOut)
	}
	if strings.TrimSpace(out) != c.Name+" running" {
		t.Errorf("watch --no-stream with no streamer printed %q, want %q (stderr %q)", out, c.Name+" running", strings.TrimSpace(errOut))
	}
}

func TestWatchTableAndJSONOutput(t *testing.T) {
	startStreamer(t)
	run := runHelper(t, HelperOpts{})
	paused := runHelper(t, HelperOpts{})
	exited := runHelper(t, HelperOpts{Args: []string{"exit", "--code", "3"}})
	healthy := runHelper(t, HelperOpts{Health: true})
	mem := runHelper(t, HelperOpts{Args: []string{"mem", "--mb", "32"}})
	dockerCmd(t, "pause", paused.ID)
	waitState(t, exited.ID, 30*time.Second, "exited (3)", func(s ContainerState) bool { return s.Status == "exited" && s.ExitCode == 3 })
	waitState(t, healthy.ID, 30*time.Second, "healthy", func(s ContainerState) bool { return s.HealthStatus() == "healthy" })
	label := "label=" + testLabel(t)

	// JSON first: it also waits until the streamer has the memory sample.
	var rows map[string]map[string]any
	eventually(t, 15*time.Second, func() error {
		rows = watchOnceJSON(t, "-a", "--filter", label)
		r := rows[mem.Name]
		if r == nil {
			return fmt.Errorf("no row for %s in %v", mem.Name, rows)
		}
		if u, _ := r["mem_usage"].(float64); u < 16<<20 {
			return fmt.Errorf("mem_usage of the 32 MiB container is %v, want at least 16 MiB", r["mem_usage"])
		}
		if h, _ := rows[healthy.Name]["health"].(string); h != "healthy" {
			return fmt.Errorf("health of %s is %q, want healthy", healthy.Name, h)
		}
		return nil
	})
	want := map[string]struct {
		id, state, health string
		exit              float64
	}{
		run.Name:     {run.ID, "running", "", 0},
		paused.Name:  {paused.ID, "paused", "", 0},
		exited.Name:  {exited.ID, "exited", "", 3},
		healthy.Name: {healthy.ID, "running", "healthy", 0},
		mem.Name:     {mem.ID, "running", "", 0},
	}
	if len(rows) != len(want) {
		t.Errorf("watch --no-stream --format json -a printed %d rows, want %d: %v", len(rows), len(want), slices.Sorted(func(yield func(string) bool) {
			for k := range rows {
				if !yield(k) {
					return
				}
			}
		}))
	}
	ctxName := currentContext(t)
	for name, w := range want {
		r := rows[name]
		if r == nil {
			t.Errorf("no JSON row for %s", name)
			continue
		}
		if r["id"] != w.id || r["state"] != w.state || r["health"] != w.health || r["exit_code"] != w.exit ||
			r["image"] != imageRef || r["context"] != ctxName {
			t.Errorf("JSON row of %s = %v, want id %.12s state %q health %q exit_code %v image %s context %s",
				name, r, w.id, w.state, w.health, w.exit, imageRef, ctxName)
		}
		if w.state == "running" {
			// A type assertion that fails (null: no sample yet) reads 0 here.
			if limit, _ := r["mem_limit"].(float64); limit <= 0 {
				t.Errorf("running %s has no mem_limit: %v", name, r)
			}
			if pids, _ := r["pids"].(float64); pids <= 0 {
				t.Errorf("running %s has no pids: %v", name, r)
			}
		}
	}
	t.Logf("mem_usage of the 32 MiB container: %.0f bytes", rows[mem.Name]["mem_usage"])

	out := dockerCmd(t, "live", "watch", "--no-stream", "--filter", label)
	header, trows := tableRows(out)
	if len(header) < 2 || header[0] != "NAME" || header[1] != "STATE" {
		t.Fatalf("table header %q, want NAME STATE ...:\n%s", header, out)
	}
	wantTable := map[string]string{run.Name: "running", paused.Name: "paused", healthy.Name: "running (healthy)", mem.Name: "running"}
	if len(trows) != len(wantTable) {
		t.Errorf("table without -a has %d rows, want %d (no exited one):\n%s", len(trows), len(wantTable), out)
	}
	for name, state := range wantTable {
		if r := trows[name]; r == nil || r[1] != state {
			t.Errorf("table row of %s = %q, want state %q:\n%s", name, r, state, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("table to a pipe contains escape codes: %q", out)
	}

	out = dockerCmd(t, "live", "watch", "--no-stream", "-a", "--filter", label)
	_, trows = tableRows(out)
	if r := trows[exited.Name]; r == nil || r[1] != "exited (3)" {
		t.Errorf("table -a row of %s = %q, want state \"exited (3)\":\n%s", exited.Name, r, out)
	}

	out = dockerCmd(t, "live", "watch", "--no-stream", "-a", "--filter", label, "--format", `table {{.Name}}\t{{.State}}`)
	header, trows = tableRows(out)
	if !slices.Equal(header, []string{"NAME", "STATE"}) {
		t.Errorf("template table header %q, want [NAME STATE]:\n%s", header, out)
	}
	for name, w := range want {
		if r := trows[name]; len(r) != 2 || r[1] != w.state {
			t.Errorf("template table row of %s = %q, want [%s %s]:\n%s", name, r, name, w.state, out)
		}
	}
}

// timedLine is a stdout line with the moment the test read it.
type timedLine struct {
	text string
	at   time.Time
}

// waitEither reads two Procs' lines as they come and returns the first line
// of each that matches, with its receipt time.
func waitEither(t testing.TB, timeout time.Duration, desc string, a, b *Proc, matchA, matchB func(string) bool) (la, lb timedLine) {
	t.Helper()
	deadline := time.After(timeout)
	var gotA, gotB bool
	for !gotA || !gotB {
		select {
		case line, ok := <-a.Lines:
			if !ok {
				t.Fatalf("waiting for %s: stdout of docker %s ended; stderr: %s", desc, strings.Join(a.args, " "), a.Stderr())
			}
			if !gotA && matchA(line) {
				la, gotA = timedLine{line, time.Now()}, true
			}
		case line, ok := <-b.Lines:
			if !ok {
				t.Fatalf("waiting for %s: stdout of docker %s ended; stderr: %s", desc, strings.Join(b.args, " "), b.Stderr())
			}
			if !gotB && matchB(line) {
				lb, gotB = timedLine{line, time.Now()}, true
			}
		case <-deadline:
			t.Fatalf("waiting for %s: not within %v (watch line: %v, events line: %v); stderr: %s / %s", desc, timeout, gotA, gotB, a.Stderr(), b.Stderr())
		}
	}
	return la, lb
}

func TestWatchPauseShowsInWatchAndEvents(t *testing.T) {
	st := startStreamer(t)
	c := runHelper(t, HelperOpts{})
	label := "label=" + testLabel(t)
	before := streamerClients(t, st.Socket)
	watch := startDocker(t, "live", "watch", "--format", "json", "--filter", label)
	evs := startDocker(t, "live", "events", "--format", "json", "--filter", label)
	waitLine(t, watch, 15*time.Second, "the running container's first row", func(line string) bool {
		row, err := parseWatchJSON(line)
		if err != nil {
			t.Fatalf("watch --format json: %v", err)
		}
		return row["id"] == c.ID && row["state"] == "running"
	})
	// events prints nothing until an event: wait until both are attached.
	waitFor(t, 15*time.Second, "watch and events attached to the streamer", func() bool {
		return streamerClients(t, st.Socket) >= before+2
	})

	rowState := func(state string) func(string) bool {
		return func(line string) bool {
			row, err := parseWatchJSON(line)
			if err != nil {
				t.Errorf("watch --format json: %v", err)
				return false
			}
			return row["id"] == c.ID && row["state"] == state
		}
	}
	var timeNano int64
	eventIs := func(action string) func(string) bool {
		return func(line string) bool {
			var ev cliEvent
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Errorf("events --format json: line is not JSON: %v: %q", err, line)
				return false
			}
			if ev.Actor.ID == c.ID && ev.Action == action {
				timeNano = ev.TimeNano
				return true
			}
			return false
		}
	}
	for _, step := range []struct{ cmd, state string }{{"pause", "paused"}, {"unpause", "running"}} {
		dockerCmd(t, step.cmd, c.ID)
		w, e := waitEither(t, 15*time.Second, step.cmd+" in watch and events", watch, evs, rowState(step.state), eventIs(step.cmd))
		at := time.Unix(0, timeNano)
		t.Logf("%-7s: watch row %v, events line %v after the Engine event", step.cmd,
			w.at.Sub(at).Round(time.Microsecond), e.at.Sub(at).Round(time.Microsecond))
		for what, d := range map[string]time.Duration{"watch": w.at.Sub(at), "events": e.at.Sub(at)} {
			if d > 5*time.Second {
				t.Errorf("%s: %s line %v after the Engine event, want within 5s", step.cmd, what, d)
			}
		}
	}
}

func TestWatchNoStreamFastAndMatchesDockerStats(t *testing.T) {
	startStreamer(t)
	b := runHelper(t, HelperOpts{Args: []string{"cpu", "--share", "0.5"}})
	label := "label=" + testLabel(t)
	// Warm up: the streamer needs two samples of a new container for CPU %.
	eventually(t, 15*time.Second, func() error {
		r := watchOnceJSON(t, "--filter", label)[b.Name]
		if cpu, _ := r["cpu_percent"].(float64); cpu <= 0 {
			return fmt.Errorf("no CPU %% for the burner yet: %v", r)
		}
		return nil
	})
	var walls []time.Duration
	for range 3 {
		start := time.Now()
		out := dockerCmd(t, "live", "watch", "--no-stream", "--filter", label)
		walls = append(walls, time.Since(start))
		if !strings.Contains(out, b.Name) {
			t.Fatalf("watch --no-stream does not list %s:\n%s", b.Name, out)
		}
	}
	fastest := slices.Min(walls)
	t.Logf("watch --no-stream wall time with a warm streamer (docker CLI included): %v", walls)
	if fastest >= time.Second {
		t.Errorf("watch --no-stream took %v at best with a warm streamer, want under 1s", fastest)
	}

	// CPU % agrees with docker stats; both sample a moving target, so
	// allow a few tries.
	var tries []string
	for i := range 4 {
		ds := dockerStats(t, b.ID)
		r := watchOnceJSON(t, "--filter", label)[b.Name]
		if r == nil {
			t.Fatalf("watch --no-stream --format json lost %s", b.Name)
		}
		live, ok := r["cpu_percent"].(float64)
		if !ok {
			t.Fatalf("watch --no-stream --format json has no CPU %% for %s: %v", b.Name, r)
		}
		tries = append(tries, fmt.Sprintf("live %.2f / docker stats %.2f", live, ds.CPUPerc))
		if d := live - ds.CPUPerc; d >= -5 && d <= 5 {
			t.Logf("CPU %% agrees on try %d: %s", i+1, strings.Join(tries, "; "))
			return
		}
	}
	t.Errorf("CPU %% of the burner never within 5 points of docker stats: %s", strings.Join(tries, "; "))
}

func TestWatchSurvivesStreamerKill(t *testing.T) {
	st := startStreamer(t)
	c := runHelper(t, HelperOpts{})
	p := startDocker(t, "live", "watch", "--format", "json", "--filter", "label="+testLabel(t))
	rowOfC := func(line string) bool {
		row, err := parseWatchJSON(line)
		if err != nil {
			t.Fatalf("watch --format json: %v", err)
		}
		return row["id"] == c.ID
	}
	waitLine(t, p, 15*time.Second, "the first row", rowOfC)

	// Kill the streamer and take its lock, so that no new one can start
	// and watch must poll. A client may restart a streamer between the kill
	// and the lock: kill that one too.
	lock, err := os.OpenFile(filepath.Join(st.Dir(), "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	killedAt := time.Now()
	_ = syscall.Kill(st.PID, syscall.SIGKILL)
	deadline := time.Now().Add(15 * time.Second)
	for syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("could not take the streamer's lock within 15s")
		}
		for _, pid := range serveProcesses() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(5 * time.Millisecond) // poll interval for the lock
	}
	locked := true
	unlock := func() {
		if locked {
			_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
			locked = false
		}
	}
	defer unlock()

	waitFor(t, 20*time.Second, "the polling notice on stderr", func() bool { return strings.Contains(p.Stderr(), "polling") })
	pollingAfter := time.Since(killedAt)
	for i := range 3 {
		waitLine(t, p, 10*time.Second, fmt.Sprintf("row %d while polling", i+1), rowOfC)
	}
	t.Logf("polling notice %v after the kill; rows keep coming while polling", pollingAfter.Round(time.Millisecond))

	noticesBefore := strings.Count(p.Stderr(), "docker live: live")
	unlock()
	releasedAt := time.Now()
	waitFor(t, 25*time.Second, "the live notice on stderr after the lock was released", func() bool {
		return strings.Count(p.Stderr(), "docker live: live") > noticesBefore
	})
	t.Logf("back to live %v after the lock was released", time.Since(releasedAt).Round(time.Millisecond))
	waitLine(t, p, 10*time.Second, "a row after returning to live", rowOfC)
	if now := onlyStreamer(t); now.PID == st.PID {
		t.Errorf("the streamer listed after the restart has the killed pid %d", st.PID)
	}
	if p.Exited() {
		t.Errorf("watch exited; stderr:\n%s", p.Stderr())
	}
	t.Logf("watch stderr:\n%s", strings.TrimSpace(p.Stderr()))
}

func TestWatchFiltersSortAndTemplates(t *testing.T) {
	startStreamer(t)
	alpha := runHelper(t, HelperOpts{Name: uniqueName("alpha"), Args: []string{"cpu", "--share", "0.3"}})
	paused := runHelper(t, HelperOpts{Labels: map[string]string{"dle2e.extra": "yes"}})
	healthy := runHelper(t, HelperOpts{Health: true})
	proj := runHelper(t, HelperOpts{Labels: map[string]string{"com.docker.compose.project": "p1", "com.docker.compose.service": "web"}})
	dockerCmd(t, "pause", paused.ID)
	waitState(t, healthy.ID, 30*time.Second, "healthy", func(s ContainerState) bool { return s.HealthStatus() == "healthy" })
	label := "label=" + testLabel(t)

	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--filter", "name=alpha"}, []string{alpha.Name}},
		{[]string{"--filter", "label=dle2e.extra=yes"}, []string{paused.Name}},
		{[]string{"--filter", "label=dle2e.extra"}, []string{paused.Name}},
		{[]string{"--filter", "status=paused"}, []string{paused.Name}},
		{[]string{"--filter", "health=healthy"}, []string{healthy.Name}},
		{[]string{"--filter", "project=p1"}, []string{proj.Name}},
		{[]string{"--filter", "status=running", "--filter", "status=paused", "--filter", "name=alpha"}, []string{alpha.Name}},
		{[]string{alpha.ID[:12], paused.Name}, []string{alpha.Name, paused.Name}},
	}
	all := []string{alpha.Name, paused.Name, healthy.Name, proj.Name}
	slices.Sort(all)
	if got := watchOnceNames(t, "--filter", label); !slices.Equal(got, all) {
		t.Errorf("watch --filter %s printed %q, want %q", label, got, all)
	}
	for _, c := range cases {
		want := slices.Sorted(slices.Values(c.want))
		if got := watchOnceNames(t, append([]string{"--filter", label}, c.args...)...); !slices.Equal(got, want) {
			t.Errorf("watch %s printed %q, want %q", strings.Join(c.args, " "), got, want)
		}
	}

	// The burner sorts first by CPU once the streamer has its CPU %.
	var got []string
	eventually(t, 15*time.Second, func() error {
		got = watchOnceNames(t, "--filter", label, "--sort", "cpu")
		if len(got) != len(all) || got[0] != alpha.Name {
			return fmt.Errorf("watch --sort cpu printed %q, want %s first of %d", got, alpha.Name, len(all))
		}
		return nil
	})

	out := dockerCmd(t, "live", "watch", "--no-stream", "--filter", label, "--format", "{{.Name}}|{{.State}}|{{.Health}}|{{.ID}}")
	lines := strings.Split(out, "\n")
	wantLines := []string{
		alpha.Name + "|running||" + alpha.ID[:12],
		paused.Name + "|paused||" + paused.ID[:12],
		healthy.Name + "|running|healthy|" + healthy.ID[:12],
		proj.Name + "|running||" + proj.ID[:12],
	}
	slices.Sort(wantLines)
	if !slices.Equal(lines, wantLines) {
		t.Errorf("template output:\n%s\nwant:\n%s", out, strings.Join(wantLines, "\n"))
	}
	out = dockerCmd(t, "live", "watch", "--no-stream", "--no-trunc", "--filter", "name=alpha", "--filter", label, "--format", "{{.ID}}")
	if out != alpha.ID {
		t.Errorf("--no-trunc template {{.ID}} = %q, want %q", out, alpha.ID)
	}
}

// oneLineError checks a failed command's stderr: one line, no Go crash text.
func oneLineError(t testing.TB, what, stdout, stderr string, code int) {
	t.Helper()
	msg := strings.TrimSpace(stderr)
	switch {
	case code == 0:
		t.Errorf("%s: exit 0, want a failure; stdout %q", what, stdout)
	case code == -1:
		t.Errorf("%s: did not finish: %s", what, stderr)
	case msg == "" || strings.Contains(msg, "\n"):
		t.Errorf("%s: want exactly one line on stderr, got %q", what, stderr)
	case strings.Contains(msg, "goroutine") || strings.Contains(msg, "panic"):
		t.Errorf("%s: stderr shows a crash: %q", what, msg)
	default:
		t.Logf("%s: exit %d: %s", what, code, msg)
	}
}

func TestWatchAndEventsBadInput(t *testing.T) {
	startStreamer(t)
	for _, args := range [][]string{
		{"live", "watch", "--filter", "bogus=1"},
		{"live", "watch", "--format", "{{.Nope}}"},
		{"live", "watch", "--sort", "bogus"},
		{"live", "watch", "--filter", "status=sleeping"},
		{"live", "watch", "--interval", "10ms"},
		{"live", "events", "--since", "garbage"},
		{"live", "events", "--filter", "bogus=1"},
	} {
		stdout, stderr, code := dockerTry(t, args...)
		oneLineError(t, "docker "+strings.Join(args, " "), stdout, stderr, code)
	}
}

func TestWatchPipeToHeadExitsQuickly(t *testing.T) {
	startStreamer(t)
	c := runHelper(t, HelperOpts{})
	script := fmt.Sprintf("set -o pipefail; docker live watch --format json --filter label=%s | head -n 1", testLabel(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Env = dockerEnv(nil)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	t.Logf("docker live watch --format json | head -n 1 finished in %v", took.Round(time.Millisecond))
	if err != nil {
		t.Fatalf("pipeline failed after %v: %v; stderr: %s", took, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 {
		t.Fatalf("head printed %d lines: %q", len(lines), out)
	}
	row, perr := parseWatchJSON(lines[0])
	if perr != nil || row["id"] != c.ID {
		t.Errorf("the line is not the container's row (%v): %s", perr, lines[0])
	}
	if took > 10*time.Second {
		t.Errorf("the pipeline took %v, want watch to end soon after head closed the pipe", took)
	}
	if s := stderr.String(); strings.Contains(s, "goroutine") || strings.Contains(s, "panic") || strings.Contains(s, "broken pipe") {
		t.Errorf("stderr after the pipe closed: %q", s)
	}
}
