package e2e

// Issue "foundation": the plugin is found by the docker CLI, reports the
// Engine it talks to, installs and uninstalls cleanly; and the helper image
// produces the load the other tests rely on, as docker itself observes it.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

func TestDockerHelpListsLive(t *testing.T) {
	t.Parallel()
	out := dockerCmd(t, "--help")
	if !regexp.MustCompile(`(?m)^\s+live\*?\s+\S`).MatchString(out) {
		t.Fatalf("docker --help does not list the live command:\n%s", out)
	}
}

func TestLiveHelpListsSubcommands(t *testing.T) {
	t.Parallel()
	out := dockerCmd(t, "live", "--help")
	for _, sub := range []string{"version"} {
		if !regexp.MustCompile(`(?m)^\s+` + sub + `\s+\S`).MatchString(out) {
			t.Errorf("docker live --help does not list %q:\n%s", sub, out)
		}
	}
}

// liveVersion is the part of `docker live version --format json` checked here.
type liveVersion struct {
	Version       string `json:"version"`
	EngineVersion string `json:"engine_version"`
	APIVersion    string `json:"api_version"`
	EngineError   string `json:"engine_error"`
}

func TestLiveVersionReportsNegotiatedAPIVersion(t *testing.T) {
	t.Parallel()
	var v liveVersion
	out := dockerCmd(t, "live", "version", "--format", "json")
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("docker live version --format json is not JSON: %v\n%s", err, out)
	}
	serverAPI := dockerCmd(t, "version", "--format", "{{.Server.APIVersion}}")
	serverVersion := dockerCmd(t, "version", "--format", "{{.Server.Version}}")
	// The plugin's client speaks the lower of its own newest version and
	// the Engine's.
	want := serverAPI
	if compareAPIVersions(client.MaxAPIVersion, serverAPI) < 0 {
		want = client.MaxAPIVersion
	}
	if v.APIVersion != want {
		t.Errorf("api_version = %q, want %q (Engine %s, client max %s)", v.APIVersion, want, serverAPI, client.MaxAPIVersion)
	}
	if v.EngineVersion != serverVersion {
		t.Errorf("engine_version = %q, want %q", v.EngineVersion, serverVersion)
	}
	if v.Version != pluginVersion {
		t.Errorf("version = %q, want %q", v.Version, pluginVersion)
	}
	if v.EngineError != "" {
		t.Errorf("engine_error = %q, want none", v.EngineError)
	}
}

// compareAPIVersions compares "major.minor" API versions like strings.Compare.
func compareAPIVersions(a, b string) int {
	pa, pb := strings.SplitN(a, ".", 2), strings.SplitN(b, ".", 2)
	for i := range 2 {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func TestLiveVersionUnreachableEngineFailsWithOneLine(t *testing.T) {
	t.Parallel()
	_, stderr, code := dockerTry(t, "-H", "unix:///nonexistent", "live", "version")
	if code == 0 || code == -1 {
		t.Fatalf("exit code = %d, want a failure exit; stderr: %s", code, stderr)
	}
	msg := strings.TrimSpace(stderr)
	if msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("want exactly one line on stderr, got %q", stderr)
	}
	if !strings.Contains(msg, "nonexistent") {
		t.Errorf("error does not name the endpoint: %q", msg)
	}
}

func TestInstallScript(t *testing.T) {
	t.Parallel()
	config := t.TempDir()
	env := []string{"DOCKER_CONFIG=" + config}
	installed := filepath.Join(config, "cli-plugins", "docker-live")
	script := filepath.Join(repoRoot, "install.sh")

	install := func(args ...string) (string, int) {
		t.Helper()
		cmd := append([]string{script}, args...)
		out, err := commandOutputIn(t.TempDir(), 5*time.Minute, dockerEnv(env), cmd...)
		var exitErr *exec.ExitError
		switch {
		case errors.As(err, &exitErr):
			return out, exitErr.ExitCode()
		case err != nil:
			t.Fatalf("install.sh %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return out, 0
	}
	checkWorks := func() {
		t.Helper()
		stdout, stderr, code := dockerTryEnv(t, env, "live", "version", "--format", "json")
		var v liveVersion
		if code != 0 {
			t.Fatalf("docker live version after install: exit %d: %s", code, stderr)
		}
		if err := json.Unmarshal([]byte(stdout), &v); err != nil || v.APIVersion == "" {
			t.Fatalf("docker live version after install: bad output (%v): %s", err, stdout)
		}
	}

	for i := range 2 {
		out, code := install()
		if code != 0 {
			t.Fatalf("install.sh (run %d) failed with %d:\n%s", i+1, code, out)
		}
		if fi, err := os.Stat(installed); err != nil || fi.Mode()&0o111 == 0 {
			t.Fatalf("install.sh (run %d) left no executable at %s (%v)", i+1, installed, err)
		}
		checkWorks()
	}
	if entries, _ := os.ReadDir(filepath.Dir(installed)); len(entries) != 1 {
		t.Errorf("cli-plugins holds %d entries after two installs, want only docker-live", len(entries))
	}

	if out, code := install("--bogus"); code != 2 || !strings.Contains(out, "usage") {
		t.Errorf("install.sh --bogus: exit %d, output %q; want exit 2 and a usage line", code, out)
	}

	for i := range 2 {
		if out, code := install("--uninstall"); code != 0 {
			t.Fatalf("install.sh --uninstall (run %d) failed with %d:\n%s", i+1, code, out)
		}
		if _, err := os.Stat(installed); !os.IsNotExist(err) {
			t.Fatalf("install.sh --uninstall (run %d) left %s (%v)", i+1, installed, err)
		}
	}
	if _, _, code := dockerTryEnv(t, env, "live", "version"); code == 0 {
		t.Errorf("docker live version still succeeds after --uninstall")
	}
}

// The tests below check that the helper's workloads show in docker's own
// view, which is what later tests compare the plugin against.

func TestHelperCPUShareShowsInDockerStats(t *testing.T) {
	t.Parallel()
	c := runHelper(t, HelperOpts{Args: []string{"cpu", "--share", "0.5"}})
	pid := waitState(t, c.ID, 20*time.Second, "running", func(s ContainerState) bool { return s.Running && s.Pid > 0 }).Pid
	// The helper aims at half a CPU, but a busy host may give it far less
	// (2-5 % of a core under make stress), so docker stats is compared with
	// the CPU time the helper did get while docker stats sampled it, read
	// from /proc on this host (the Engine's); it never shows more than asked.
	eventually(t, 40*time.Second, func() error {
		cpu0, at0 := processCPU(t, pid), time.Now()
		s := dockerStats(t, c.ID)
		used := 100 * float64(processCPU(t, pid)-cpu0) / float64(time.Since(at0))
		if used <= 0 {
			return fmt.Errorf("the helper got no CPU time while docker stats sampled it (CPU %% %s)", s.Raw["CPUPerc"])
		}
		if s.CPUPerc > 70 || math.Abs(s.CPUPerc-used) > 5+0.25*used {
			return fmt.Errorf("CPU %% = %v (%s), but the helper used %.1f %% of a CPU meanwhile (want within 5 points + 25 %%, at most 70)",
				s.CPUPerc, s.Raw["CPUPerc"], used)
		}
		t.Logf("docker stats: CPU %s; the helper used %.1f %% of a CPU", s.Raw["CPUPerc"], used)
		return nil
	})
}

// processCPU is the CPU time (user and system) pid has used, from
// /proc/PID/stat, whose times count in clock ticks of 1/100 s.
func processCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("reading the helper's CPU time on the Engine's host: %v", err)
	}
	// The command name may hold spaces; utime and stime are the 12th and
	// 13th fields after it.
	stat := string(data)
	fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	if len(fields) < 13 {
		t.Fatalf("short /proc/%d/stat: %q", pid, stat)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad /proc/%d/stat: %q", pid, stat)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func TestHelperMemoryShowsInDockerStats(t *testing.T) {
	t.Parallel()
	c := runHelper(t, HelperOpts{Args: []string{"mem", "--mb", "64"}, Memory: "256m"})
	eventually(t, 30*time.Second, func() error {
		s := dockerStats(t, c.ID)
		if s.MemUsage < 60<<20 {
			return fmt.Errorf("memory usage = %s, want >= 60MiB", s.Raw["MemUsage"])
		}
		if s.MemLimit != 256<<20 {
			return fmt.Errorf("memory limit = %s, want 256MiB", s.Raw["MemUsage"])
		}
		t.Logf("docker stats: memory %s", s.Raw["MemUsage"])
		return nil
	})
}

func TestHelperNetworkTrafficShowsInDockerStats(t *testing.T) {
	t.Parallel()
	network := createNetwork(t)
	receiver := runHelper(t, HelperOpts{Network: network, Args: []string{"serve", "--port", "9000"}})
	// Addressed by name: Docker's embedded DNS answers it locally.
	sender := runHelper(t, HelperOpts{Network: network, Args: []string{"send", "--to", receiver.Name + ":9000", "--mbps", "16"}})
	eventually(t, 30*time.Second, func() error {
		r, s := dockerStats(t, receiver.ID), dockerStats(t, sender.ID)
		if r.NetRx < 1e6 {
			return fmt.Errorf("receiver NetIO = %s, want rx >= 1MB", r.Raw["NetIO"])
		}
		if s.NetTx < 1e6 {
			return fmt.Errorf("sender NetIO = %s, want tx >= 1MB", s.Raw["NetIO"])
		}
		t.Logf("docker stats: NetIO receiver %s, sender %s", r.Raw["NetIO"], s.Raw["NetIO"])
		return nil
	})
}

func TestHelperDiskWriteShowsInDockerStats(t *testing.T) {
	t.Parallel()
	vol := createVolume(t)
	c := runHelper(t, HelperOpts{
		Volumes: []string{vol + ":/data"},
		Args:    []string{"disk", "--mb", "50", "--path", "/data/x"},
	})
	eventually(t, 30*time.Second, func() error {
		// Written with O_DIRECT from the container, so cgroup v1 charges it
		// to the container even when another process syncs the disk first.
		s := dockerStats(t, c.ID)
		if s.BlockWrite < 25e6 {
			return fmt.Errorf("BlockIO = %s, want >= 25MB written", s.Raw["BlockIO"])
		}
		t.Logf("docker stats: BlockIO %s", s.Raw["BlockIO"])
		return nil
	})
}

func TestHelperExitCodeShowsInInspect(t *testing.T) {
	t.Parallel()
	c := runHelper(t, HelperOpts{Args: []string{"exit", "--code", "3", "--after", "200ms"}})
	waitState(t, c.ID, 20*time.Second, "exited with code 3", func(s ContainerState) bool {
		return s.Status == "exited" && s.ExitCode == 3
	})
}

func TestHelperBadArgumentsExit2WithOneLine(t *testing.T) {
	t.Parallel()
	c := runHelper(t, HelperOpts{Args: []string{"cpu", "--share", "-1"}})
	waitState(t, c.ID, 20*time.Second, "exited with code 2", func(s ContainerState) bool {
		return s.Status == "exited" && s.ExitCode == 2
	})
	stdout, stderr, code := dockerTry(t, "logs", c.ID)
	if code != 0 || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "--share") {
		t.Errorf("want one stderr line about --share; got exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestHelperStopsPromptlyOnSIGTERM(t *testing.T) {
	t.Parallel()
	// Healthy, not just running: the helper handles SIGTERM only once its
	// Go runtime is up, and it turns healthy after installing the handler.
	// On a starved host "running" comes long before that.
	c := runHelper(t, HelperOpts{Health: true})
	waitState(t, c.ID, 30*time.Second, "healthy", func(s ContainerState) bool { return s.HealthStatus() == "healthy" })
	start := time.Now()
	dockerCmd(t, "stop", "-t", "30", c.ID)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("docker stop took %v; the helper ignores SIGTERM", d)
	}
	if s := inspectState(t, c.ID); s.ExitCode != 0 {
		t.Errorf("exit code after docker stop = %d, want 0", s.ExitCode)
	}
}

func TestHelperHealthFlips(t *testing.T) {
	t.Parallel()
	c := runHelper(t, HelperOpts{Health: true})
	health := func(want string) {
		t.Helper()
		waitState(t, c.ID, 30*time.Second, "health "+want, func(s ContainerState) bool {
			return s.HealthStatus() == want
		})
	}
	health("healthy")
	dockerCmd(t, "exec", c.ID, "/helper", "flip", "unhealthy")
	health("unhealthy")
	dockerCmd(t, "exec", c.ID, "/helper", "flip", "healthy")
	health("healthy")

	sick := runHelper(t, HelperOpts{Health: true, Args: []string{"--health", "unhealthy", "sleep"}})
	waitState(t, sick.ID, 30*time.Second, "health unhealthy", func(s ContainerState) bool {
		return s.HealthStatus() == "unhealthy"
	})
}

func TestHarnessLabelsEveryContainer(t *testing.T) {
	t.Parallel()
	c := runHelper(t, HelperOpts{Labels: map[string]string{"extra": "yes"}})
	out := dockerCmd(t, "ps", "-a", "--no-trunc", "--format", "{{.ID}}",
		"--filter", "label="+runLabel, "--filter", "label="+testLabel(t))
	if out != c.ID {
		t.Fatalf("filtering on the run and test labels found %q, want only %s", out, c.ID)
	}
	var labels map[string]string
	raw := dockerCmd(t, "inspect", "--format", "{{json .Config.Labels}}", c.ID)
	if err := json.Unmarshal([]byte(raw), &labels); err != nil {
		t.Fatal(err)
	}
	if labels[labelPID] != strconv.Itoa(os.Getpid()) || labels[labelHost] == "" || labels["extra"] != "yes" {
		t.Errorf("labels = %v, want pid %d, a host and extra=yes", labels, os.Getpid())
	}
}

func TestHarnessStartDockerStreamsLines(t *testing.T) {
	t.Parallel()
	p := startDocker(t, "version", "--format", "{{.Server.APIVersion}}\n{{.Server.Version}}")
	if api := nextLine(t, p, 30*time.Second); api == "" {
		t.Errorf("first line empty")
	}
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Errorf("docker version exit code %d", code)
	}

	// --since replays what happened between the start of docker events and
	// its subscription.
	since := strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10)
	events := startDocker(t, "events", "--since", since, "--filter", "label="+testLabel(t), "--format", "{{.Action}} {{.Actor.ID}}")
	c := runHelper(t, HelperOpts{Args: []string{"exit", "--code", "0"}})
	waitLine(t, events, 30*time.Second, "the die event", func(line string) bool {
		return line == "die "+c.ID
	})
	events.Kill()
	if !events.Exited() {
		t.Errorf("docker events still runs after Kill")
	}
}
