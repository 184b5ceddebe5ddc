package e2e

// Issue 10: the streamer's stats history (the history message of the
// stream protocol) and GET /v1/snapshot, against the real Engine. These
// tests restart the context's streamer, so none is parallel.

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// TestHistoryLateClientSeesTheBurnersPast starts a container capped with
// --cpus 0.5 that burns a whole CPU, attaches a client 20 s later, and
// checks the history it gets first: at least 15 one-second samples near
// 50 %, and the same numbers the live stats messages carried. Once per
// stats source.
func TestHistoryLateClientSeesTheBurnersPast(t *testing.T) {
	t.Cleanup(func() { stopStreamers(t) })
	for _, source := range []string{"cgroup", "api"} {
		t.Run(source, func(t *testing.T) {
			st := freshStreamer(t, "--stats-source", source)
			burner := runHelper(t, HelperOpts{RunArgs: []string{"--cpus", "0.5"}, Args: []string{"cpu", "--share", "1"}})
			started := time.Now()
			// The kernel's own account of the burner's CPU, to tell a wrong
			// history from a host too busy to give the burner its half CPU.
			pid := inspectState(t, burner.ID).Pid
			cpu0, cpuOK := cgroupCPUTime(pid)
			wall0 := time.Now()

			// A watcher from the start records the live stats, to compare
			// the history with what was sent live.
			live := map[time.Time]float64{} // stats message time -> the burner's CPU %
			watcher := dialStreamer(t, st.Socket)
			watcher.subscribe(t, stream.Subscription{Topics: []string{stream.TopicStats}, Filter: stream.ContainerFilter{IDs: []string{burner.ID}}})
			watcher.hello(t)

			// The test is about a client that attaches late: this wait is
			// the scenario itself, not a guess at how long something takes.
			attach := started.Add(20 * time.Second)
			watcher.collect(t, 40*time.Second, "live stats until 20 s after the burner started", func(m wsMsg) bool {
				if m.Type == stream.TypeStats {
					for _, s := range m.Stats {
						live[m.Time] = s.CPUPercent
					}
				}
				return time.Now().After(attach)
			})

			c := dialStreamer(t, st.Socket)
			c.subscribe(t, stream.Subscription{Filter: stream.ContainerFilter{IDs: []string{burner.ID}}, History: stream.HistoryRequest{Want: true}})
			hello := c.hello(t)
			if hello.Hello.History != "5m0s" {
				t.Errorf("hello.history = %q, want the default 5m0s", hello.Hello.History)
			}
			if m := c.next(t, 10*time.Second); m.Type != stream.TypeSnapshot {
				t.Fatalf("frame after hello is %s, want snapshot", m.Type)
			}
			m := c.next(t, 10*time.Second)
			if m.Type != stream.TypeHistory || m.History == nil {
				t.Fatalf("frame after the snapshot is %s, want history: %.300s", m.Type, m.Raw)
			}
			if len(m.History.Containers) != 1 || m.History.Containers[0].ID != burner.ID {
				t.Fatalf("history of %d containers, want only the burner's", len(m.History.Containers))
			}
			h := m.History.Containers[0]
			step, err := time.ParseDuration(m.History.Step)
			if err != nil || step != time.Second {
				t.Fatalf("history step %q, want 1s", m.History.Step)
			}
			cpu1, _ := cgroupCPUTime(pid)
			kernel := 100 * float64(cpu1-cpu0) / float64(time.Since(wall0))
			var samples, inRange int
			var sum float64
			for _, v := range h.CPUPercent {
				if math.IsNaN(v) {
					continue
				}
				samples++
				sum += v
				if v >= 35 && v <= 65 {
					inRange++
				}
			}
			load, _ := os.ReadFile("/proc/loadavg")
			t.Logf("history frame %d bytes, %d samples from %s, CPU %%: %.1f; the kernel's account over the same time: %.1f %% (host load %s)",
				len(m.Raw), samples, h.Start.Format(time.TimeOnly), h.CPUPercent, kernel, strings.TrimSpace(string(load)))
			if samples < 15 {
				t.Errorf("%d history samples of the burner 20 s after it started, want at least 15", samples)
			}
			switch mean := sum / float64(max(samples, 1)); {
			case !cpuOK:
				t.Logf("the burner's cgroup CPU account is not readable here; checking the history alone")
				fallthrough
			case kernel >= 40:
				// The host gave the burner its half CPU, so the history must
				// show it.
				if inRange < 15 {
					t.Errorf("%d history samples with CPU between 35 and 65 %%, want at least 15 (of %d)", inRange, samples)
				}
			default:
				// A host this busy starves the burner below its cap; no
				// correct history can then show 35-65 %. It must still show
				// what the burner got.
				t.Logf("the host gave the burner only %.1f %% of a CPU: checking the history against that instead of 35-65 %%", kernel)
				if math.Abs(mean-kernel) > max(5, kernel/4) {
					t.Errorf("history's mean CPU %.1f %% is far from the kernel's %.1f %% over the same time", mean, kernel)
				}
			}
			if last := len(h.MemUsage) - 1; last < 0 || h.MemUsage[last] == 0 || h.MemLimit[last] == 0 || h.PIDs[last] == 0 {
				t.Errorf("the newest history sample has empty memory or pids: mem %v limit %v pids %v", h.MemUsage, h.MemLimit, h.PIDs)
			}

			// The same numbers as live: every live batch's sample is the
			// history's sample at that batch's slot.
			compared := 0
			for at, cpu := range live {
				i := int(math.Round(float64(at.Sub(h.Start)) / float64(step)))
				if i < 0 || i >= len(h.CPUPercent) {
					continue
				}
				compared++
				if h.CPUPercent[i] != cpu {
					t.Errorf("live stats at %s had CPU %v, history slot %d has %v", at.Format(time.TimeOnly), cpu, i, h.CPUPercent[i])
				}
			}
			if compared < 10 {
				t.Errorf("only %d live batches fall in the history window, want at least 10", compared)
			}

			// Then live stats follow, as without history.
			c.waitMsg(t, 10*time.Second, "live stats after the history", func(m wsMsg) bool {
				if m.Type == stream.TypeHistory {
					t.Errorf("a second history message")
				}
				return m.Type == stream.TypeStats
			})
		})
	}
}

// TestHistorySnapshotEndpoint reads GET /v1/snapshot with curl, over the
// Unix socket and over TCP, where it needs the token like the stream.
func TestHistorySnapshotEndpoint(t *testing.T) {
	st := freshStreamer(t, "--listen", "127.0.0.1:0")
	t.Cleanup(func() { stopStreamers(t) })
	label := testLabel(t)
	running := []Container{runHelper(t, HelperOpts{}), runHelper(t, HelperOpts{})}
	stopped := runHelper(t, HelperOpts{Args: []string{"exit", "--code", "3"}})
	waitState(t, stopped.ID, 30*time.Second, "exited", func(s ContainerState) bool { return s.Status == "exited" })

	curl := func(args ...string) (int, []byte) {
		t.Helper()
		out, err := commandOutput(30*time.Second, nil, append([]string{"curl", "-sS", "-o", "-", "-w", "\n%{http_code}"}, args...)...)
		if err != nil {
			t.Fatalf("curl %s: %v: %s", strings.Join(args, " "), err, out)
		}
		// -w puts the status on a line of its own after the body.
		i := strings.LastIndex(out, "\n")
		status, err := strconv.Atoi(strings.TrimSpace(out[i+1:]))
		if err != nil {
			t.Fatalf("curl %s: no status in %q", strings.Join(args, " "), out)
		}
		return status, []byte(out[:max(i, 0)])
	}
	ids := func(doc stream.SnapshotDocument) []string {
		var out []string
		for _, c := range doc.Snapshot.Containers {
			out = append(out, c.ID)
		}
		slices.Sort(out)
		return out
	}
	wantIDs := func(cs ...Container) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		slices.Sort(out)
		return out
	}
	q := "label=" + url.QueryEscape(label)
	var doc stream.SnapshotDocument
	eventually(t, 15*time.Second, func() error {
		status, body := curl("--unix-socket", st.Socket, "http://docker-live/v1/snapshot?"+q)
		doc = stream.SnapshotDocument{}
		if status != 200 {
			return fmt.Errorf("curl --unix-socket: status %d: %s", status, body)
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return fmt.Errorf("not JSON: %v: %.300s", err, body)
		}
		if got, want := ids(doc), wantIDs(running...); !slices.Equal(got, want) {
			return fmt.Errorf("snapshot lists %v, want the running labelled containers %v", got, want)
		}
		for _, c := range doc.Snapshot.Containers {
			if c.Stats == nil {
				return fmt.Errorf("%s has no stats yet", c.Name)
			}
		}
		return nil
	})
	if doc.Epoch == "" || doc.Seq == 0 || doc.Snapshot.Engine.State != stream.EngineConnected {
		t.Errorf("document position or engine missing: epoch %q seq %d engine %+v", doc.Epoch, doc.Seq, doc.Snapshot.Engine)
	}
	status, body := curl("--unix-socket", st.Socket, "http://docker-live/v1/snapshot?"+q+"&all=1&history=2m")
	doc = stream.SnapshotDocument{}
	if err := json.Unmarshal(body, &doc); status != 200 || err != nil {
		t.Fatalf("all=1&history=2m: status %d, %v: %.300s", status, err, body)
	}
	if got, want := ids(doc), wantIDs(append(running, stopped)...); !slices.Equal(got, want) {
		t.Errorf("all=1 lists %v, want %v", got, want)
	}
	if doc.History == nil || doc.History.Step != "1s" {
		t.Errorf("history=2m: history %+v", doc.History)
	}
	status, body = curl("--unix-socket", st.Socket, "http://docker-live/v1/snapshot?label=%3Dbad")
	var errMsg stream.Message
	if err := json.Unmarshal(body, &errMsg); status != 400 || err != nil || errMsg.Error == nil || errMsg.Error.Code != "bad_filter" {
		t.Errorf("a bad label filter: status %d: %s, want 400 with code bad_filter", status, body)
	}

	// TCP: the stream's checks.
	base := "http://" + st.Listen + "/v1/snapshot?" + q
	if status, body := curl(base); status != 401 {
		t.Errorf("over TCP without a token: status %d (%s), want 401", status, body)
	}
	token := fltToken(t, st.Dir())
	if status, body := curl("-H", "Authorization: Bearer "+token, "-H", "Origin: https://evil.example", base); status != 403 {
		t.Errorf("over TCP with a foreign Origin: status %d (%s), want 403", status, body)
	}
	status, body = curl("-H", "Authorization: Bearer "+token, base)
	doc = stream.SnapshotDocument{}
	if err := json.Unmarshal(body, &doc); status != 200 || err != nil || !slices.Equal(ids(doc), wantIDs(running...)) {
		t.Errorf("over TCP with the token: status %d, %v: %.300s", status, err, body)
	}
}

// cgroupCPUTime is the CPU time the kernel accounted to the cgroup of the
// process pid (a container's init), from cgroup v1's cpuacct.usage or v2's
// cpu.stat. ok is false when neither can be read from here.
func cgroupCPUTime(pid int) (time.Duration, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if slices.Contains(strings.Split(parts[1], ","), "cpuacct") {
			for _, dir := range []string{"cpuacct", "cpu,cpuacct"} {
				if v, err := os.ReadFile("/sys/fs/cgroup/" + dir + parts[2] + "/cpuacct.usage"); err == nil {
					ns, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
					return time.Duration(ns), err == nil
				}
			}
		}
		if parts[0] == "0" && parts[1] == "" {
			if v, err := os.ReadFile("/sys/fs/cgroup" + parts[2] + "/cpu.stat"); err == nil {
				for _, l := range strings.Split(string(v), "\n") {
					if us, ok := strings.CutPrefix(l, "usage_usec "); ok {
						n, err := strconv.ParseInt(us, 10, 64)
						return time.Duration(n) * time.Microsecond, err == nil
					}
				}
			}
		}
	}
	return 0, false
}
