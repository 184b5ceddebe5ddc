package e2e

// Side-by-side benchmarks (`make bench`): every figure of docker live is
// measured in the same run as its anchor (docker events, docker stats), on
// the same Engine and the same containers, and the whole table goes to
// docs/performance.md with the machine it ran on.
//
// They run only with DOCKER_LIVE_BENCH=1, so `make test` never pays for
// them. DOCKER_LIVE_BENCH_QUICK=1 shrinks every size for development (and
// then does not touch docs/performance.md); DOCKER_LIVE_BENCH_DOC=PATH
// writes the report elsewhere; DOCKER_LIVE_BENCH_STATS_SOURCE=api|cgroup
// runs figures 1 to 5 with that stats source instead of auto (and then
// does not touch docs/performance.md either).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchScale sizes one run.
type benchScale struct {
	quick bool
	// counts are the fleet sizes of figure 3; counts[1] is the fleet of
	// figures 1, 2, 4, 5 and 7, counts[2] the large one.
	counts [3]int
	// events is the number of Engine events of figure 1 (half pauses).
	events int
	// window is one measurement window of figures 4 and 7.
	window time.Duration
	// tableRuns is how many times figure 3 runs each command.
	tableRuns int
	// clients are figure 4's numbers of concurrent clients.
	clients []int
	// fanout is figure 5's number of WebSocket clients.
	fanout       int
	fanoutWindow time.Duration
	// synthetic: containers, running ones, events per second, window.
	synContainers, synRunning, synRate int
	synWindow                          time.Duration
	// source is the --stats-source of the streamer in figures 1 to 5:
	// auto, as users run it, unless DOCKER_LIVE_BENCH_STATS_SOURCE says
	// otherwise (to tell the stats backends' effects apart).
	source string
}

func benchScaleFromEnv() benchScale {
	sc := benchSizes()
	sc.source = "auto"
	if s := os.Getenv("DOCKER_LIVE_BENCH_STATS_SOURCE"); s != "" {
		sc.source = s
	}
	return sc
}

func benchSizes() benchScale {
	if os.Getenv("DOCKER_LIVE_BENCH_QUICK") == "1" {
		return benchScale{
			quick: true, counts: [3]int{5, 20, 30}, events: 40, window: 5 * time.Second, tableRuns: 2,
			clients: []int{1, 5}, fanout: 100, fanoutWindow: 4 * time.Second,
			synContainers: 500, synRunning: 20, synRate: 2000, synWindow: 6 * time.Second,
		}
	}
	// The full run must stay under ten minutes on a 2-core machine, which
	// is why the overhead windows are 20 s rather than 30 s.
	return benchScale{
		counts: [3]int{10, 100, 200}, events: 300, window: 20 * time.Second, tableRuns: 3,
		clients: []int{1, 5, 10}, fanout: 1000, fanoutWindow: 10 * time.Second,
		synContainers: 5000, synRunning: 200, synRate: 10000, synWindow: 20 * time.Second,
	}
}

// benchRow is one line of the report: docker live's figure beside its
// anchor from the same run, the target and whether it was met.
type benchRow struct {
	Measure string
	Ours    string
	Anchor  string
	Target  string
	// Verdict is "met", "MISSED" or "" when the row has no target.
	Verdict string
}

type benchSection struct {
	title  string
	anchor string // what the anchor column is
	rows   []benchRow
	notes  []string
	ran    bool
}

// benchReport collects every figure of the run.
type benchReport struct {
	mu       sync.Mutex
	sections []*benchSection
	machine  []string
	started  time.Time
}

func (r *benchReport) section(title, anchor string) *benchSection {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sections {
		if s.title == title {
			return s
		}
	}
	s := &benchSection{title: title, anchor: anchor}
	r.sections = append(r.sections, s)
	return s
}

func (s *benchSection) add(row benchRow) { s.rows = append(s.rows, row) }

func (s *benchSection) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

func benchVerdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// Figures, in the order of the report.
const (
	figEvents    = "1. Event latency"
	figStatus    = "2. Status latency"
	figTable     = "3. First full table"
	figOverhead  = "4. Overhead"
	figFanout    = "5. Fan-out"
	figSynthetic = "6. Synthetic scale (synthetic)"
	figCgroup    = "7. cgroup stats source"
	figMicro     = "Hub micro-benchmarks"
)

var benchFigureOrder = []string{figEvents, figLoaded, figStatus, figTable, figOverhead, figFanout, figSynthetic, figCgroup, figHistory, figMemory, figMicro}

// TestBench runs every figure in one process, so that they share the fleet
// of containers and the report. Subtests can be picked with -run
// 'TestBench/NAME'; the report is then printed but not written.
func TestBench(t *testing.T) {
	if os.Getenv("DOCKER_LIVE_BENCH") != "1" {
		t.Skip("benchmarks run only with DOCKER_LIVE_BENCH=1 (make bench)")
	}
	sc := benchScaleFromEnv()
	rep := &benchReport{started: time.Now()}
	rep.machine = benchMachine(t)
	for _, title := range benchFigureOrder {
		rep.section(title, "")
	}
	f := &benchFleet{t: t, label: testLabel(t)}
	t.Cleanup(f.removeAll)
	b := &bench{t: t, sc: sc, rep: rep, fleet: f}
	t.Cleanup(func() { b.stopStreamer(t) })

	// Sizes grow monotonically so that no container is created twice.
	t.Run("table-small", func(t *testing.T) { b.firstTable(t, sc.counts[0]) })
	t.Run("table-medium", func(t *testing.T) { b.firstTable(t, sc.counts[1]) })
	t.Run("latency", b.latency)
	t.Run("latency-loaded", b.latencyLoaded)
	t.Run("overhead", b.overhead)
	t.Run("fanout", b.fanout)
	t.Run("cgroup-medium", func(t *testing.T) { b.cgroup(t, sc.counts[1]) })
	t.Run("memory-medium", func(t *testing.T) { b.memoryFigure(t, sc.counts[1]) })
	t.Run("table-large", func(t *testing.T) { b.firstTable(t, sc.counts[2]) })
	t.Run("rss-large", b.rssLarge)
	t.Run("cgroup-large", func(t *testing.T) { b.cgroup(t, sc.counts[2]) })
	t.Run("memory-large", func(t *testing.T) { b.memoryFigure(t, sc.counts[2]) })
	t.Run("history", b.history)
	// The synthetic Engine needs no real containers: remove them first, so
	// that the real Engine's load does not eat into the CPU it needs.
	b.stopStreamer(t)
	f.removeAll()
	t.Run("synthetic", b.synthetic)
	t.Run("micro", b.micro)

	rep.machine = append(rep.machine, fmt.Sprintf("run took %s", time.Since(rep.started).Round(time.Second)))
	text := rep.markdown(sc)
	t.Logf("\n%s", text)
	b.writeDoc(t, text)
}

// bench is the state shared by the figures of one run.
type bench struct {
	t     *testing.T
	sc    benchScale
	rep   *benchReport
	fleet *benchFleet

	mu       sync.Mutex
	streamer *benchStreamer
	// cgroupNA says why figure 7 could not run, once found out.
	cgroupNA string
}

func (b *bench) writeDoc(t *testing.T, generated string) {
	path := os.Getenv("DOCKER_LIVE_BENCH_DOC")
	if path == "" {
		if b.sc.quick || b.sc.source != "auto" {
			t.Logf("quick run or stats source not auto: docs/performance.md left as it is (set DOCKER_LIVE_BENCH_DOC to write elsewhere)")
			return
		}
		for _, s := range b.rep.sections {
			if !s.ran {
				t.Logf("partial run (%q did not run): docs/performance.md left as it is", s.title)
				return
			}
		}
		path = filepath.Join(repoRoot, "docs", "performance.md")
	}
	if err := writeBenchDoc(path, generated); err != nil {
		t.Errorf("writing %s: %v", path, err)
		return
	}
	t.Logf("wrote %s", path)
}

// micro runs the hub's Go benchmarks, so that the report holds them too.
func (b *bench) micro(t *testing.T) {
	sec := b.rep.section(figMicro, "")
	out, err := commandOutputIn(repoRoot, 5*time.Minute, nil, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "./stream/hub")
	if err != nil {
		t.Fatalf("go test -bench ./stream/hub: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		// Name-GOMAXPROCS, iterations, then value/unit pairs.
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		var parts []string
		for i := 2; i+1 < len(f); i += 2 {
			parts = append(parts, f[i]+" "+f[i+1])
		}
		sec.add(benchRow{Measure: strings.TrimPrefix(name, "Benchmark"), Ours: strings.Join(parts, ", ")})
	}
	sec.ran = true
	sec.note("`go test -run '^$' -bench . -benchmem ./stream/hub` (stream/hub/hub_bench_test.go): one event broadcast to N " +
		"subscribers, and one second of a 200-container host (a sample per container, then the flush that encodes the batch " +
		"once and offers it to every subscriber); queues drained as the write pumps would, without the socket writes.")
}

// ---- machine ----------------------------------------------------------

func benchMachine(t *testing.T) []string {
	var out []string
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "?"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				mem = fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	out = append(out, fmt.Sprintf("CPU: %s, %d cores; memory %s", model, benchNumCPU(), mem))
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	cgroup := "cgroup v1"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		cgroup = "cgroup v2"
	}
	out = append(out, fmt.Sprintf("kernel %s, %s", strings.TrimSpace(string(kernel)), cgroup))
	ver := dockerCmd(t, "version", "--format", "Engine {{.Server.Version}} (API {{.Server.APIVersion}}), docker CLI {{.Client.Version}}")
	out = append(out, ver+", docker live "+pluginVersion+" (this tree, "+benchGitDescribe()+")")
	running := len(strings.Fields(dockerCmd(t, "ps", "-q")))
	all := len(strings.Fields(dockerCmd(t, "ps", "-aq")))
	load, _ := os.ReadFile("/proc/loadavg")
	out = append(out, fmt.Sprintf("at start: %d containers on the Engine (%d running) that are not this run's; load average %s",
		all, running, strings.Join(strings.Fields(string(load))[:3], " ")))
	out = append(out, "date: "+time.Now().UTC().Format("2006-01-02 15:04 MST"))
	return out
}

func benchNumCPU() int {
	n := 0
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "processor") {
				n++
			}
		}
	}
	return n
}

func benchGitDescribe() string {
	out, err := commandOutputIn(repoRoot, 10*time.Second, nil, "git", "describe", "--tags", "--always", "--dirty")
	if err != nil {
		return "no git"
	}
	return out
}

// ---- fleet ------------------------------------------------------------

// benchFleet is the run's set of idle helper containers (no network, no health
// check), started in parallel and removed in batches: one `docker rm` per
// container would take minutes at 200.
type benchFleet struct {
	t     *testing.T
	label string // the per-test label every fleet container carries
	mu    sync.Mutex
	ids   []string
}

// ensure starts containers until n run, and returns the first n ids.
func (f *benchFleet) ensure(t *testing.T, n int) []string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	missing := n - len(f.ids)
	if missing > 0 {
		start := time.Now()
		ids := make([]string, missing)
		errs := make([]string, missing)
		work := make(chan int)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for i := range work {
					args := append([]string{"run", "-d", "--network", "none", "--no-healthcheck", "--name", uniqueName("bench")}, labelArgs(f.t)...)
					args = append(args, imageRef)
					done := beginCreate(t)
					stdout, stderr, code := dockerTry(t, args...)
					done()
					ids[i] = strings.TrimSpace(stdout)
					if code != 0 {
						errs[i] = fmt.Sprintf("docker run: exit %d: %s", code, strings.TrimSpace(stderr))
					}
				}
			})
		}
		for i := range missing {
			work <- i
		}
		close(work)
		wg.Wait()
		for i, id := range ids {
			if id != "" {
				f.ids = append(f.ids, id)
			}
			if errs[i] != "" {
				t.Fatalf("starting fleet containers: %s", errs[i])
			}
		}
		t.Logf("fleet: started %d containers in %s (now %d)", missing, time.Since(start).Round(time.Millisecond), len(f.ids))
	}
	return slices.Clone(f.ids[:n])
}

func (f *benchFleet) removeAll() {
	f.mu.Lock()
	ids := f.ids
	f.ids = nil
	f.mu.Unlock()
	var wg sync.WaitGroup
	for chunk := range slices.Chunk(ids, 50) {
		wg.Go(func() {
			if out, err := commandOutput(5*time.Minute, dockerEnv(nil), append([]string{"docker", "rm", "-f", "-v"}, chunk...)...); err != nil {
				fmt.Fprintf(os.Stderr, "bench: removing fleet containers: %v: %s\n", err, oneLine(out))
			}
		})
	}
	wg.Wait()
}

// ---- streamer ---------------------------------------------------------

type benchStreamer struct {
	pid    int
	socket string
	source string // --stats-source
}

// ensureStreamer starts this run's detached streamer (for the real Engine)
// with the given stats source unless one with it already runs.
func (b *bench) ensureStreamer(t *testing.T, source string) *benchStreamer {
	t.Helper()
	b.mu.Lock()
	cur := b.streamer
	b.mu.Unlock()
	if cur != nil && cur.source == source && benchAlive(cur.pid) {
		return cur
	}
	b.stopStreamer(t)
	done := beginCreate(t)
	out, stderr, code := dockerTry(t, "live", "serve", "--detach", "--idle-timeout", "0", "--stats-source", source)
	done()
	if code != 0 {
		t.Fatalf("docker live serve --detach --stats-source %s: exit %d: %s %s", source, code, out, stderr)
	}
	var info struct {
		PID    int    `json:"pid"`
		Socket string `json:"socket"`
	}
	if err := json.Unmarshal([]byte(benchFirstLine(dockerCmd(t, "live", "status", "--format", "json"))), &info); err != nil || info.PID == 0 {
		t.Fatalf("docker live status --format json: %v", err)
	}
	s := &benchStreamer{pid: info.PID, socket: info.Socket, source: source}
	b.mu.Lock()
	b.streamer = s
	b.mu.Unlock()
	return s
}

func (b *bench) stopStreamer(t testing.TB) {
	b.mu.Lock()
	s := b.streamer
	b.streamer = nil
	b.mu.Unlock()
	if s == nil {
		return
	}
	_, _ = commandOutput(30*time.Second, dockerEnv(nil), "docker", "live", "stop")
	deadline := time.Now().Add(10 * time.Second)
	for benchAlive(s.pid) && !benchZombie(s.pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // poll until the pid is gone
	}
}

func benchAlive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func benchZombie(pid int) bool {
	st, err := benchReadProcStat(pid)
	return err == nil && st.state == 'Z'
}

func benchFirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// benchWatchRow is the part of a `docker live watch --format json` line the
// benchmarks read.
type benchWatchRow struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	MemUsage uint64 `json:"mem_usage"`
}

// waitWarm waits until the streamer holds a sample for each of ids, which
// is what a streamer that has been running for a while looks like.
func (b *bench) waitWarm(t *testing.T, ids []string) {
	t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	eventually(t, 60*time.Second, func() error {
		stdout, stderr, code := dockerTry(t, "live", "watch", "--no-stream", "--format", "json", "--filter", "label="+b.fleet.label)
		if code != 0 {
			return fmt.Errorf("watch --no-stream: exit %d: %s", code, oneLine(stderr))
		}
		warm := 0
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var r benchWatchRow
			if json.Unmarshal([]byte(line), &r) == nil && want[r.ID] && r.MemUsage > 0 {
				warm++
			}
		}
		if warm < len(ids) {
			return fmt.Errorf("streamer has samples for %d of %d containers", warm, len(ids))
		}
		return nil
	})
}

// benchStatsSources says where the streamer's samples come from, as its
// /v1/health counts them, e.g. "cgroup 100".
func benchStatsSources(s *benchStreamer) string {
	h, err := benchHealth(s.socket)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	m, _ := h["stats_sources"].(map[string]any)
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %v", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// benchHealth reads the streamer's /v1/health.
func benchHealth(socket string) (map[string]any, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://docker-live/v1/health")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	return body, json.NewDecoder(resp.Body).Decode(&body)
}

// ---- timed processes --------------------------------------------------

// benchStartTimed starts argv (docker or the plugin binary) like startDocker,
// but hands each stdout line to onLine with the time it was read, in the
// reading goroutine, so that latencies are taken at receipt rather than
// when a consumer gets round to the line. onLine must be quick; the slice
// is reused after it returns. The process is killed on t.Cleanup.
func benchStartTimed(t testing.TB, env []string, onLine func(at time.Time, line []byte), argv ...string) *Proc {
	t.Helper()
	lines := make(chan string)
	p := &Proc{
		Lines:      lines,
		args:       argv,
		stopped:    make(chan struct{}),
		readerDone: make(chan struct{}),
		done:       make(chan struct{}),
	}
	if env == nil {
		env = dockerEnv(nil)
	}
	p.launch(t, argv[0], argv[1:], env, func(pr io.Reader) {
		defer close(lines)
		r := bufio.NewReaderSize(pr, 256<<10)
		var partial []byte
		for {
			line, err := r.ReadSlice('\n')
			if err == bufio.ErrBufferFull {
				partial = append(partial, line...)
				continue
			}
			if len(line) > 0 || len(partial) > 0 {
				at := time.Now()
				if len(partial) > 0 {
					line = append(partial, line...)
					partial = partial[:0]
				}
				onLine(at, line)
			}
			if err != nil {
				return
			}
		}
	})
	t.Cleanup(p.Kill)
	return p
}

// benchPID is the process id of the command itself (docker, or the plugin).
func benchPID(p *Proc) int { return p.cmd.Process.Pid }

// ---- /proc ------------------------------------------------------------

// benchClockTicks is USER_HZ, 100 on every Linux architecture Docker runs on.
const benchClockTicks = 100

type benchProcStat struct {
	state                        byte
	ppid                         int
	utime, stime, cutime, cstime int64
	comm                         string
}

func benchReadProcStat(pid int) (benchProcStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return benchProcStat{}, err
	}
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < 0 || end+2 >= len(s) {
		return benchProcStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[end+2:])
	if len(f) < 15 {
		return benchProcStat{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	num := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	return benchProcStat{
		state: f[0][0], ppid: int(num(1)), comm: s[open+1 : end],
		utime: num(11), stime: num(12), cutime: num(13), cstime: num(14),
	}, nil
}

// benchMem is a process's memory from /proc/PID/status, in KiB. File is
// mostly the binary's own pages, which say little about the data it holds.
type benchMem struct {
	rss, hwm, anon, file int64
}

func (m benchMem) String() string {
	return fmt.Sprintf("%s (anon %.1f + file %.1f)", benchMiB(m.rss), float64(m.anon)/1024, float64(m.file)/1024)
}

// benchRSS reads VmRSS, VmHWM (the peak since start), RssAnon and RssFile.
func benchRSS(pid int) benchMem {
	var m benchMem
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = v
		case "VmHWM:":
			m.hwm = v
		case "RssAnon:":
			m.anon = v
		case "RssFile:":
			m.file = v
		}
	}
	return m
}

// benchAllPIDs lists every process.
func benchAllPIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// benchChildren returns the pids whose parent is one of parents.
func benchChildren(parents []int) []int {
	set := map[int]bool{}
	for _, p := range parents {
		set[p] = true
	}
	var out []int
	for _, pid := range benchAllPIDs() {
		if st, err := benchReadProcStat(pid); err == nil && set[st.ppid] {
			out = append(out, pid)
		}
	}
	return out
}

// benchEnginePIDs returns the dockerd that serves /var/run/docker.sock and
// its containerd, and the containerd shims of the given containers. Other
// daemons (tests may run private ones) and other tests' shims are left out.
func benchEnginePIDs(containerIDs []string) (daemons, shims []int) {
	ours := map[string]bool{}
	for _, id := range containerIDs {
		ours[id] = true
	}
	listening := benchDockerSocketInodes()
	type proc struct{ pid, ppid int }
	var containerds []proc
	for _, pid := range benchAllPIDs() {
		st, err := benchReadProcStat(pid)
		if err != nil {
			continue
		}
		switch {
		case st.comm == "dockerd":
			if benchHoldsSocket(pid, listening) {
				daemons = append(daemons, pid)
			}
		case st.comm == "containerd" && st.state != 'Z':
			containerds = append(containerds, proc{pid, st.ppid})
		case strings.HasPrefix(st.comm, "containerd-shim"):
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			args := strings.Split(string(cmdline), "\x00")
			if i := slices.Index(args, "-id"); i >= 0 && i+1 < len(args) && ours[args[i+1]] {
				shims = append(shims, pid)
			}
		}
	}
	// containerd is the daemon's child (Debian's docker.io), or a system
	// service of its own.
	dockerds := slices.Clone(daemons)
	for _, c := range containerds {
		if slices.Contains(dockerds, c.ppid) || c.ppid == 1 {
			daemons = append(daemons, c.pid)
		}
	}
	return daemons, shims
}

// benchDockerSocketInodes returns the inodes of the listening sockets
// bound to the default Engine socket path.
func benchDockerSocketInodes() map[string]bool {
	out := map[string]bool{}
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		// Num RefCount Protocol Flags Type St Inode Path; flags 00010000
		// mark a listening socket.
		if len(f) == 8 && f[3] == "00010000" && (f[7] == "/var/run/docker.sock" || f[7] == "/run/docker.sock") {
			out["socket:["+f[6]+"]"] = true
		}
	}
	return out
}

func benchHoldsSocket(pid int, sockets map[string]bool) bool {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if link, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && sockets[link] {
			return true
		}
	}
	return false
}

// benchCPUMeter sums the CPU time of a fixed set of processes between begin and
// end. withChildren also counts children they reaped (runc, for shims).
type benchCPUMeter struct {
	pids         []int
	withChildren bool
	start        map[int]int64
	last         map[int]int64
}

func newBenchCPUMeter(pids []int, withChildren bool) *benchCPUMeter {
	m := &benchCPUMeter{pids: pids, withChildren: withChildren, start: map[int]int64{}, last: map[int]int64{}}
	for _, pid := range pids {
		if v, ok := m.ticks(pid); ok {
			m.start[pid] = v
			m.last[pid] = v
		}
	}
	return m
}

func (m *benchCPUMeter) ticks(pid int) (int64, bool) {
	st, err := benchReadProcStat(pid)
	if err != nil {
		return 0, false
	}
	v := st.utime + st.stime
	if m.withChildren {
		v += st.cutime + st.cstime
	}
	return v, true
}

// seconds is the CPU time used since the meter was made. A process that
// exited meanwhile counts up to its last reading.
func (m *benchCPUMeter) seconds() float64 {
	var total int64
	for _, pid := range m.pids {
		if v, ok := m.ticks(pid); ok {
			m.last[pid] = v
		}
		total += m.last[pid] - m.start[pid]
	}
	return float64(total) / benchClockTicks
}

// benchSelfCPU is this test process's user+system CPU time.
func benchSelfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRSSSampler samples a process's memory every 200 ms and keeps the
// sample with the highest VmRSS.
type benchRSSSampler struct {
	stop chan struct{}
	done chan struct{}
	peak benchMem
	last benchMem
}

func benchSampleRSS(pid int) *benchRSSSampler {
	s := &benchRSSSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			if m := benchRSS(pid); m.rss > 0 {
				s.last = m
				if m.rss > s.peak.rss {
					s.peak = m
				}
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// end stops sampling and returns the peak and the last sample. It may be
// called more than once.
func (s *benchRSSSampler) end() (peak, last benchMem) {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return s.peak, s.last
}

// PeakKiB stops sampling and returns the highest VmRSS seen, in KiB.
func (s *benchRSSSampler) PeakKiB() int {
	peak, _ := s.end()
	return int(peak.rss)
}

// ---- numbers ----------------------------------------------------------

// benchPercentile returns the p-th percentile (0 < p <= 1) by the nearest-rank
// method; ds must be sorted.
func benchPercentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(ds)))) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

func benchMedian(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func benchMS(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func benchMiB(kb int64) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }

func benchCPUStr(sec float64, window time.Duration) string {
	return fmt.Sprintf("%.2f s (%.1f%% of a core)", sec, 100*sec/window.Seconds())
}
