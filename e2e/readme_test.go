package e2e

// The README's examples, run: every `$ docker live ...` line of its console
// blocks, the shapes of the outputs it shows (the table with its paused
// row, the cold start, NDJSON with null, templates), and the restart
// script driven by health_status events.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeExample is one `$ ` line of a console block and the lines shown
// after it.
type readmeExample struct {
	cmd    string
	output []string
}

func readREADME(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// readmeBlocks returns the bodies of the README's fenced blocks of lang.
func readmeBlocks(readme, lang string) []string {
	re := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(readme, -1) {
		out = append(out, m[1])
	}
	return out
}

func readmeExamples(readme string) []readmeExample {
	var out []readmeExample
	for _, block := range readmeBlocks(readme, "console") {
		for _, line := range strings.Split(strings.TrimRight(block, "\n"), "\n") {
			if cmd, ok := strings.CutPrefix(line, "$ "); ok {
				if i := strings.Index(cmd, "  #"); i >= 0 {
					cmd = strings.TrimSpace(cmd[:i])
				}
				out = append(out, readmeExample{cmd: cmd})
			} else if len(out) > 0 {
				out[len(out)-1].output = append(out[len(out)-1].output, line)
			}
		}
	}
	return out
}

// readmeRun runs a README command line with sh under env for at most
// timeout. code is -1 when it was still running then (a streaming command).
func readmeRun(t *testing.T, env []string, timeout time.Duration, line string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Env = dockerEnv(env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		code = -1
	case errorsAs(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", line, err)
	}
	return out.String(), errb.String(), code
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// streaming reports README commands that run until stopped.
func streaming(cmd string) bool {
	switch {
	case strings.Contains(cmd, "--no-stream"), strings.Contains(cmd, "--until"),
		strings.Contains(cmd, "live status"), strings.Contains(cmd, "live stop"),
		strings.Contains(cmd, "live version"), strings.Contains(cmd, "--detach"):
		return false
	}
	return true
}

var (
	readmeHeaderRE = regexp.MustCompile(`^● live  context \S+  \d+( of \d+)? containers?  updated \d\d:\d\d:\d\d$`)
	readmeColumns  = "NAME STATE CPU % MEM USAGE / LIMIT MEM % NET RX/s NET TX/s BLOCK I/O PIDS UPTIME"
)

// TestReadmeExamples runs every console example of the README against this
// test's containers, and checks the outputs it shows have the real shape.
func TestReadmeExamples(t *testing.T) {
	env, _ := fltConfig(t, "")
	readme := readREADME(t)
	examples := readmeExamples(readme)
	if len(examples) < 15 {
		t.Fatalf("found %d console examples in README.md; the parser is broken", len(examples))
	}
	label := testLabel(t)
	web := runHelper(t, HelperOpts{Args: []string{"cpu", "--share", "0.3"}, Labels: map[string]string{"com.example.tier": "web"}})
	paused := runHelper(t, HelperOpts{})
	dockerCmd(t, "pause", paused.ID)
	job := runHelper(t, HelperOpts{Name: uniqueName("job"), Args: []string{"exit", "--code", "3"}})
	waitState(t, job.ID, 30*time.Second, "exited", func(s ContainerState) bool { return s.Status == "exited" })

	// Cold start, as the README tells it: the table comes at once, the
	// stats columns show -- (never 0) until the first samples, which come
	// within a few seconds.
	t.Run("cold start", func(t *testing.T) {
		done := beginCreate(t)
		p := startDockerEnv(t, env, "live", "watch", "--filter", "label="+label)
		done()
		began := time.Now()
		for {
			line := nextLine(t, p, 20*time.Second)
			f := strings.Fields(line)
			if len(f) < 3 || f[0] != web.Name {
				continue
			}
			if f[2] == "0.00%" {
				t.Fatalf("cold start shows the 0.3-CPU burner at 0.00%%: %q", line)
			}
			if f[2] != "--" {
				t.Logf("first CPU %% %s after %v", f[2], time.Since(began).Round(time.Millisecond))
				break
			}
		}
	})

	for _, ex := range examples {
		if !strings.HasPrefix(ex.cmd, "docker live") && !strings.Contains(ex.cmd, "| jq") {
			continue
		}
		line := ex.cmd
		// Scope the example to this test's containers; keep its meaning.
		if strings.Contains(line, "live watch") && !strings.Contains(line, "--filter label=") {
			line = strings.Replace(line, "live watch", "live watch --filter label="+label, 1)
		}
		if strings.Contains(line, "--filter name=^job$") {
			line = strings.Replace(line, "^job$", "^"+job.Name+"$", 1)
		}
		if strings.HasSuffix(line, "live stop --all") {
			continue // would end streamers the other examples use; stop is tested alone
		}
		if line == "docker live serve" {
			// The foreground streamer refuses to run beside another one.
			dockerTryEnv(t, env, "live", "stop")
		}
		timeout := 20 * time.Second
		if streaming(line) {
			timeout = 3 * time.Second
		}
		done := beginCreate(t)
		stdout, stderr, code := readmeRun(t, env, timeout, line)
		done()
		if code > 0 || (code == -1 && !streaming(line)) {
			t.Errorf("README example %q: exit %d\nstdout %s\nstderr %s", ex.cmd, code, stdout, stderr)
			continue
		}
		if strings.Contains(strings.ToLower(stderr), "error") || strings.Contains(stderr, "invalid") {
			t.Errorf("README example %q wrote an error: %s", ex.cmd, stderr)
		}
		if len(ex.output) == 0 {
			continue
		}
		if strings.HasPrefix(ex.output[0], "cannot ") {
			// An error shown for a planted state folder: reproduced by
			// TestSecurityPlantedSymlinkKeyFolder, not here.
			continue
		}
		checkReadmeOutput(t, ex, stdout, map[string]string{"web": web.Name, "paused": paused.Name})
	}
}

// checkReadmeOutput compares a README sample output with a real one by shape.
func checkReadmeOutput(t *testing.T, ex readmeExample, stdout string, names map[string]string) {
	t.Helper()
	real := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	switch {
	case ex.cmd == "docker live watch":
		if !readmeHeaderRE.MatchString(ex.output[0]) {
			t.Errorf("README header %q does not have the real header's shape", ex.output[0])
		}
		if got := strings.Join(strings.Fields(ex.output[1]), " "); got != readmeColumns {
			t.Errorf("README columns %q, real %q", got, readmeColumns)
		}
		// The paused row: state paused, a real 0 % CPU, memory still held.
		var sample []string
		for _, l := range ex.output {
			if strings.Contains(l, " paused ") {
				sample = strings.Fields(l)
			}
		}
		var got []string
		for _, l := range real {
			if f := strings.Fields(l); len(f) > 0 && f[0] == names["paused"] {
				got = f
			}
		}
		if len(sample) < 5 || len(got) < 5 || sample[1] != got[1] || sample[2] != got[2] || (sample[3] == "--") != (got[3] == "--") {
			t.Errorf("paused row: README %q, real %q", sample, got)
		}
	case strings.HasPrefix(ex.output[0], "{"):
		var want, have map[string]any
		if err := json.Unmarshal([]byte(ex.output[0]), &want); err != nil {
			t.Fatalf("README JSON after %q: %v", ex.cmd, err)
		}
		if err := json.Unmarshal([]byte(real[0]), &have); err != nil {
			t.Fatalf("%q printed no JSON: %v: %s", ex.cmd, err, stdout)
		}
		if k1, k2 := sortedKeys(want), sortedKeys(have); k1 != k2 {
			t.Errorf("%q: README keys %s, real %s", ex.cmd, k1, k2)
		}
		for k, v := range want {
			if v == nil && have[k] != nil {
				t.Errorf("%q: README shows %s null, real %v", ex.cmd, k, have[k])
			}
		}
	case ex.cmd == "docker live events":
		// Actions may carry a detail ("exec_create: /helper health").
		re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT[\d:.]+Z \w+ \S.* [0-9a-f]{64} \(.*name=.*\)$`)
		if !re.MatchString(ex.output[0]) {
			t.Errorf("README events line %q does not have docker events' shape", ex.output[0])
		}
		if stdout != "" && !re.MatchString(real[0]) {
			t.Errorf("events printed %q", real[0])
		}
	default:
		// Templates: the same number of words per line, in the same kinds.
		wf, rf := strings.Fields(ex.output[0]), strings.Fields(real[0])
		if len(wf) != len(rf) {
			t.Errorf("%q: README shows %q, real %q", ex.cmd, ex.output[0], real[0])
		}
	}
}

func sortedKeys(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// TestReadmeRestartScript runs the README's restart-on-unhealthy script,
// scoped to this test's containers, and checks that it restarts a
// container once when it turns unhealthy, not again and again.
func TestReadmeRestartScript(t *testing.T) {
	env, _ := fltConfig(t, "")
	var script string
	for _, b := range readmeBlocks(readREADME(t), "sh") {
		if strings.Contains(b, "health_status") {
			script = b
		}
	}
	if script == "" {
		t.Fatal("README.md has no sh block with the health_status restart script")
	}
	// Scope it: the script as written would act on every container.
	scoped := strings.Replace(script, "docker live events", "docker live events --filter label="+testLabel(t), 1)
	if scoped == script {
		t.Fatalf("the script does not read docker live events:\n%s", script)
	}
	c := runHelper(t, HelperOpts{Health: true})
	waitState(t, c.ID, 30*time.Second, "healthy", func(s ContainerState) bool { return s.HealthStatus() == "healthy" })
	startedBefore := inspectState(t, c.ID).StartedAt

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", scoped)
	cmd.Env = dockerEnv(env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var errb bytes.Buffer
	cmd.Stderr = &errb
	done := beginCreate(t)
	if err := cmd.Start(); err != nil {
		done()
		t.Fatal(err)
	}
	done()
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("script stderr: %s", errb.String())
		}
	}()
	// The script subscribes asynchronously; events keeps nothing from
	// before it attached, so wait until its streamer serves a client.
	waitFor(t, 20*time.Second, "the script's events client", func() bool {
		out, _, _ := dockerTryEnv(t, env, "live", "status", "--format", "{{.Clients}}")
		return strings.TrimSpace(out) == "1"
	})

	dockerCmd(t, "exec", c.ID, "/helper", "flip", "unhealthy")
	st := waitState(t, c.ID, 30*time.Second, "restarted by the script", func(s ContainerState) bool {
		return !s.StartedAt.Equal(startedBefore) && s.Status == "running"
	})
	// The restarted container starts healthy again; no further restart may
	// follow (the old watch-based script restarted every second).
	waitState(t, c.ID, 30*time.Second, "healthy after the restart", func(s ContainerState) bool { return s.HealthStatus() == "healthy" })
	time.Sleep(3 * time.Second) // three health checks: a repeating script would restart again within them
	if now := inspectState(t, c.ID); !now.StartedAt.Equal(st.StartedAt) {
		t.Errorf("the container was restarted again (started %s, then %s)", st.StartedAt, now.StartedAt)
	}
}
