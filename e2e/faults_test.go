package e2e

// Issue "faults, load and bad input": the streamer killed under running
// clients, and slow or misbehaving clients next to a normal one.
//
// The helpers here (prefixed flt) are shared by faults_test.go,
// churn_test.go, security_test.go, cli_errors_test.go and
// privdockerd_test.go: a DOCKER_CONFIG of the test's own (so that the
// streamer a test kills or measures serves nobody else), a small
// WebSocket client that keeps the state the stream describes, and readers
// of /proc for the streamer's fds, threads, memory and Engine connections.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
)

// fltConfig returns the environment of a DOCKER_CONFIG of the test's own,
// holding only the plugin: the streamer the test starts is keyed under it,
// so killing, locking or measuring it disturbs no other test. Streamers
// started under it are stopped and the folder removed on cleanup. base is
// the parent folder; "" means tmpRoot (short, for Unix socket paths).
func fltConfig(t testing.TB, base string) (env []string, dir string) {
	t.Helper()
	if base == "" {
		base = tmpRoot
	}
	dir, err := os.MkdirTemp(base, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "cli-plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(pluginPath, filepath.Join(dir, "cli-plugins", "docker-live")); err != nil {
		t.Fatal(err)
	}
	env = []string{"DOCKER_CONFIG=" + dir}
	t.Cleanup(func() {
		if _, stderr, code := dockerTryEnv(t, env, "live", "stop", "--all"); code != 0 {
			t.Logf("docker live stop --all: %s", strings.TrimSpace(stderr))
		}
		// Streamers killed with SIGKILL leave nothing running; anything the
		// stop missed would keep the folder's files open, not its name.
		_ = os.RemoveAll(dir)
	})
	return env, dir
}

// fltStreamer is a streamer started with `docker live serve --detach`.
type fltStreamer struct {
	PID    int
	Socket string
	Dir    string // the state folder
}

var (
	fltPIDRE    = regexp.MustCompile(`\(pid (\d+)\)`)
	fltSocketRE = regexp.MustCompile(`(?m)^socket: (\S+)$`)
)

// fltServe runs `docker [global...] live serve --detach [serveArgs...]`
// under env and returns the streamer it reports.
func fltServe(t testing.TB, env, global []string, serveArgs ...string) fltStreamer {
	t.Helper()
	args := append(append(append([]string{}, global...), "live", "serve", "--detach"), serveArgs...)
	stdout, stderr, code := dockerTryEnv(t, env, args...)
	if code != 0 {
		t.Fatalf("docker %s: exit %d: %s%s", strings.Join(args, " "), code, stdout, stderr)
	}
	pm, sm := fltPIDRE.FindStringSubmatch(stdout), fltSocketRE.FindStringSubmatch(stdout)
	if pm == nil || sm == nil {
		t.Fatalf("docker %s printed no pid or socket:\n%s", strings.Join(args, " "), stdout)
	}
	pid, _ := strconv.Atoi(pm[1])
	return fltStreamer{PID: pid, Socket: sm[1], Dir: filepath.Dir(sm[1])}
}

// fltInfo is the part of info.json the tests read.
type fltInfo struct {
	PID       int    `json:"pid"`
	Listen    string `json:"listen"`
	TokenFile string `json:"token_file"`
}

func fltReadInfo(dir string) (fltInfo, error) {
	var info fltInfo
	data, err := os.ReadFile(filepath.Join(dir, "info.json"))
	if err != nil {
		return info, err
	}
	err = json.Unmarshal(data, &info)
	return info, err
}

// fltAlive reports whether pid exists and is not a zombie.
func fltAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// fltUnixHTTP is an HTTP client whose every request goes to socket.
func fltUnixHTTP(socket string) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
			DisableKeepAlives: true,
		},
	}
}

// fltHealth reads the streamer's /v1/health over its socket.
func fltHealth(socket string) (map[string]any, error) {
	resp, err := fltUnixHTTP(socket).Get("http://docker-live" + stream.HealthPath)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("health: %s", resp.Status)
	}
	var body map[string]any
	return body, json.NewDecoder(resp.Body).Decode(&body)
}

// fltHealthInt reads a numeric field of the health body.
func fltHealthInt(t testing.TB, socket, field string) int {
	t.Helper()
	h, err := fltHealth(socket)
	if err != nil {
		t.Fatalf("health of %s: %v", socket, err)
	}
	f, _ := h[field].(float64)
	return int(f)
}

// fltDialUnix opens a WebSocket on a streamer's Unix socket.
func fltDialUnix(socket string, header http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "unix", socket)
		},
		HandshakeTimeout: 10 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.DialContext(ctx, "ws://docker-live"+stream.StreamPath, header)
}

// fltSubscribe sends a subscribe request; sub.Protocol 0 means the current one.
func fltSubscribe(ws *websocket.Conn, sub stream.Subscription) error {
	if sub.Protocol == 0 {
		sub.Protocol = stream.ProtocolVersion
	}
	_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.WriteJSON(stream.Request{Type: stream.TypeSubscribe, Subscribe: &sub})
}

// fltReadUntilClose reads messages until the connection ends or timeout,
// and returns them with the close code (0 for none, -1 for a timeout,
// websocket.CloseAbnormalClosure when it ended without a close frame).
func fltReadUntilClose(ws *websocket.Conn, timeout time.Duration) ([]stream.Message, int, error) {
	var msgs []stream.Message
	_ = ws.SetReadDeadline(time.Now().Add(timeout))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			var ne net.Error
			switch {
			case errors.As(err, &ce):
				return msgs, ce.Code, err
			case errors.As(err, &ne) && ne.Timeout():
				return msgs, -1, err
			default:
				return msgs, websocket.CloseAbnormalClosure, err
			}
		}
		var m stream.Message
		if err := json.Unmarshal(data, &m); err != nil {
			return msgs, 0, fmt.Errorf("undecodable frame %q: %v", data, err)
		}
		msgs = append(msgs, m)
	}
}

// fltExpectWorking fails the test unless a new client on socket gets a
// hello and a snapshot: the streamer still serves after whatever came before.
func fltExpectWorking(t testing.TB, socket, after string) {
	t.Helper()
	ws, _, err := fltDialUnix(socket, nil)
	if err != nil {
		t.Fatalf("after %s: a normal client cannot connect: %v", after, err)
	}
	defer ws.Close()
	if err := fltSubscribe(ws, stream.Subscription{Topics: []string{stream.TopicContainers}}); err != nil {
		t.Fatalf("after %s: subscribing: %v", after, err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var types []string
	for len(types) < 2 {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("after %s: a normal client got %v after %v", after, err, types)
		}
		var m stream.Message
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("after %s: undecodable frame: %v", after, err)
		}
		types = append(types, m.Type)
	}
	if types[0] != stream.TypeHello || types[1] != stream.TypeSnapshot {
		t.Fatalf("after %s: a normal client got %v, want [hello snapshot]", after, types)
	}
}

// fltClient is a WebSocket client that keeps the container state the
// stream describes and checks the stream's ordering as it goes.
type fltClient struct {
	name string
	ws   *websocket.Conn
	// strict: the subscription is unfiltered and takes every topic, so every
	// sequenced message must carry the seq after the one before.
	strict bool
	// hook, when set, sees every message on the reader goroutine.
	hook func(m *stream.Message, at time.Time)
	// delay, when set, is waited after every message read (a slow reader).
	delay time.Duration

	mu         sync.Mutex
	epoch      string
	seq        uint64
	containers map[string]stream.Container
	removedAt  map[string]uint64 // id -> seq of its remove message
	engine     []string          // Engine states in the order seen
	events     []events.Message
	msgs       int
	problems   []string
	endErr     error
	done       chan struct{}
}

// fltOpen connects to socket, subscribes and starts reading. The client is
// closed on cleanup.
func fltOpen(t testing.TB, name, socket string, sub stream.Subscription, configure func(*fltClient)) *fltClient {
	t.Helper()
	ws, _, err := fltDialUnix(socket, nil)
	if err != nil {
		t.Fatalf("client %s: %v", name, err)
	}
	c := &fltClient{
		name:       name,
		ws:         ws,
		containers: map[string]stream.Container{},
		removedAt:  map[string]uint64{},
		done:       make(chan struct{}),
	}
	c.strict = len(sub.Topics) == 0 && sub.Filter.Names == nil && sub.Filter.IDs == nil && sub.Filter.Labels == nil && sub.Filter.Projects == nil
	if configure != nil {
		configure(c)
	}
	if err := fltSubscribe(ws, sub); err != nil {
		ws.Close()
		t.Fatalf("client %s: subscribing: %v", name, err)
	}
	go c.read()
	t.Cleanup(c.Close)
	return c
}

// Close ends the connection and waits for the reader.
func (c *fltClient) Close() {
	c.ws.Close()
	<-c.done
}

func (c *fltClient) read() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.endErr = err
			c.mu.Unlock()
			return
		}
		at := time.Now()
		m := new(stream.Message)
		if err := json.Unmarshal(data, m); err != nil {
			c.problem("undecodable frame: %v", err)
			continue
		}
		c.apply(m)
		if c.hook != nil {
			c.hook(m, at)
		}
		if c.delay > 0 {
			time.Sleep(c.delay) // the point of this client: it reads slowly
		}
	}
}

func (c *fltClient) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problemLocked(format, args...)
}

func (c *fltClient) problemLocked(format string, args ...any) {
	if len(c.problems) < 20 {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

func (c *fltClient) apply(m *stream.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs++
	switch m.Type {
	case stream.TypeHello:
		c.epoch, c.seq = m.Epoch, m.Seq
		c.engine = append(c.engine, m.Hello.Engine.State)
		return
	case stream.TypeSnapshot:
		c.seq = m.Seq
		clear(c.containers)
		for _, ct := range m.Snapshot.Containers {
			ct.Stats = nil
			c.containers[ct.ID] = ct
		}
		c.engine = append(c.engine, m.Snapshot.Engine.State)
		return
	case stream.TypeStats:
		for _, s := range m.Stats {
			if rs, gone := c.removedAt[s.ID]; gone && m.Seq >= rs {
				c.problemLocked("stats for %.12s in a batch at seq %d, after its remove at seq %d", s.ID, m.Seq, rs)
			}
		}
		return
	case stream.TypeError:
		c.problemLocked("error message: %+v", m.Error)
		return
	}
	// Sequenced messages.
	if m.Epoch != c.epoch {
		c.problemLocked("%s message of epoch %s on a connection of epoch %s", m.Type, m.Epoch, c.epoch)
	}
	if m.Seq <= c.seq {
		c.problemLocked("%s message at seq %d after seq %d", m.Type, m.Seq, c.seq)
	} else if c.strict && m.Seq != c.seq+1 {
		c.problemLocked("%s message at seq %d after seq %d: %d lost", m.Type, m.Seq, c.seq, m.Seq-c.seq-1)
	}
	c.seq = m.Seq
	switch m.Type {
	case stream.TypeContainer:
		if _, gone := c.removedAt[m.Container.ID]; gone {
			c.problemLocked("container message for %.12s after its remove", m.Container.ID)
		}
		c.containers[m.Container.ID] = *m.Container
	case stream.TypeRemove:
		delete(c.containers, m.Remove.ID)
		c.removedAt[m.Remove.ID] = m.Seq
	case stream.TypeEvent:
		c.events = append(c.events, *m.Event)
	case stream.TypeEngine:
		c.engine = append(c.engine, m.Engine.State)
	}
}

// states returns id -> state of the containers the client holds.
func (c *fltClient) states() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.containers))
	for id, ct := range c.containers {
		out[id] = ct.State
	}
	return out
}

func (c *fltClient) engineStates() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.engine)
}

func (c *fltClient) eventsCopy() []events.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

func (c *fltClient) problemsCopy() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.problems)
}

// ended returns why the connection ended, or nil while it is open.
func (c *fltClient) ended() error {
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.endErr == nil {
			return errors.New("ended")
		}
		return c.endErr
	default:
		return nil
	}
}

func (c *fltClient) epochNow() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// fltDiffStates describes how got differs from want (id -> state), or "".
func fltDiffStates(got, want map[string]string) string {
	var diffs []string
	for id, w := range want {
		if g, ok := got[id]; !ok {
			diffs = append(diffs, fmt.Sprintf("%.12s missing (docker: %s)", id, w))
		} else if g != w {
			diffs = append(diffs, fmt.Sprintf("%.12s is %s (docker: %s)", id, g, w))
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok {
			diffs = append(diffs, fmt.Sprintf("%.12s is %s but docker does not list it", id, g))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 10 {
		diffs = append(diffs[:10], fmt.Sprintf("and %d more", len(diffs)-10))
	}
	return strings.Join(diffs, "; ")
}

// fltPSStates returns id -> state of `docker [global...] ps -a` for filter.
func fltPSStates(t testing.TB, env, global []string, filter string) map[string]string {
	t.Helper()
	args := append(append([]string{}, global...), "ps", "-a", "--no-trunc", "--filter", filter, "--format", "{{.ID}} {{.State}}")
	stdout, stderr, code := dockerTryEnv(t, env, args...)
	if code != 0 {
		t.Fatalf("docker %s: %s", strings.Join(args, " "), stderr)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if id, state, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			out[id] = state
		}
	}
	return out
}

// fltFreshSnapshot subscribes a new client with filter and returns the
// snapshot's id -> state and its Engine state.
func fltFreshSnapshot(socket string, filter stream.ContainerFilter) (map[string]string, string, error) {
	ws, _, err := fltDialUnix(socket, nil)
	if err != nil {
		return nil, "", err
	}
	defer ws.Close()
	if err := fltSubscribe(ws, stream.Subscription{Topics: []string{stream.TopicContainers}, Filter: filter}); err != nil {
		return nil, "", err
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m stream.Message
		if err := ws.ReadJSON(&m); err != nil {
			return nil, "", err
		}
		if m.Type == stream.TypeSnapshot {
			out := map[string]string{}
			for _, c := range m.Snapshot.Containers {
				out[c.ID] = c.State
			}
			return out, m.Snapshot.Engine.State, nil
		}
	}
}

// fltProcStats is what /proc tells of a process.
type fltProcStats struct {
	FDs     int
	Threads int
	RSSKB   int
}

func fltProc(pid int) (fltProcStats, error) {
	var s fltProcStats
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.FDs = len(fds)
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "Threads":
			s.Threads, _ = strconv.Atoi(f[0])
		case "VmRSS":
			s.RSSKB, _ = strconv.Atoi(f[0])
		}
	}
	return s, nil
}

// fltOutboundUnixConns counts pid's connected Unix sockets that are bound
// to no path. The streamer connects out only to the Engine, while its own
// listener and the connections it accepted carry live.sock's path, so this
// is the number of its connections to the Engine.
func fltOutboundUnixConns(pid int) (int, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Scan() // header: Num RefCount Protocol Flags Type St Inode Path
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 7 || !inodes[fields[6]] {
			continue
		}
		connected := fields[5] == "03"
		if connected && len(fields) == 7 {
			n++
		}
	}
	return n, sc.Err()
}

// fltGoroutineDump makes the streamer (a Go program) print every
// goroutine's stack and exit, by SIGQUIT, and returns the stacks from its
// log. The streamer has no pprof endpoint; this is the exact count the
// fd and thread numbers only approximate. The streamer is gone after.
func fltGoroutineDump(t testing.TB, s fltStreamer) []string {
	t.Helper()
	logPath := filepath.Join(s.Dir, "serve.log")
	before, _ := os.ReadFile(logPath)
	if err := syscall.Kill(s.PID, syscall.SIGQUIT); err != nil {
		t.Fatalf("SIGQUIT to the streamer: %v", err)
	}
	waitFor(t, 15*time.Second, "the streamer to exit after SIGQUIT", func() bool { return !fltAlive(s.PID) })
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	dump := string(data[min(len(before), len(data)):])
	var stacks []string
	for _, block := range strings.Split(dump, "\n\n") {
		if strings.HasPrefix(strings.TrimSpace(block), "goroutine ") {
			stacks = append(stacks, block)
		}
	}
	if len(stacks) == 0 {
		t.Fatalf("no goroutine dump in %s after SIGQUIT; its tail: %s", logPath, fltTail(dump, 10))
	}
	return stacks
}

// fltCountStacks counts the stacks that contain fn.
func fltCountStacks(stacks []string, fn string) int {
	n := 0
	for _, s := range stacks {
		if strings.Contains(s, fn) {
			n++
		}
	}
	return n
}

func fltTail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// fltPercentile returns the p-th percentile (0-100) of d, nearest rank.
func fltPercentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// fltEventKey identifies an Engine event across outputs.
type fltEventKey struct {
	TimeNano int64
	Action   string
	ID       string
}

// fltParseEvent reads one line of `docker events --format '{{json .}}'`
// (or docker live events --format json, which must print the same object).
func fltParseEvent(line string) (fltEventKey, bool) {
	var ev events.Message
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.TimeNano == 0 {
		return fltEventKey{}, false
	}
	return fltEventKey{TimeNano: ev.TimeNano, Action: string(ev.Action), ID: ev.Actor.ID}, true
}

// fltLineSink drains a Proc's stdout into memory, so that a long-running
// command never blocks on a full pipe while the test does other things.
type fltLineSink struct {
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func fltDrain(p *Proc) *fltLineSink {
	s := &fltLineSink{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for line := range p.Lines {
			s.mu.Lock()
			s.lines = append(s.lines, line)
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *fltLineSink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lines)
}

func (s *fltLineSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

// fltWatchRow is the part of a `watch --format json` row the tests read.
type fltWatchRow struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
}

// rowsFrom returns the rows printed from line index i on.
func (s *fltLineSink) rowsFrom(i int) []fltWatchRow {
	var rows []fltWatchRow
	for _, line := range s.all()[min(i, s.count()):] {
		var r fltWatchRow
		if json.Unmarshal([]byte(line), &r) == nil && r.ID != "" {
			rows = append(rows, r)
		}
	}
	return rows
}

// lastStates returns id -> the state of the last row printed for it.
func (s *fltLineSink) lastStates() map[string]string {
	out := map[string]string{}
	for _, r := range s.rowsFrom(0) {
		out[r.ID] = r.State
	}
	return out
}

// TestFaultStreamerKill kills the streamer with SIGKILL under a running
// `watch --format json` and `events --format json`, keeps a new one from
// starting (by holding the state folder's lock), and checks that both go on
// by polling the Engine, come back live by themselves once a streamer can
// start, and that events made while no streamer ran are printed, once.
func TestFaultStreamerKill(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	label := testLabel(t)
	c1 := runHelper(t, HelperOpts{})
	c2 := runHelper(t, HelperOpts{})
	old := fltServe(t, env, nil)

	watch := startDockerEnv(t, env, "live", "watch", "--format", "json", "-a", "--filter", "label="+label)
	wl := fltDrain(watch)
	// Everything from here on must be printed: --since makes the test's
	// window exact, where "from the command's start" would depend on how
	// long the docker CLI takes to run the plugin on a busy host. The first
	// stream's catch-up from there is one of the hand-overs under test.
	start := time.Now()
	startArg := fmt.Sprintf("%d.%09d", start.Unix(), start.Nanosecond())
	evp := startDockerEnv(t, env, "live", "events", "--since", startArg, "--format", "json", "--filter", "label="+label)
	el := fltDrain(evp)
	// docker events, following the Engine from the same moment, is the
	// reference. It runs for the whole test rather than being asked at the
	// end: the Engine keeps only 256 past events, which a busy host (other
	// tests) can exceed within the test.
	ref := startDocker(t, "events", "--since", startArg, "--filter", "label="+label, "--format", "{{json .}}")
	rl := fltDrain(ref)

	eventually(t, 20*time.Second, func() error {
		got := wl.lastStates()
		if got[c1.ID] != "running" || got[c2.ID] != "running" {
			return fmt.Errorf("watch has not printed both containers running yet: %v; stderr: %s", got, watch.Stderr())
		}
		return nil
	})

	printed := func() map[fltEventKey]int {
		out := map[fltEventKey]int{}
		for _, line := range el.all() {
			if k, ok := fltParseEvent(line); ok {
				out[k]++
			}
		}
		return out
	}
	// waitPrinted waits until events has printed action for id at or after from.
	waitPrinted := func(id, action string, from time.Time, why string) {
		t.Helper()
		eventually(t, 20*time.Second, func() error {
			for k := range printed() {
				if k.ID == id && k.Action == action && k.TimeNano >= from.UnixNano()-int64(time.Second) {
					return nil
				}
			}
			return fmt.Errorf("%s: docker live events has not printed %s of %.12s; stderr: %s", why, action, id, evp.Stderr())
		})
	}
	waitWatchState := func(id, state string, fromLine int, why string) {
		t.Helper()
		eventually(t, 20*time.Second, func() error {
			for _, r := range wl.rowsFrom(fromLine) {
				if r.ID == id && r.State == state {
					return nil
				}
			}
			return fmt.Errorf("%s: watch printed no row with %.12s %s; stderr: %s", why, id, state, watch.Stderr())
		})
	}

	// docker live events may still be finding its streamer here; the test
	// does not wait for it.
	mark := time.Now()
	dockerCmd(t, "pause", c1.ID)
	dockerCmd(t, "unpause", c1.ID)
	waitPrinted(c1.ID, "unpause", mark, "before the kill")

	// Open the lock file first, so that taking the lock right after the
	// kill is one system call and no client can start a streamer before.
	lock, err := os.OpenFile(filepath.Join(old.Dir, "lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Kill(old.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL to the streamer: %v", err)
	}
	locked := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			locked = true
			break
		}
		time.Sleep(time.Millisecond) // the kernel frees the lock when the process is reaped
	}
	if !locked {
		info, _ := fltReadInfo(old.Dir)
		t.Fatalf("could not take the streamer's lock within 5 s of the kill (a new streamer, pid %d, took it first?)", info.PID)
	}
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		}
	}
	defer unlock()

	waitFor(t, 20*time.Second, "watch to say it is polling", func() bool { return strings.Contains(watch.Stderr(), "polling") })
	waitFor(t, 20*time.Second, "events to say it is polling", func() bool { return strings.Contains(evp.Stderr(), "polling") })

	// While no streamer runs: watch must keep printing and show changes,
	// and events must print what happens.
	linesAtGap := wl.count()
	mark = time.Now()
	dockerCmd(t, "pause", c1.ID)
	waitWatchState(c1.ID, "paused", linesAtGap, "while polling")
	dockerCmd(t, "pause", c2.ID)
	dockerCmd(t, "unpause", c2.ID)
	dockerCmd(t, "unpause", c1.ID)
	waitWatchState(c1.ID, "running", linesAtGap, "while polling")
	waitPrinted(c1.ID, "unpause", mark, "while no streamer ran")
	waitPrinted(c2.ID, "unpause", mark, "while no streamer ran")
	if fltAlive(old.PID) {
		t.Fatalf("the killed streamer (pid %d) still runs", old.PID)
	}
	if n := strings.Count(watch.Stderr(), "live: connected"); n != 0 {
		t.Fatalf("watch claims to be live while the lock keeps any streamer from starting; stderr: %s", watch.Stderr())
	}

	// Events the Engine records after release but before the clients are
	// back must not fall between the fallback and the new stream either.
	unlock()
	mark = time.Now()
	dockerCmd(t, "pause", c2.ID)
	waitFor(t, 30*time.Second, "watch to return to live", func() bool { return strings.Contains(watch.Stderr(), "live: connected") })
	waitFor(t, 30*time.Second, "events to return to live", func() bool { return strings.Contains(evp.Stderr(), "live: connected") })
	info, err := fltReadInfo(old.Dir)
	if err != nil {
		t.Fatalf("no info.json after the clients returned to live: %v", err)
	}
	if info.PID == old.PID || !fltAlive(info.PID) {
		t.Fatalf("info.json names pid %d (old %d, alive %v), want a new running streamer", info.PID, old.PID, fltAlive(info.PID))
	}
	linesAtLive := wl.count()
	dockerCmd(t, "unpause", c2.ID)
	dockerCmd(t, "pause", c1.ID)
	dockerCmd(t, "unpause", c1.ID)
	waitWatchState(c2.ID, "running", linesAtLive, "after the new streamer started")
	waitPrinted(c2.ID, "pause", mark, "around the new streamer's start")
	waitPrinted(c1.ID, "unpause", mark, "after the new streamer started")
	end := time.Now()

	// docker events is the reference: everything it recorded for this test
	// up to now must have been printed, exactly once.
	wanted := func() map[fltEventKey]bool {
		want := map[fltEventKey]bool{}
		for _, line := range rl.all() {
			if k, ok := fltParseEvent(line); ok && k.TimeNano <= end.UnixNano() {
				want[k] = true
			}
		}
		return want
	}
	eventually(t, 10*time.Second, func() error {
		if n := len(wanted()); n < 10 {
			return fmt.Errorf("docker events has printed only %d events of the window, want at least the 10 this test made; stderr: %s", n, ref.Stderr())
		}
		return nil
	})
	eventually(t, 10*time.Second, func() error {
		got := printed()
		var missing, doubled []string
		for k := range wanted() {
			switch got[k] {
			case 0:
				missing = append(missing, fmt.Sprintf("%s %.12s at %s", k.Action, k.ID, time.Unix(0, k.TimeNano).Format(time.StampMicro)))
			case 1:
			default:
				doubled = append(doubled, fmt.Sprintf("%s %.12s x%d", k.Action, k.ID, got[k]))
			}
		}
		if len(missing)+len(doubled) > 0 {
			return fmt.Errorf("docker live events vs docker events: missing %v, printed more than once %v; stderr: %s", missing, doubled, evp.Stderr())
		}
		return nil
	})
	if watch.Exited() || evp.Exited() {
		t.Fatalf("a client exited: watch %v, events %v", watch.Exited(), evp.Exited())
	}
	t.Logf("watch stderr:\n%s\nevents stderr:\n%s", watch.Stderr(), evp.Stderr())
}

// TestFaultSlowClients runs one client that never reads, one that reads a
// message a second and rounds of 200 clients that connect and drop, and
// checks that a normal client's updates stay prompt, the streamer's memory
// stays bounded and every dropped connection is released.
func TestFaultSlowClients(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	label := testLabel(t)
	c := runHelper(t, HelperOpts{})
	s := fltServe(t, env, nil)
	rss := benchSampleRSS(s.PID)

	type sample struct {
		kind  string // "container" or "event"
		state string // container state or event action
		at    time.Time
		sent  time.Time // the message's time: when the streamer broadcast it
		nano  int64     // event time
	}
	samples := make(chan sample, 1024)
	normal := fltOpen(t, "normal", s.Socket, stream.Subscription{
		Topics: []string{stream.TopicContainers, stream.TopicEvents},
		Filter: stream.ContainerFilter{Labels: []string{label}},
	}, func(fc *fltClient) {
		fc.hook = func(m *stream.Message, at time.Time) {
			switch {
			case m.Type == stream.TypeContainer && m.Container.ID == c.ID:
				samples <- sample{kind: "container", state: m.Container.State, at: at, sent: m.Time}
			case m.Type == stream.TypeEvent && m.Event.Actor.ID == c.ID:
				samples <- sample{kind: "event", state: string(m.Event.Action), at: at, nano: m.Event.TimeNano}
			}
		}
	})

	// Never reads: its socket buffers fill and the streamer must cut it off
	// (queue overflow or write deadline) without anyone else noticing.
	stuck, _, err := fltDialUnix(s.Socket, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	if err := fltSubscribe(stuck, stream.Subscription{StatsInterval: "1s"}); err != nil {
		t.Fatal(err)
	}
	slow := fltOpen(t, "slow", s.Socket, stream.Subscription{}, func(fc *fltClient) { fc.delay = time.Second })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var churnWG sync.WaitGroup
	var dialErrs, rounds int
	var churnMu sync.Mutex
	churnWG.Go(func() {
		for round := 0; round < 5 && ctx.Err() == nil; round++ {
			var wg sync.WaitGroup
			for i := range 200 {
				wg.Go(func() {
					ws, _, err := fltDialUnix(s.Socket, nil)
					if err != nil {
						churnMu.Lock()
						dialErrs++
						churnMu.Unlock()
						return
					}
					defer ws.Close()
					switch i % 3 {
					case 0: // drop right after the handshake
					case 1: // subscribe and drop without reading
						_ = fltSubscribe(ws, stream.Subscription{})
					case 2: // subscribe, read the hello, drop
						_ = fltSubscribe(ws, stream.Subscription{})
						_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
						_, _, _ = ws.ReadMessage()
					}
				})
			}
			wg.Wait()
			churnMu.Lock()
			rounds++
			churnMu.Unlock()
		}
	})

	// Latency of the normal client: from the Engine's event time to the
	// container message that carries the new state (end to end), and the
	// part of it the slow clients could add: from the streamer's broadcast
	// (the message's time) to the normal client (fan-out).
	var lat, fanout []time.Duration
	for i := range 30 {
		for _, action := range []string{"pause", "unpause"} {
			want := map[string]string{"pause": "paused", "unpause": "running"}[action]
			for drained := false; !drained; {
				select {
				case <-samples:
				default:
					drained = true
				}
			}
			dockerCmd(t, action, c.ID)
			var got, sent, evAt time.Time
			deadline := time.After(10 * time.Second)
			for got.IsZero() || evAt.IsZero() {
				select {
				case sm := <-samples:
					if sm.kind == "container" && sm.state == want && got.IsZero() {
						got, sent = sm.at, sm.sent
					}
					if sm.kind == "event" && sm.state == action {
						evAt = time.Unix(0, sm.nano)
					}
				case <-deadline:
					t.Fatalf("round %d: the normal client got no %s container message and %s event within 10 s (problems %v, ended %v)",
						i, want, action, normal.problemsCopy(), normal.ended())
				}
			}
			lat = append(lat, got.Sub(evAt))
			fanout = append(fanout, got.Sub(sent))
		}
	}
	churnWG.Wait()
	cancel()
	t.Logf("normal client latency over %d changes: end to end p50 %v, p99 %v; fan-out p50 %v, p99 %v; connect/drop rounds %d, dial errors %d",
		len(lat), fltPercentile(lat, 50), fltPercentile(lat, 99), fltPercentile(fanout, 50), fltPercentile(fanout, 99), rounds, dialErrs)
	// Only the fan-out is asserted. The rest of the end-to-end time is the
	// Engine's (its event stream, the inspect that fills the container
	// message), which the slow clients cannot touch and a busy host can
	// stretch far beyond 500 ms; make bench measures it.
	if p99 := fltPercentile(fanout, 99); p99 > 500*time.Millisecond {
		t.Errorf("p99 latency %v from the streamer's broadcast to the normal client, want under 500 ms", p99)
	}
	if dialErrs > 0 {
		t.Errorf("%d of %d connect-and-drop clients could not connect", dialErrs, rounds*200)
	}
	if err := normal.ended(); err != nil {
		t.Errorf("the normal client was disconnected: %v", err)
	}
	if p := normal.problemsCopy(); len(p) > 0 {
		t.Errorf("the normal client's stream broke its contract: %v", p)
	}
	// The slow reader may be disconnected as too slow, but must never see
	// a gap: lifecycle messages are not dropped silently. docs/protocol.md
	// promises a 4001 close frame or, when the socket cannot take it (this
	// client sleeps a second per frame), the connection cut (1006).
	if p := slow.problemsCopy(); len(p) > 0 {
		t.Errorf("the slow client's stream broke its contract: %v", p)
	}
	if err := slow.ended(); err != nil {
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || (ce.Code != stream.CloseTooSlow && ce.Code != websocket.CloseAbnormalClosure) {
			t.Errorf("the slow client was disconnected with %v, want no disconnect, close %d or a cut (1006)", err, stream.CloseTooSlow)
		}
	}
	if peak := rss.PeakKiB(); peak > 60<<10 {
		t.Errorf("the streamer's RSS peaked at %d KiB, want under 60 MiB", peak)
	} else {
		t.Logf("streamer RSS peak %d KiB", peak)
	}
	// The dropped connections must all be gone: normal, slow and at most
	// the never-reading one remain.
	eventually(t, 20*time.Second, func() error {
		if n := fltHealthInt(t, s.Socket, "clients"); n > 3 {
			return fmt.Errorf("the streamer still counts %d clients, want at most 3", n)
		}
		return nil
	})
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", s.PID)); err != nil {
		t.Fatalf("the streamer died: %v", err)
	}
	fltExpectWorking(t, s.Socket, "the slow and misbehaving clients")
}
