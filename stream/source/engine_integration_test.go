package source

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/stream"
)

// The integration test drives the real Engine at the default socket with
// the docker CLI and watches what a Source reports. Everything it creates
// carries the label docker-live-dev=source-<run> and is removed when it ends.

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func needEngine(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("talks to the real Engine")
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("docker info failed under CI: %v\n%s", err, out)
		}
		t.Skipf("no Docker Engine: %v", err)
	}
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// buildBurner builds testdata/burner into a FROM scratch image labelled
// label and returns its tag; the image goes away with the test.
func buildBurner(t *testing.T, run, label string) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command(goTool(), "build", "-trimpath", "-o", filepath.Join(dir, "burner"), "./testdata/burner")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build burner: %v\n%s", err, out)
	}
	df := "FROM scratch\nCOPY burner /burner\nENTRYPOINT [\"/burner\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := "docker-live-source-test:" + run
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	cmd := exec.Command("docker", "build", "-q", "--label", label, "-t", tag, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	return tag
}

// cpuShareOver returns the share of one CPU container id used between two
// of the Engine's one-shot records about window apart, and their read times.
func cpuShareOver(cli *client.Client, id string, window time.Duration) (share float64, from, to time.Time, err error) {
	record := func() (*container.StatsResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := cli.ContainerStats(ctx, id, client.ContainerStatsOptions{})
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var r container.StatsResponse
		return &r, json.NewDecoder(res.Body).Decode(&r)
	}
	first, err := record()
	if err != nil {
		return 0, from, to, err
	}
	time.Sleep(window) // the measurement window itself, not a wait for a condition
	second, err := record()
	if err != nil {
		return 0, from, to, err
	}
	wall := second.Read.Sub(first.Read)
	if wall <= 0 {
		return 0, from, to, fmt.Errorf("records read at %v and %v", first.Read, second.Read)
	}
	used := float64(second.CPUStats.CPUUsage.TotalUsage) - float64(first.CPUStats.CPUUsage.TotalUsage)
	return used / float64(wall), first.Read, second.Read, nil
}

func TestRealEngineLifecycleAndStats(t *testing.T) {
	needEngine(t)
	leakCheck(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	run := hex.EncodeToString(b)
	label := "docker-live-dev=source-" + run
	image := buildBurner(t, run, label)
	t.Cleanup(func() {
		// Also whatever a failed run left behind, found by its label only.
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label="+label).Output()
		for _, id := range strings.Fields(string(out)) {
			_ = exec.Command("docker", "rm", "-f", id).Run()
		}
	})

	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	rec := newRecorder()
	s, stop := runSource(t, Config{Client: cli, Sink: rec, Logf: t.Logf})
	waitReset(t, rec, 1)
	if st := rec.snapshot()[1].engine; st.State != stream.EngineConnected || st.Version == "" || st.APIVersion == "" {
		t.Errorf("engine status = %+v", st)
	}

	name := "dl-source-" + run
	id := docker(t, "create", "--name", name, "--label", label, "--network", "none", image, "burn")
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
	state := func(want string, cond func(stream.Container) bool) {
		t.Helper()
		waitFor(t, name+" "+want, func() bool {
			c, ok := rec.get(id)
			return ok && c.State == want && (cond == nil || cond(c))
		})
	}
	state("created", func(c stream.Container) bool {
		return c.Name == name && c.Image == image && c.Command == "/burner burn" && c.Labels["docker-live-dev"] == "source-"+run &&
			slices.Equal(c.Networks, []string{"none"})
	})

	docker(t, "start", id)
	state("running", func(c stream.Container) bool { return !c.StartedAt.IsZero() && strings.HasPrefix(c.Status, "Up ") })
	waitFor(t, "stats source", func() bool { return s.StatsSources()[id] == "api" })

	// The burner aims at half a CPU, but a busy host may give it far less
	// (under make stress it got 2-5 % of a core), so the reference is what
	// it did get: its CPU time over wall time between two of the Engine's
	// records. The Source's samples read within that window must average
	// the same, as docker stats would show it.
	waitWithin(t, 2*time.Minute, "the burner's CPU % as measured", func() bool {
		share, from, to, err := cpuShareOver(cli, id, 5*time.Second)
		if err != nil {
			t.Logf("measuring the burner: %v", err)
			return false
		}
		var sum float64
		var n int
		for _, c := range rec.snapshot() {
			if c.kind == "stats" && c.id == id && c.stats.CPUPercent > 0 && !c.stats.Read.Before(from) && !c.stats.Read.After(to) {
				sum += c.stats.CPUPercent
				n++
			}
		}
		want := 100 * share
		if n < 3 || want <= 0 {
			t.Logf("%d samples in the window, the burner used %.1f %%", n, want)
			return false
		}
		got := sum / float64(n)
		if math.Abs(got-want) > 1+0.1*want {
			t.Logf("CPU %% over %d samples %.1f, the burner used %.1f %%", n, got, want)
			return false
		}
		t.Logf("CPU %% over %d samples %.1f; the burner used %.1f %% of a CPU", n, got, want)
		return true
	})
	if c := rec.snapshot(); !slices.ContainsFunc(c, func(c call) bool {
		return c.kind == "stats" && c.id == id && c.stats.MemUsage > 0 && c.stats.MemLimit > 0 && c.stats.PIDs > 0
	}) {
		t.Errorf("no memory or pids in the burner's samples")
	}

	// runc gives up freezing a cgroup whose tasks a busy host keeps
	// running ("unable to freeze") and thaws it again; the Engine then
	// refuses the pause, and only a new attempt can tell.
	for attempt := 1; ; attempt++ {
		out, err := exec.Command("docker", "pause", id).CombinedOutput()
		if err == nil {
			break
		}
		if attempt == 5 || !strings.Contains(string(out), "unable to freeze") {
			t.Fatalf("docker pause %s: %v\n%s", id, err, out)
		}
		t.Logf("docker pause, attempt %d: %s", attempt, strings.TrimSpace(string(out)))
	}
	state("paused", func(c stream.Container) bool { return strings.HasSuffix(c.Status, "(Paused)") })
	if s.StatsSources()[id] != "api" {
		t.Errorf("paused container lost its stats stream")
	}
	docker(t, "unpause", id)
	state("running", nil)

	docker(t, "stop", "-t", "10", id)
	state("exited", func(c stream.Container) bool {
		return c.ExitCode == 3 && !c.FinishedAt.IsZero() && strings.HasPrefix(c.Status, "Exited (3) ")
	})
	waitFor(t, "stats stream closed", func() bool { _, ok := s.StatsSources()[id]; return !ok })

	docker(t, "rm", id)
	waitFor(t, "remove", func() bool {
		return rec.count(func(c call) bool { return c.kind == "remove" && c.id == id }) == 1
	})

	// Every lifecycle event reached the sink, in the Engine's order.
	var actions []string
	for _, c := range rec.snapshot() {
		if c.kind == "event" && c.ev.Actor.ID == id && c.ev.Type == "container" {
			actions = append(actions, string(c.ev.Action))
		}
	}
	for _, want := range [][]string{{"create", "start"}, {"start", "pause"}, {"pause", "unpause"}, {"unpause", "kill"}, {"kill", "die"}, {"die", "destroy"}} {
		i, j := slices.Index(actions, want[0]), slices.Index(actions, want[1])
		if i < 0 || j < 0 || i > j {
			t.Errorf("events %v: want %s before %s", actions, want[0], want[1])
		}
	}

	stop()
}
