package e2e

// Issue "streamer": `docker live serve/status/stop` and the streamer's
// WebSocket protocol, seen by a test client on its Unix socket (and TCP).
// These tests stop and start the context's streamer, so none is parallel.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/stream"
)

// streamerStatus is one line of `docker live status --format json`.
type streamerStatus struct {
	Context    string `json:"context"`
	Endpoint   string `json:"endpoint"`
	PID        int    `json:"pid"`
	Clients    int    `json:"clients"`
	Containers int    `json:"containers"`
	Socket     string `json:"socket"`
	Listen     string `json:"listen"`
	Log        string `json:"log"`
	TokenFile  string `json:"token_file"`
	Version    string `json:"version"`
	Engine     string `json:"engine"`
}

// Dir is the streamer's state folder.
func (s streamerStatus) Dir() string { return filepath.Dir(s.Socket) }

// liveStatus lists the running streamers of this run's DOCKER_CONFIG.
func liveStatus(t testing.TB) []streamerStatus {
	t.Helper()
	out := dockerCmd(t, "live", "status", "--format", "json")
	var list []streamerStatus
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var s streamerStatus
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("docker live status --format json: line is not JSON: %v: %s", err, line)
		}
		list = append(list, s)
	}
	return list
}

// onlyStreamer waits until exactly one streamer runs and returns it.
func onlyStreamer(t testing.TB) streamerStatus {
	t.Helper()
	var list []streamerStatus
	eventually(t, 10*time.Second, func() error {
		list = liveStatus(t)
		if len(list) != 1 {
			return fmt.Errorf("docker live status lists %d streamers, want 1: %+v", len(list), list)
		}
		return nil
	})
	return list[0]
}

// startStreamer makes sure the context's streamer runs (starting one with
// extra serve flags when none does) and returns its status once the
// streamer has its Engine connection. (It reports ready before that; tests
// of readiness itself do not use this.)
func startStreamer(t testing.TB, extra ...string) streamerStatus {
	t.Helper()
	done := beginCreate(t)
	dockerCmd(t, append([]string{"live", "serve", "--detach"}, extra...)...)
	done()
	st := onlyStreamer(t)
	eventually(t, 10*time.Second, func() error {
		if eng, _ := healthOver(t, st.Socket)["engine"].(map[string]any); eng["state"] != stream.EngineConnected {
			return fmt.Errorf("streamer's engine = %v, want connected", eng)
		}
		return nil
	})
	return st
}

// freshStreamer stops any streamer and starts a new one with extra flags.
func freshStreamer(t testing.TB, extra ...string) streamerStatus {
	t.Helper()
	stopStreamers(t)
	return startStreamer(t, extra...)
}

// stopStreamers stops every streamer of this run and waits until none is
// listed.
func stopStreamers(t testing.TB) {
	t.Helper()
	dockerCmd(t, "live", "stop", "--all")
	waitFor(t, 10*time.Second, "no streamer listed after docker live stop --all", func() bool {
		return len(liveStatus(t)) == 0
	})
}

// processGone reports whether pid has exited (a zombie counts as exited:
// its parent may reap it later).
func processGone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// serveProcesses returns the pids of this run's live streamers (the
// streamer binary, or the plugin's `serve` where it serves in-process):
// both binaries are unique to the run, so no other run's streamer counts.
func serveProcesses() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		isStreamer := len(argv) > 0 && (argv[0] == streamerPath || argv[0] == pluginPath && slices.Contains(argv, "serve"))
		if !isStreamer || processGone(pid) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// healthOver fetches /v1/health over the streamer's Unix socket.
func healthOver(t testing.TB, socket string) map[string]any {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: unixDialer(socket)}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://docker-live" + stream.HealthPath)
	if err != nil {
		t.Fatalf("GET %s over %s: %v", stream.HealthPath, socket, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", stream.HealthPath, resp.Status, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("GET %s: not JSON: %v: %s", stream.HealthPath, err, body)
	}
	return m
}

// streamerClients is the streamer's count of open stream connections.
func streamerClients(t testing.TB, socket string) int {
	t.Helper()
	n, _ := healthOver(t, socket)["clients"].(float64)
	return int(n)
}

var currentContextOnce = sync.OnceValues(func() (string, error) {
	return commandOutput(30*time.Second, dockerEnv(nil), "docker", "context", "show")
})

func currentContext(t testing.TB) string {
	t.Helper()
	name, err := currentContextOnce()
	if err != nil {
		t.Fatalf("docker context show: %v: %s", err, name)
	}
	return name
}

// engineClient is a direct Engine API client for generating load quickly;
// what the product shows is still read through the docker CLI or its socket.
func engineClient(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatalf("Engine API client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// subscribeSnapshot opens a connection, subscribes with sub and returns its
// hello and snapshot; the connection is closed before returning.
func subscribeSnapshot(t testing.TB, socket string, sub stream.Subscription) (hello, snap wsMsg) {
	t.Helper()
	c := dialStreamer(t, socket)
	defer c.Close()
	c.subscribe(t, sub)
	hello = c.hello(t)
	snap = c.next(t, 10*time.Second)
	if snap.Type != stream.TypeSnapshot || snap.Snapshot == nil {
		t.Fatalf("frame after hello is not a snapshot: %.300s", snap.Raw)
	}
	return hello, snap
}

func TestStreamerSnapshotHasLabelledContainers(t *testing.T) {
	st := startStreamer(t)
	running := runHelper(t, HelperOpts{})
	created := runHelper(t, HelperOpts{Create: true})
	exited := runHelper(t, HelperOpts{Args: []string{"exit", "--code", "0"}})
	waitState(t, exited.ID, 30*time.Second, "exited", func(s ContainerState) bool { return s.Status == "exited" })
	wantState := map[string]string{running.ID: "running", created.ID: "created", exited.ID: "exited"}
	label := testLabel(t)

	// The streamer learns of a container from its Engine event, a moment
	// after docker run returns; allow for that, then demand an exact set.
	var hello, snap wsMsg
	start := time.Now()
	eventually(t, 10*time.Second, func() error {
		hello, snap = subscribeSnapshot(t, st.Socket, stream.Subscription{Filter: stream.ContainerFilter{Labels: []string{label}}})
		got := map[string]string{}
		for _, c := range snap.Snapshot.Containers {
			got[c.ID] = c.State
		}
		if len(got) != len(wantState) {
			return fmt.Errorf("filtered snapshot has containers %v, want exactly %v", got, wantState)
		}
		for id, state := range wantState {
			if got[id] != state {
				return fmt.Errorf("filtered snapshot has containers %v, want exactly %v", got, wantState)
			}
		}
		return nil
	})
	t.Logf("filtered snapshot complete %v after the last container was ready", time.Since(start).Round(time.Millisecond))
	if hello.Hello.Server != pluginVersion {
		t.Errorf("hello.server = %q, want %q", hello.Hello.Server, pluginVersion)
	}
	if want := currentContext(t); hello.Hello.Context != want {
		t.Errorf("hello.context = %q, want %q", hello.Hello.Context, want)
	}
	if hello.Hello.Resumed {
		t.Errorf("hello.resumed = true for a subscribe without since")
	}
	if snap.Snapshot.Resync {
		t.Errorf("snapshot.resync = true for a subscribe without since")
	}
	if snap.Snapshot.Engine.State != stream.EngineConnected {
		t.Errorf("snapshot.engine = %+v, want connected", snap.Snapshot.Engine)
	}
	if snap.Epoch != hello.Epoch || snap.Seq != hello.Seq {
		t.Errorf("snapshot at %s/%d, hello at %s/%d: want the same position", snap.Epoch, snap.Seq, hello.Epoch, hello.Seq)
	}
	for _, c := range snap.Snapshot.Containers {
		if !strings.HasPrefix(c.Name, "dle2e-") || c.Image != imageRef || c.Labels[labelRun] != runID {
			t.Errorf("snapshot container %.12s: name %q image %q labels %v: want this run's helper", c.ID, c.Name, c.Image, c.Labels)
		}
	}

	_, all := subscribeSnapshot(t, st.Socket, stream.Subscription{})
	ids := snapshotIDs(all)
	for id := range wantState {
		if !slices.Contains(ids, id) {
			t.Errorf("unfiltered snapshot (%d containers) lacks %.12s", len(ids), id)
		}
	}
	if len(ids) < len(wantState) {
		t.Errorf("unfiltered snapshot has %d containers, fewer than the %d labelled ones", len(ids), len(wantState))
	}
}

func TestStreamerLifecycleReachesClient(t *testing.T) {
	st := startStreamer(t)
	c := runHelper(t, HelperOpts{})
	h := runHelper(t, HelperOpts{Health: true})
	waitState(t, h.ID, 30*time.Second, "healthy", func(s ContainerState) bool { return s.HealthStatus() == "healthy" })

	cl := dialStreamer(t, st.Socket)
	// Events are not filtered by the container filter: both arrive here.
	cl.subscribe(t, stream.Subscription{Filter: stream.ContainerFilter{Labels: []string{testLabel(t)}}})
	cl.hello(t)
	cl.waitMsg(t, 10*time.Second, "the snapshot", func(m wsMsg) bool { return m.Type == stream.TypeSnapshot })

	containerIs := func(id string, ok func(*stream.Container) bool) func(wsMsg) bool {
		return func(m wsMsg) bool {
			return m.Type == stream.TypeContainer && m.Container != nil && m.Container.ID == id && ok(m.Container)
		}
	}
	state := func(id, s string) func(wsMsg) bool {
		return containerIs(id, func(c *stream.Container) bool { return c.State == s })
	}
	steps := []struct {
		name   string
		args   []string
		id     string
		event  string // the Engine action whose time the latency counts from
		arrive func(wsMsg) bool
	}{
		{"pause", []string{"pause", c.ID}, c.ID, "pause", state(c.ID, "paused")},
		{"unpause", []string{"unpause", c.ID}, c.ID, "unpause", state(c.ID, "running")},
		{"stop", []string{"stop", "-t", "10", c.ID}, c.ID, "die", state(c.ID, "exited")},
		{"start", []string{"start", c.ID}, c.ID, "start", state(c.ID, "running")},
		{"kill", []string{"kill", c.ID}, c.ID, "die", containerIs(c.ID, func(c *stream.Container) bool {
			return c.State == "exited" && c.ExitCode == 137
		})},
		{"health flip", []string{"exec", h.ID, "/helper", "flip", "unhealthy"}, h.ID, "health_status: unhealthy",
			containerIs(h.ID, func(c *stream.Container) bool { return c.State == "running" && c.Health == "unhealthy" })},
		{"rm", []string{"rm", c.ID}, c.ID, "destroy", func(m wsMsg) bool {
			return m.Type == stream.TypeRemove && m.Remove != nil && m.Remove.ID == c.ID && m.Remove.Name == c.Name
		}},
	}
	var lat []time.Duration
	for _, s := range steps {
		before := time.Now().UnixNano()
		dockerCmd(t, s.args...)
		var ev, msg *wsMsg
		cl.collect(t, 20*time.Second, fmt.Sprintf("%s: the %q event and the container/remove message", s.name, s.event), func(m wsMsg) bool {
			switch {
			case ev == nil && eventOf(m, s.id, s.event) && m.Event.TimeNano >= before:
				ev = &m
			case msg == nil && s.arrive(m):
				msg = &m
			}
			return ev != nil && msg != nil
		})
		engineAt := time.Unix(0, ev.Event.TimeNano)
		d := msg.At.Sub(engineAt)
		t.Logf("%-11s %-9s message %8v after the Engine's %q event (event frame after %v)", s.name, msg.Type,
			d.Round(time.Microsecond), s.event, ev.At.Sub(engineAt).Round(time.Microsecond))
		if d < 0 || d > 5*time.Second {
			t.Errorf("%s: %s message arrived %v after the Engine event, want within 5s", s.name, msg.Type, d)
		}
		lat = append(lat, d)
	}
	t.Logf("lifecycle latency (Engine event time to WebSocket receipt): %s", latencySummary(lat))
}

func TestStreamerStatsCPUHalfCore(t *testing.T) {
	st := startStreamer(t)
	b := runHelper(t, HelperOpts{Args: []string{"cpu", "--share", "0.5"}})
	cl := dialStreamer(t, st.Socket)
	cl.subscribe(t, stream.Subscription{Topics: []string{stream.TopicStats}, Filter: stream.ContainerFilter{IDs: []string{b.ID}}})
	cl.hello(t)

	// The first sample of a new container may cover a partial second. On a
	// busy host the burner gets less than its share for a while, so look
	// for a window of samples that settles, within a bound.
	const window, maxSamples = 5, 25
	var samples []stream.Stats
	var median float64
	settled := false
	cl.collect(t, 40*time.Second, fmt.Sprintf("%d stats samples of the burner", window+1), func(m wsMsg) bool {
		if m.Type == stream.TypeContainer || m.Type == stream.TypeSnapshot {
			t.Errorf("a stats-only subscription got a %s message", m.Type)
		}
		if m.Type != stream.TypeStats {
			return false
		}
		for _, s := range m.Stats {
			if s.ID != b.ID {
				t.Errorf("stats for %.12s reached a subscription filtered to %.12s", s.ID, b.ID)
				continue
			}
			if len(samples) > 0 && !s.Read.After(samples[len(samples)-1].Read) {
				continue
			}
			samples = append(samples, s)
		}
		if len(samples) < window+1 {
			return false
		}
		median = medianCPU(samples[len(samples)-window:])
		settled = median >= 40 && median <= 60
		return settled || len(samples) >= maxSamples
	})
	cpu := make([]float64, 0, len(samples))
	for _, s := range samples {
		cpu = append(cpu, s.CPUPercent)
	}
	t.Logf("CPU %% of a 0.5-CPU burner from stats messages: %.1f (median of the last %d: %.1f); mem %d B, pids %d",
		cpu, window, median, samples[len(samples)-1].MemUsage, samples[len(samples)-1].PIDs)
	if !settled {
		load, _ := os.ReadFile("/proc/loadavg")
		t.Errorf("no %d consecutive stats samples with a median CPU %% in 40-60 for a container burning half a CPU: %.1f (host load %s)",
			window, cpu, strings.TrimSpace(string(load)))
	}
	if last := samples[len(samples)-1]; last.MemUsage == 0 || last.MemLimit == 0 || last.PIDs == 0 {
		t.Errorf("last sample has empty fields: %+v", last)
	}
}

func medianCPU(samples []stream.Stats) float64 {
	cpu := make([]float64, 0, len(samples))
	for _, s := range samples {
		cpu = append(cpu, s.CPUPercent)
	}
	slices.Sort(cpu)
	return cpu[len(cpu)/2]
}

func TestStreamerResumeDeliversExactlyMissed(t *testing.T) {
	st := startStreamer(t)
	c := runHelper(t, HelperOpts{})
	cl := dialStreamer(t, st.Socket)
	// No topics and no filter: every sequenced message comes, so the seqs
	// must be consecutive.
	cl.subscribe(t, stream.Subscription{})
	cl.hello(t)
	var pos stream.Position
	snap := cl.waitMsg(t, 10*time.Second, "the snapshot", func(m wsMsg) bool { return m.Type == stream.TypeSnapshot })
	pos = stream.Position{Epoch: snap.Epoch, Seq: snap.Seq}
	dockerCmd(t, "pause", c.ID)
	dockerCmd(t, "unpause", c.ID)
	cl.collect(t, 10*time.Second, "the first unpause event", func(m wsMsg) bool {
		if isSequenced(m.Type) {
			if m.Seq != pos.Seq+1 {
				t.Fatalf("live stream: seq %d after %d", m.Seq, pos.Seq)
			}
			pos.Seq = m.Seq
		}
		return eventOf(m, c.ID, "unpause")
	})
	cl.Close()

	const cycles = 3
	for range cycles {
		dockerCmd(t, "pause", c.ID)
		dockerCmd(t, "unpause", c.ID)
	}
	cl2 := dialStreamer(t, st.Socket)
	cl2.subscribe(t, stream.Subscription{Since: &pos})
	h := cl2.hello(t)
	if !h.Hello.Resumed {
		t.Fatalf("hello.resumed = false after a reconnect with since %s/%d (hello at %s/%d)", pos.Epoch, pos.Seq, h.Epoch, h.Seq)
	}
	if h.Epoch != pos.Epoch {
		t.Fatalf("hello epoch %s, want %s", h.Epoch, pos.Epoch)
	}
	next := pos.Seq + 1
	counts := map[string]int{}
	var states []string
	cl2.collect(t, 15*time.Second, fmt.Sprintf("%d pause and unpause events of %.12s after the resume", cycles, c.ID), func(m wsMsg) bool {
		if m.Type == stream.TypeSnapshot {
			t.Fatalf("got a snapshot after a resumed hello: %.300s", m.Raw)
		}
		if !isSequenced(m.Type) {
			return false
		}
		if m.Seq != next {
			t.Fatalf("after resuming from %d: seq %d where %d was due (a message lost or repeated)", pos.Seq, m.Seq, next)
		}
		next++
		if m.Type == stream.TypeEvent && m.Event.Actor.ID == c.ID {
			counts[string(m.Event.Action)]++
		}
		if m.Type == stream.TypeContainer && m.Container.ID == c.ID {
			states = append(states, m.Container.State)
		}
		return counts["unpause"] >= cycles
	})
	t.Logf("resumed from seq %d: %d sequenced messages replayed and live up to seq %d; events of the container %v; its states %v",
		pos.Seq, next-1-pos.Seq, next-1, counts, states)
	if counts["pause"] != cycles || counts["unpause"] != cycles {
		t.Errorf("events of %.12s after the resume: %v, want %d pause and %d unpause", c.ID, counts, cycles, cycles)
	}
	if want := cycles * 2; len(states) != want {
		t.Errorf("container messages of %.12s after the resume: %v, want %d (paused/running alternating)", c.ID, states, want)
	}
}

func TestStreamerTCPGuards(t *testing.T) {
	st := freshStreamer(t, "--listen", "127.0.0.1:0")
	t.Cleanup(func() { stopStreamers(t) })
	if st.Listen == "" || strings.HasSuffix(st.Listen, ":0") {
		t.Fatalf("status listen = %q, want the bound loopback address", st.Listen)
	}
	if st.TokenFile == "" {
		t.Fatalf("status has no token_file: %+v", st)
	}
	fi, err := os.Stat(st.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(st.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(data))
	if len(token) < 32 {
		t.Fatalf("token %d characters long, want at least 32", len(token))
	}
	addr := st.Listen

	get := func(path string, mod func(*http.Request)) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if mod != nil {
			mod(req)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	httpCases := []struct {
		name string
		path string
		mod  func(*http.Request)
		want int
	}{
		{"no token", stream.HealthPath, nil, http.StatusUnauthorized},
		{"wrong token", stream.HealthPath, bearer(strings.Repeat("0", len(token))), http.StatusUnauthorized},
		{"wrong ?token=", stream.HealthPath + "?token=nope", nil, http.StatusUnauthorized},
		{"foreign Origin", stream.HealthPath, func(r *http.Request) {
			bearer(token)(r)
			r.Header.Set("Origin", "https://evil.example")
		}, http.StatusForbidden},
		{"Host evil.example", stream.HealthPath, func(r *http.Request) {
			bearer(token)(r)
			r.Host = "evil.example"
		}, http.StatusForbidden},
		{"Bearer token", stream.HealthPath, bearer(token), http.StatusOK},
		{"?token=", stream.HealthPath + "?token=" + url.QueryEscape(token), nil, http.StatusOK},
	}
	for _, c := range httpCases {
		code, body := get(c.path, c.mod)
		if code != c.want {
			t.Errorf("GET /v1/health with %s: status %d, want %d (%s)", c.name, code, c.want, strings.TrimSpace(string(body)))
		}
	}

	// The streamer says it is ready before its Engine connection is up;
	// give that a moment rather than read the first answer.
	var health map[string]any
	start := time.Now()
	eventually(t, 10*time.Second, func() error {
		code, body := get(stream.HealthPath, bearer(token))
		health = nil
		if code != http.StatusOK || json.Unmarshal(body, &health) != nil {
			return fmt.Errorf("GET /v1/health: %d %s", code, body)
		}
		if eng, _ := health["engine"].(map[string]any); eng["state"] != stream.EngineConnected {
			return fmt.Errorf("/v1/health engine = %v, want state connected", health["engine"])
		}
		return nil
	})
	t.Logf("/v1/health reports the Engine connected %v after serve --detach returned", time.Since(start).Round(time.Millisecond))
	wantKinds := map[string]string{
		"version": "string", "context": "string", "epoch": "string", "seq": "number",
		"uptime": "string", "clients": "number", "containers": "number", "engine": "object",
	}
	for k, kind := range wantKinds {
		if got := jsonKind(health[k]); got != kind {
			t.Errorf("/v1/health field %q is %s (%v), want a %s", k, got, health[k], kind)
		}
	}
	if health["version"] != pluginVersion || health["context"] != currentContext(t) || health["epoch"] == "" {
		t.Errorf("/v1/health = %v: want version %q, context %q and an epoch", health, pluginVersion, currentContext(t))
	}

	wsURL := "ws://" + addr + stream.StreamPath
	wsCases := []struct {
		name   string
		url    string
		header http.Header
		want   int // 0: the stream works
	}{
		{"no token", wsURL, nil, http.StatusUnauthorized},
		{"wrong token", wsURL, http.Header{"Authorization": {"Bearer " + strings.Repeat("f", len(token))}}, http.StatusUnauthorized},
		{"foreign Origin", wsURL, http.Header{"Authorization": {"Bearer " + token}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"Host evil.example", wsURL, http.Header{"Authorization": {"Bearer " + token}, "Host": {"evil.example"}}, http.StatusForbidden},
		{"Bearer token", wsURL, http.Header{"Authorization": {"Bearer " + token}}, 0},
		{"?token=", wsURL + "?token=" + url.QueryEscape(token), nil, 0},
	}
	for _, c := range wsCases {
		ws, resp, err := dialWS(c.url, nil, c.header)
		if c.want != 0 {
			if err == nil {
				ws.Close()
				t.Errorf("WebSocket with %s: connected, want HTTP %d", c.name, c.want)
				continue
			}
			if resp == nil || resp.StatusCode != c.want {
				status := 0
				if resp != nil {
					status = resp.StatusCode
				}
				t.Errorf("WebSocket with %s: status %d (%v), want %d", c.name, status, err, c.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("WebSocket with %s: %v", c.name, err)
			continue
		}
		cl := newWSClient(t, ws)
		cl.subscribe(t, stream.Subscription{Topics: []string{stream.TopicContainers}})
		cl.hello(t)
		if m := cl.next(t, 10*time.Second); m.Type != stream.TypeSnapshot {
			t.Errorf("WebSocket with %s: frame after hello is %q, want a snapshot", c.name, m.Type)
		}
		cl.Close()
	}

	if log, err := os.ReadFile(filepath.Join(st.Dir(), "serve.log")); err == nil && strings.Contains(string(log), token) {
		t.Errorf("serve.log contains the token")
	}
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "missing or null"
	}
	return fmt.Sprintf("%T", v)
}

// evKey identifies one Engine event.
type evKey struct {
	TimeNano int64
	Action   string
	ID       string
}

func (k evKey) String() string {
	return fmt.Sprintf("%s %.12s @%d", k.Action, k.ID, k.TimeNano)
}

// engineRecorder records the Engine's own events (straight from its API)
// as the reference a product's output is compared with.
type engineRecorder struct {
	mu   sync.Mutex
	seen map[evKey]int
	err  error
}

// recordEngineEvents follows the Engine's container events carrying label
// (key=value) from now until the test ends.
func recordEngineEvents(t testing.TB, label string) *engineRecorder {
	t.Helper()
	engine := engineClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	res := engine.Events(ctx, client.EventsListOptions{Filters: client.Filters{}.Add("type", "container").Add("label", label)})
	r := &engineRecorder{seen: map[evKey]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case m := <-res.Messages:
				r.mu.Lock()
				r.seen[evKey{m.TimeNano, string(m.Action), m.Actor.ID}]++
				r.mu.Unlock()
			case err := <-res.Err:
				if ctx.Err() == nil {
					r.mu.Lock()
					r.err = err
					r.mu.Unlock()
				}
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

// keys returns the recorded events whose action is one of actions.
func (r *engineRecorder) keys(t testing.TB, actions ...string) map[evKey]int {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		t.Fatalf("reading the Engine's events: %v", r.err)
	}
	out := map[evKey]int{}
	for k, n := range r.seen {
		if slices.Contains(actions, k.Action) {
			out[k] = n
		}
	}
	return out
}

// compareEvents describes how got differs from want (each event exactly
// once), or returns "" when they agree.
func compareEvents(got, want map[evKey]int) string {
	var missing, extra, repeated []string
	for k := range want {
		if got[k] == 0 {
			missing = append(missing, k.String())
		}
	}
	for k, n := range got {
		if want[k] == 0 {
			extra = append(extra, k.String())
		}
		if n > 1 {
			repeated = append(repeated, fmt.Sprintf("%s ×%d", k, n))
		}
	}
	if len(missing)+len(extra)+len(repeated) == 0 {
		return ""
	}
	limit := func(l []string) []string {
		slices.Sort(l)
		if len(l) > 5 {
			return append(l[:5], fmt.Sprintf("... %d more", len(l)-5))
		}
		return l
	}
	return fmt.Sprintf("%d events vs the Engine's %d: missing %v, not from the Engine %v, repeated %v",
		len(got), len(want), limit(missing), limit(extra), limit(repeated))
}

// pauseRace reports a refused pause or unpause that back-to-back calls
// provoke: the Engine applies containerd's paused/resumed notices
// asynchronously, so it may think a container is (not) paused when it is
// not, or containerd may refuse to resume a task that is already running.
// Such a call logs no event.
func pauseRace(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "paused") || strings.Contains(msg, "resume") || strings.Contains(msg, "cannot pause")
}

func TestStreamerSlowClientDoesNotDelayOthers(t *testing.T) {
	st := startStreamer(t)
	// Big labels make every event and container frame several kB, so the
	// never-read connection's socket buffers fill after few messages.
	pad := strings.Repeat("x", 2000)
	labels := map[string]string{"dle2e.pad1": pad, "dle2e.pad2": pad, "dle2e.pad3": pad}
	var cs []Container
	for range 3 {
		cs = append(cs, runHelper(t, HelperOpts{Labels: labels}))
	}
	ids := map[string]bool{}
	for _, c := range cs {
		ids[c.ID] = true
	}

	normal := dialStreamer(t, st.Socket)
	normal.subscribe(t, stream.Subscription{Filter: stream.ContainerFilter{Labels: []string{testLabel(t)}}})
	normal.hello(t)
	normal.waitMsg(t, 10*time.Second, "the snapshot", func(m wsMsg) bool { return m.Type == stream.TypeSnapshot })

	slow := dialRaw(t, st.Socket)
	if err := writeSubscribe(slow, stream.Subscription{}); err != nil {
		t.Fatalf("slow client subscribe: %v", err)
	}
	baseClients := 0
	waitFor(t, 10*time.Second, "both clients counted by /v1/health", func() bool {
		baseClients = streamerClients(t, st.Socket)
		return baseClients >= 2
	})
	ref := recordEngineEvents(t, testLabel(t))

	// Load: pause/unpause loops straight on the Engine API, one per
	// container, until the slow client is cut off (or a bound).
	engine := engineClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int64
	var loadErr atomic.Value
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			// The Engine's own event stream, not the calls, is the
			// reference (see pauseRace).
			for ctx.Err() == nil {
				for _, op := range []func() error{
					func() error {
						_, err := engine.ContainerPause(context.Background(), c.ID, client.ContainerPauseOptions{})
						return err
					},
					func() error {
						_, err := engine.ContainerUnpause(context.Background(), c.ID, client.ContainerUnpauseOptions{})
						return err
					},
				} {
					calls.Add(1)
					if err := op(); err != nil && !pauseRace(err) {
						loadErr.Store(err)
						return
					}
				}
			}
		})
	}

	// The normal client reads throughout; its event latency is what the
	// slow one must not spoil.
	got := map[evKey]int{}
	var lat []time.Duration
	take := func(m wsMsg) {
		if m.Type == stream.TypeEvent && ids[m.Event.Actor.ID] && (m.Event.Action == "pause" || m.Event.Action == "unpause") {
			lat = append(lat, m.At.Sub(time.Unix(0, m.Event.TimeNano)))
			got[evKey{m.Event.TimeNano, string(m.Event.Action), m.Event.Actor.ID}]++
		}
	}
	loadStart := time.Now()
	const bound = 60 * time.Second
	var cutAfter time.Duration
	check := time.NewTicker(250 * time.Millisecond)
	defer check.Stop()
	for cutAfter == 0 {
		select {
		case m, ok := <-normal.msgs:
			if !ok {
				t.Fatalf("the normal client's connection ended: %v", normal.err)
			}
			take(m)
		case <-check.C:
			if err, _ := loadErr.Load().(error); err != nil {
				t.Fatalf("generating load: %v", err)
			}
			if streamerClients(t, st.Socket) < baseClients {
				cutAfter = time.Since(loadStart)
			} else if time.Since(loadStart) > bound {
				cancel()
				wg.Wait()
				t.Fatalf("the never-reading client was still connected after %v, %d API calls and %d pause/unpause events (normal client latency %s)",
					bound, calls.Load(), len(got), latencySummary(lat))
			}
		}
	}
	cancel()
	wg.Wait()
	t.Logf("never-reading client cut off %v after the load began, after %d pause/unpause API calls and %d events",
		cutAfter.Round(time.Millisecond), calls.Load(), len(ref.keys(t, "pause", "unpause")))

	// Every event of the load reaches the normal client once, unharmed.
	var diff string
	deadline := time.Now().Add(20 * time.Second)
	for {
		want := ref.keys(t, "pause", "unpause")
		if diff = compareEvents(got, want); diff == "" || time.Now().After(deadline) {
			break
		}
		select {
		case m, ok := <-normal.msgs:
			if !ok {
				t.Fatalf("the normal client's connection ended: %v", normal.err)
			}
			take(m)
		case <-time.After(250 * time.Millisecond):
		}
	}
	if diff != "" {
		t.Errorf("normal client: %s", diff)
	}
	t.Logf("normal client's event latency under the load: %s", latencySummary(lat))
	sorted := slices.Sorted(slices.Values(lat))
	if p90 := sorted[len(sorted)*9/10]; p90 > time.Second {
		t.Errorf("normal client's p90 event latency %v while another client stalls, want under 1s", p90)
	}

	code, err := closeReason(slow, 15*time.Second)
	t.Logf("the never-reading client's connection ended with close code %d (%v)", code, err)
	var ne net.Error
	switch {
	case code == stream.CloseTooSlow:
	case code == websocket.CloseAbnormalClosure:
		// No close frame: the connection was cut, which the library
		// reports as 1006.
	case code != 0:
		t.Errorf("never-reading client closed with code %d, want %d (too slow) or a cut connection", code, stream.CloseTooSlow)
	case errors.As(err, &ne) && ne.Timeout():
		t.Errorf("never-reading client's connection still open after the streamer dropped it from its clients")
	}
}

func TestStreamerConcurrentDetachLeavesOne(t *testing.T) {
	stopStreamers(t)
	type result struct {
		out, errOut string
		code        int
	}
	results := make([]result, 2)
	var wg sync.WaitGroup
	done := beginCreate(t)
	for i := range results {
		wg.Go(func() {
			out, errOut, code := dockerTry(t, "live", "serve", "--detach")
			results[i] = result{out, errOut, code}
		})
	}
	wg.Wait()
	done()
	st := onlyStreamer(t)
	pidRE := regexp.MustCompile(`\(pid (\d+)\)`)
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("serve --detach #%d: exit %d: %s", i+1, r.code, strings.TrimSpace(r.errOut))
			continue
		}
		m := pidRE.FindStringSubmatch(r.out)
		if m == nil || m[1] != strconv.Itoa(st.PID) {
			t.Errorf("serve --detach #%d printed %q, want it to name the running streamer (pid %d)", i+1, strings.TrimSpace(r.out), st.PID)
		}
	}
	eventually(t, 10*time.Second, func() error {
		if pids := serveProcesses(); len(pids) != 1 || pids[0] != st.PID {
			return fmt.Errorf("serve processes of this run: %v, want only the listed streamer %d", pids, st.PID)
		}
		return nil
	})
	if st.Context != currentContext(t) {
		t.Errorf("status context = %q, want %q", st.Context, currentContext(t))
	}
}

func TestStreamerStopRemovesSocketAndProcess(t *testing.T) {
	st := startStreamer(t)
	out := dockerCmd(t, "live", "stop")
	if !strings.Contains(out, strconv.Itoa(st.PID)) {
		t.Errorf("docker live stop printed %q, want the pid %d", out, st.PID)
	}
	waitFor(t, 10*time.Second, "the streamer's process to exit", func() bool { return processGone(st.PID) })
	if _, err := os.Stat(st.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket %s still there after docker live stop (%v)", st.Socket, err)
	}
	if list := liveStatus(t); len(list) != 0 {
		t.Errorf("docker live status after stop lists %+v", list)
	}
	// Stopping when none runs is not an error.
	if out, errOut, code := dockerTry(t, "live", "stop"); code != 0 {
		t.Errorf("docker live stop with no streamer: exit %d: %s%s", code, out, errOut)
	}
}

func TestStreamerForegroundSIGTERM(t *testing.T) {
	stopStreamers(t)
	p := startDocker(t, "live", "serve")
	st := onlyStreamer(t)
	if _, err := os.Stat(st.Socket); err != nil {
		t.Fatalf("socket of the foreground streamer: %v", err)
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(t, 15*time.Second); code != 0 {
		t.Errorf("docker live serve exited %d after SIGTERM, want 0; stderr:\n%s", code, p.Stderr())
	}
	if _, err := os.Stat(st.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket %s still there after SIGTERM (%v)", st.Socket, err)
	}
	if !processGone(st.PID) {
		t.Errorf("streamer pid %d still alive after docker live serve exited", st.PID)
	}
	if s := p.Stderr(); !strings.Contains(s, "ready") {
		t.Logf("foreground serve's log does not mention readiness:\n%s", s)
	}
}
