package e2e

// Issue "faults, load and bad input": container churn under many watchers.
// It runs on a private dockerd (see privdockerd_test.go) so that the
// streamer sees only this test's containers: its Engine connections, fds
// and goroutines then have exact baselines, and 500 containers do not load
// the Engine other tests time against.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// fltChurnDefault is how many containers TestChurn500 runs through their whole
// life; DLIVE_E2E_CHURN overrides it.
const fltChurnDefault = 500

// fltChurnBudget bounds the churn's wall time: on a machine too slow for
// all of them, the test goes on with the containers done by then.
const fltChurnBudget = 100 * time.Second

// fltChurnMin is the fewest containers that make the test meaningful.
const fltChurnMin = 50

// fltChurnKeepEvery keeps every n-th container alive at the end, in one of
// three states, so that the final comparison is not of two empty sets.
const fltChurnKeepEvery = 25

// fltChurnSample is what is measured of the streamer at one moment.
type fltChurnSample struct {
	fltProcStats
	Engine int // connections to the Engine
}

func fltChurnMeasure(t testing.TB, pid int) fltChurnSample {
	t.Helper()
	p, err := fltProc(pid)
	if err != nil {
		t.Fatalf("reading /proc of the streamer: %v", err)
	}
	e, err := fltOutboundUnixConns(pid)
	if err != nil {
		t.Fatalf("counting the streamer's Engine connections: %v", err)
	}
	return fltChurnSample{p, e}
}

// TestChurn500 creates, starts and removes 500 containers (8 at a time,
// within fltChurnBudget) while 10 WebSocket clients and 2 `watch --format
// json` follow. Every client must end with docker ps' state, and once the
// containers are gone the streamer must be back at its baseline: Engine
// connections, fds, memory, and (from a goroutine dump) no stats stream or
// connection left.
func TestChurn500(t *testing.T) {
	t.Parallel()
	n := fltChurnDefault
	if v := os.Getenv("DLIVE_E2E_CHURN"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < fltChurnKeepEvery {
			t.Fatalf("DLIVE_E2E_CHURN=%q: want a number of at least %d", v, fltChurnKeepEvery)
		}
	}
	env, _ := fltConfig(t, "")
	d := fltNewDaemon(t, env)
	s := fltServe(t, env, d.global())
	label := "dle2e-churn=" + runID

	run := func() (string, error) {
		args := append(d.global(), "run", "-d", "--network", "none", "--no-healthcheck", "--label", label, "--label", runLabel, imageRef)
		stdout, stderr, code := dockerTryEnv(t, env, args...)
		if code != 0 {
			return "", fmt.Errorf("docker run: %s", strings.TrimSpace(stderr))
		}
		return strings.TrimSpace(stdout), nil
	}
	try := func(args ...string) error {
		if _, stderr, code := dockerTryEnv(t, env, append(d.global(), args...)...); code != 0 {
			return fmt.Errorf("docker %s: %s", strings.Join(args, " "), strings.TrimSpace(stderr))
		}
		return nil
	}

	// Warm up: a few lives first, so that the baseline holds the idle
	// Engine connections the streamer's HTTP client keeps after bursts.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if id, err := run(); err == nil {
				_ = try("rm", "-f", id)
			}
		})
	}
	wg.Wait()

	var clients []*fltClient
	for i := range 10 {
		clients = append(clients, fltOpen(t, fmt.Sprintf("ws%d", i), s.Socket, stream.Subscription{}, nil))
	}
	var watches []*Proc
	var sinks []*fltLineSink
	for range 2 {
		p := startDockerEnv(t, env, append(d.global(), "live", "watch", "--format", "json", "-a")...)
		watches = append(watches, p)
		sinks = append(sinks, fltDrain(p))
	}
	eventually(t, 20*time.Second, func() error {
		if n := fltHealthInt(t, s.Socket, "clients"); n != 12 {
			return fmt.Errorf("the streamer counts %d clients, want 12", n)
		}
		if n := fltHealthInt(t, s.Socket, "containers"); n != 0 {
			return fmt.Errorf("the streamer still holds %d containers after the warm-up", n)
		}
		return nil
	})
	base := fltChurnMeasure(t, s.PID)
	t.Logf("baseline: %d fds, %d threads, %d KiB RSS, %d Engine connections", base.FDs, base.Threads, base.RSSKB, base.Engine)

	rss := benchSampleRSS(s.PID)
	var peakEngine atomic.Int64
	sampling := make(chan struct{})
	var samplerWG sync.WaitGroup
	samplerWG.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			if e, err := fltOutboundUnixConns(s.PID); err == nil && int64(e) > peakEngine.Load() {
				peakEngine.Store(int64(e))
			}
			select {
			case <-sampling:
				return
			case <-tick.C:
			}
		}
	})

	// Jobs are claimed in order, so the containers processed are always
	// 0..done-1, whether all n ran or the budget stopped the churn early.
	started := time.Now()
	var next atomic.Int64
	var failures atomic.Int64
	var firstErr sync.Once
	var churnErr error
	fail := func(err error) {
		failures.Add(1)
		firstErr.Do(func() { churnErr = err })
	}
	for range 8 {
		wg.Go(func() {
			for time.Since(started) < fltChurnBudget {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				id, err := run()
				if err != nil {
					fail(err)
					continue
				}
				if i%fltChurnKeepEvery != 0 {
					if err := try("rm", "-f", id); err != nil {
						fail(err)
					}
					continue
				}
				switch (i / fltChurnKeepEvery) % 3 {
				case 1:
					err = try("pause", id)
				case 2:
					err = try("stop", "-t", "0", id)
				}
				if err != nil {
					fail(err)
				}
			}
		})
	}
	wg.Wait()
	churnTime := time.Since(started)
	close(sampling)
	samplerWG.Wait()
	done := min(int(next.Load()), n)
	t.Logf("churned %d of %d containers in %v (%.1f/s); peak %d Engine connections", done, n, churnTime.Round(time.Millisecond), float64(done)/churnTime.Seconds(), peakEngine.Load())
	if done < n {
		t.Logf("the %v budget ran out after %d containers: this machine churns too slowly for %d", fltChurnBudget, done, n)
	}
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d docker commands failed during the churn, the first: %v", f, churnErr)
	}
	if done < fltChurnMin {
		t.Fatalf("only %d containers were churned within %v; at least %d are needed for the checks to mean anything", done, fltChurnBudget, fltChurnMin)
	}

	want := fltPSStates(t, env, d.global(), "label="+label)
	kept := (done + fltChurnKeepEvery - 1) / fltChurnKeepEvery
	if len(want) != kept {
		t.Fatalf("docker ps lists %d labelled containers after the churn, want the %d kept", len(want), kept)
	}
	collected := 0
	for _, st := range want {
		if st == "running" || st == "paused" {
			collected++
		}
	}
	eventually(t, 60*time.Second, func() error {
		for _, c := range clients {
			if diff := fltDiffStates(c.states(), want); diff != "" {
				return fmt.Errorf("client %s differs from docker ps: %s", c.name, diff)
			}
		}
		for i, sink := range sinks {
			last := sink.lastStates()
			for id, st := range want {
				if last[id] != st {
					return fmt.Errorf("watch %d last printed %.12s as %q, docker ps says %q; stderr: %s", i, id, last[id], st, watches[i].Stderr())
				}
			}
		}
		return nil
	})
	for _, c := range clients {
		if err := c.ended(); err != nil {
			t.Errorf("client %s was disconnected during the churn: %v", c.name, err)
		}
		if p := c.problemsCopy(); len(p) > 0 {
			t.Errorf("client %s: the stream broke its contract: %v", c.name, p)
		}
	}
	for i, p := range watches {
		if p.Exited() {
			t.Errorf("watch %d exited during the churn; stderr: %s", i, p.Stderr())
		}
		t.Logf("watch %d printed %d rows; stderr: %q", i, sinks[i].count(), p.Stderr())
	}
	// A one-shot watch answers from the warm streamer's cache.
	once := fltDockerEnv(t, env, append(d.global(), "live", "watch", "--no-stream", "--format", "json", "-a")...)
	var onceSink fltLineSink
	onceSink.lines = strings.Split(once, "\n")
	if diff := fltDiffStates(onceSink.lastStates(), want); diff != "" {
		t.Errorf("watch --no-stream differs from docker ps: %s", diff)
	}
	eventually(t, 20*time.Second, func() error {
		h, err := fltHealth(s.Socket)
		if err != nil {
			return err
		}
		total := 0
		if m, ok := h["stats_sources"].(map[string]any); ok {
			for _, v := range m {
				f, _ := v.(float64)
				total += int(f)
			}
		}
		if total != collected {
			return fmt.Errorf("the streamer collects stats of %d containers, want the %d running or paused", total, collected)
		}
		return nil
	})

	// Now remove the kept ones too: everything must return to the baseline.
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	if err := try(append([]string{"rm", "-f"}, ids...)...); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		for _, c := range clients {
			if st := c.states(); len(st) != 0 {
				return fmt.Errorf("client %s still holds %d containers after all were removed", c.name, len(st))
			}
		}
		return nil
	})
	var last fltChurnSample
	eventually(t, 45*time.Second, func() error {
		last = fltChurnMeasure(t, s.PID)
		switch {
		case last.Engine > base.Engine+2:
			return fmt.Errorf("%d Engine connections, baseline %d (+2 idle allowed)", last.Engine, base.Engine)
		case last.FDs > base.FDs+2:
			return fmt.Errorf("%d fds, baseline %d (+2 idle allowed)", last.FDs, base.FDs)
		case last.RSSKB > base.RSSKB+10<<10:
			return fmt.Errorf("RSS %d KiB, baseline %d KiB (+10 MiB allowed)", last.RSSKB, base.RSSKB)
		}
		return nil
	})
	peak := rss.PeakKiB()
	t.Logf("after: %d fds, %d threads, %d KiB RSS (peak %d KiB), %d Engine connections", last.FDs, last.Threads, last.RSSKB, peak, last.Engine)
	// Go never returns threads to the OS, so the count only shows that no
	// thread per container or connection was made.
	if last.Threads > base.Threads+32 {
		t.Errorf("the streamer has %d threads, %d at the baseline", last.Threads, base.Threads)
	}

	// The exact check: with every client gone, no goroutine of a stats
	// stream, an inspect or a connection may be left.
	for _, c := range clients {
		c.Close()
	}
	for _, p := range watches {
		p.Kill()
	}
	eventually(t, 20*time.Second, func() error {
		if n := fltHealthInt(t, s.Socket, "clients"); n != 0 {
			return fmt.Errorf("the streamer still counts %d clients after all left", n)
		}
		return nil
	})
	stacks := fltGoroutineDump(t, s)
	leaks := map[string]int{}
	for _, fn := range []string{
		"source.(*apiCollector).run",
		"source.(*apiCollector).read",
		"source.(*Source).inspectWorker",
		"server.(*conn).run",
		"server.(*conn).writePump",
	} {
		if k := fltCountStacks(stacks, fn); k > 0 {
			leaks[fn] = k
		}
	}
	// One HTTP connection carries the event stream; the client may keep
	// two more idle.
	if k := fltCountStacks(stacks, "net/http.(*persistConn).readLoop"); k > base.Engine+2 {
		leaks["net/http.(*persistConn).readLoop"] = k
	}
	t.Logf("goroutines at the end: %d", len(stacks))
	if len(leaks) > 0 {
		t.Errorf("goroutines left after every container and client was gone: %v", leaks)
	}
	if len(stacks) > 40 {
		t.Errorf("%d goroutines left with no container and no client; the first ones:\n%s", len(stacks), strings.Join(stacks[:min(5, len(stacks))], "\n\n"))
	}
}

// fltDockerEnv is dockerCmd with extra environment entries.
func fltDockerEnv(t testing.TB, env []string, args ...string) string {
	t.Helper()
	stdout, stderr, code := dockerTryEnv(t, env, args...)
	if code != 0 {
		t.Fatalf("docker %s: exit code %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr))
	}
	return strings.TrimSpace(stdout)
}
