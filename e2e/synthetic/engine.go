// Package synthetic is a fake Docker Engine API for the synthetic-scale
// benchmark only: it lets the real streamer face more containers and a
// faster event stream than the test machine's Engine can produce. It is not
// a test double for behaviour; unit tests have their own fakes.
//
// It speaks just enough of API 1.41 for the streamer: /_ping, /version,
// /info, /events (a paced stream of container events), /containers/json,
// /containers/{id}/json and /containers/{id}/stats (a stream of one constant
// record a second per running container, or one one-shot record, which the
// streamer's API source polls for on API 1.41).
package synthetic

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// APIVersion is the API version the fake reports (Debian's Engine 20.10).
const APIVersion = "1.41"

// Config sizes the fake Engine. Zero values mean the defaults beside them.
type Config struct {
	// Containers is how many containers exist. Zero means 5000.
	Containers int
	// Running is how many of them (the first ones) run and stream stats;
	// the rest have exited. Zero means 200; negative means none.
	Running int
	// EventRate is the container events per second each /events client
	// gets. Zero means 10000.
	EventRate int
	// StatsInterval is the pause between stats records. Zero means 1 s.
	StatsInterval time.Duration
}

// FakeEngine is a running fake Engine on a loopback TCP port.
type FakeEngine struct {
	cfg     Config
	srv     *http.Server
	ln      net.Listener
	started time.Time
	ctx     context.Context
	cancel  context.CancelFunc

	containers []fakeContainer
	byID       map[string]int
	// healthy is each container's health, flipped by its health_status
	// events so that an inspect agrees with the events sent before it.
	healthy []atomic.Bool

	// clock is time.Now, or a test's clock.
	clock func() time.Time
	log   eventLog

	eventsMade   atomic.Int64
	eventsSent   atomic.Int64
	statsSent    atomic.Int64
	eventStreams atomic.Int64
	statsStreams atomic.Int64
	requests     sync.Map // endpoint kind -> *atomic.Int64
	wg           sync.WaitGroup
}

type fakeContainer struct {
	id      string
	name    string
	running bool
}

// Start listens on 127.0.0.1 (a free port) and serves until Close. The
// event generator starts at once, paced by a 1 ms ticker: like a real
// Engine, it makes events whether or not anyone listens.
func Start(cfg Config) (*FakeEngine, error) {
	e, err := start(cfg, time.Now)
	if err != nil {
		return nil, err
	}
	t := time.NewTicker(time.Millisecond)
	e.wg.Go(func() {
		defer t.Stop()
		e.generate(t.C, e.ctx.Done())
	})
	return e, nil
}

// start is Start without the generator, which tests drive with their own
// clock and ticks.
func start(cfg Config, clock func() time.Time) (*FakeEngine, error) {
	if cfg.Containers <= 0 {
		cfg.Containers = 5000
	}
	if cfg.Running == 0 {
		cfg.Running = 200
	}
	if cfg.Running < 0 {
		cfg.Running = 0
	}
	cfg.Running = min(cfg.Running, cfg.Containers)
	if cfg.EventRate <= 0 {
		cfg.EventRate = 10000
	}
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = time.Second
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &FakeEngine{
		cfg: cfg, ln: ln, started: clock(), ctx: ctx, cancel: cancel, clock: clock,
		containers: make([]fakeContainer, cfg.Containers),
		byID:       make(map[string]int, cfg.Containers),
		healthy:    make([]atomic.Bool, cfg.Containers),
	}
	for i := range e.containers {
		id := fmt.Sprintf("5e%062x", i+1)
		e.containers[i] = fakeContainer{id: id, name: fmt.Sprintf("syn-%05d", i), running: i < cfg.Running}
		e.byID[id] = i
		e.healthy[i].Store(true)
	}
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve), ReadHeaderTimeout: 10 * time.Second}
	e.wg.Go(func() { _ = e.srv.Serve(ln) })
	return e, nil
}

// Host is the DOCKER_HOST value that reaches the fake.
func (e *FakeEngine) Host() string { return "tcp://" + e.ln.Addr().String() }

// EventsGenerated is the number of events the Engine made: each once,
// however many /events clients read it. Paced, it is EventRate a second.
func (e *FakeEngine) EventsGenerated() int64 { return e.eventsMade.Load() }

// EventsSent is the number of event lines written to all /events clients
// together (the same event to two clients counts twice).
func (e *FakeEngine) EventsSent() int64 { return e.eventsSent.Load() }

// EventSubscribers is how many /events clients follow the live events (a
// query wholly in the past is not one).
func (e *FakeEngine) EventSubscribers() int { return e.log.subscribers() }

// EventDrops is how many /events clients were dropped for falling a second
// behind.
func (e *FakeEngine) EventDrops() int64 { return e.log.drops() }

// StatsSent is the number of stats records written.
func (e *FakeEngine) StatsSent() int64 { return e.statsSent.Load() }

// Streams is the number of open /events and stats streams.
func (e *FakeEngine) Streams() (events, stats int64) {
	return e.eventStreams.Load(), e.statsStreams.Load()
}

// Requests counts the requests served per endpoint kind ("ping", "version",
// "info", "events", "list", "inspect", "stats", "other").
func (e *FakeEngine) Requests() map[string]int64 {
	out := map[string]int64{}
	e.requests.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// Close ends every stream and stops serving.
func (e *FakeEngine) Close() error {
	e.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := e.srv.Shutdown(ctx)
	e.wg.Wait()
	return err
}

func (e *FakeEngine) count(kind string) {
	v, ok := e.requests.Load(kind)
	if !ok {
		v, _ = e.requests.LoadOrStore(kind, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

var versionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/`)

func (e *FakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	p := versionPrefix.ReplaceAllString(r.URL.Path, "/")
	w.Header().Set("Api-Version", APIVersion)
	w.Header().Set("Ostype", "linux")
	w.Header().Set("Server", "Docker/20.10.24-synthetic (linux)")
	switch {
	case p == "/_ping":
		e.count("ping")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte("OK"))
		}
	case p == "/version":
		e.count("version")
		writeJSON(w, map[string]any{
			"Version": "20.10.24-synthetic", "ApiVersion": APIVersion, "MinAPIVersion": "1.12",
			"Os": "linux", "Arch": "amd64", "KernelVersion": "synthetic", "GoVersion": "go1.26",
		})
	case p == "/info":
		e.count("info")
		running := e.cfg.Running
		writeJSON(w, map[string]any{
			"ID": "synthetic", "Name": "synthetic", "ServerVersion": "20.10.24-synthetic",
			"Containers": len(e.containers), "ContainersRunning": running, "ContainersStopped": len(e.containers) - running,
			"SystemTime": e.clock().Format(time.RFC3339Nano), "OSType": "linux", "NCPU": 2,
		})
	case p == "/events":
		e.count("events")
		e.serveEvents(w, r)
	case p == "/containers/json":
		e.count("list")
		e.serveList(w, r)
	case strings.HasPrefix(p, "/containers/") && strings.HasSuffix(p, "/json"):
		e.count("inspect")
		e.serveInspect(w, strings.TrimSuffix(strings.TrimPrefix(p, "/containers/"), "/json"))
	case strings.HasPrefix(p, "/containers/") && strings.HasSuffix(p, "/stats"):
		e.count("stats")
		e.serveStats(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/containers/"), "/stats"))
	default:
		e.count("other")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(w, `{"message":"page not found: %s"}`, strconv.Quote(p))
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter, id string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = fmt.Fprintf(w, `{"message":"No such container: %s"}`, id)
}

const (
	image   = "synthetic/app:1"
	created = 1700000000
)

func (e *FakeEngine) lookup(idOrName string) (int, bool) {
	if i, ok := e.byID[idOrName]; ok {
		return i, true
	}
	// Short ids and names, as a real Engine accepts them.
	for i, c := range e.containers {
		if c.name == idOrName || (len(idOrName) >= 12 && strings.HasPrefix(c.id, idOrName)) {
			return i, true
		}
	}
	return 0, false
}

func (e *FakeEngine) healthText(i int) string {
	if e.healthy[i].Load() {
		return "healthy"
	}
	return "unhealthy"
}

func (e *FakeEngine) serveList(w http.ResponseWriter, r *http.Request) {
	all := r.URL.Query().Get("all") == "1" || r.URL.Query().Get("all") == "true"
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	_ = bw.WriteByte('[')
	first := true
	for i, c := range e.containers {
		if !all && !c.running {
			continue
		}
		if !first {
			_ = bw.WriteByte(',')
		}
		first = false
		state, status := "exited", "Exited (0) 2 hours ago"
		if c.running {
			state, status = "running", "Up 2 hours ("+e.healthText(i)+")"
		}
		fmt.Fprintf(bw, `{"Id":%q,"Names":["/%s"],"Image":%q,"ImageID":"sha256:%064x","Command":"/app serve","Created":%d,`+
			`"Ports":[],"Labels":{"com.docker.compose.project":"synthetic","com.docker.compose.service":"app"},`+
			`"State":%q,"Status":%q,"HostConfig":{"NetworkMode":"none"},"NetworkSettings":{"Networks":{}},"Mounts":[]}`,
			c.id, c.name, image, 1, created, state, status)
	}
	_ = bw.WriteByte(']')
	_ = bw.Flush()
}

func (e *FakeEngine) serveInspect(w http.ResponseWriter, idOrName string) {
	i, ok := e.lookup(idOrName)
	if !ok {
		notFound(w, idOrName)
		return
	}
	c := e.containers[i]
	startedAt := time.Unix(created+60, 0).UTC().Format(time.RFC3339Nano)
	finishedAt := "0001-01-01T00:00:00Z"
	status, pid, running := "exited", 0, false
	if c.running {
		// Above the kernel's largest pid (2^22), so that nothing reading
		// /proc can take a synthetic container for a real process.
		status, pid, running = "running", 1<<22+1+i, true
	} else {
		finishedAt = time.Unix(created+3600, 0).UTC().Format(time.RFC3339Nano)
	}
	writeJSON(w, map[string]any{
		"Id": c.id, "Name": "/" + c.name, "Created": time.Unix(created, 0).UTC().Format(time.RFC3339Nano),
		"Path": "/app", "Args": []string{"serve"}, "Image": fmt.Sprintf("sha256:%064x", 1), "RestartCount": 0,
		"State": map[string]any{
			"Status": status, "Running": running, "Paused": false, "Restarting": false, "OOMKilled": false,
			"Dead": false, "Pid": pid, "ExitCode": 0, "StartedAt": startedAt, "FinishedAt": finishedAt,
			"Health": map[string]any{"Status": e.healthText(i), "FailingStreak": 0},
		},
		"Config": map[string]any{
			"Image": image, "Cmd": []string{"serve"},
			"Labels": map[string]string{"com.docker.compose.project": "synthetic", "com.docker.compose.service": "app"},
		},
		"HostConfig":      map[string]any{"NetworkMode": "none"},
		"NetworkSettings": map[string]any{"Ports": map[string]any{}, "Networks": map[string]any{}},
	})
}

// statsRecord is a cheap, constant reading; only the timestamps and the
// growing CPU counters change, so that CPU % is defined: each step n adds
// 10 ms of CPU time against 2 s of the system's (two CPUs for a second), 1 %.
// A one-shot record has no previous reading, as the Engine's (API 1.41)
// has none: its precpu_stats and preread are empty.
func statsRecord(dst []byte, id, name string, now, prev time.Time, n uint64, oneShot bool) []byte {
	dst = append(dst, `{"read":"`...)
	dst = now.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","preread":"`...)
	dst = prev.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = fmt.Appendf(dst, `","pids_stats":{"current":3},"blkio_stats":{"io_service_bytes_recursive":[{"major":8,"minor":0,"op":"Read","value":4096},{"major":8,"minor":0,"op":"Write","value":8192}]},`+
		`"num_procs":0,"cpu_stats":{"cpu_usage":{"total_usage":%d,"usage_in_kernelmode":0,"usage_in_usermode":%d},"system_cpu_usage":%d,"online_cpus":2,"throttling_data":{}},`,
		(n+1)*10_000_000, (n+1)*10_000_000, (n+1)*2_000_000_000)
	if oneShot {
		dst = append(dst, `"precpu_stats":{"cpu_usage":{"total_usage":0},"throttling_data":{}},`...)
	} else {
		dst = fmt.Appendf(dst, `"precpu_stats":{"cpu_usage":{"total_usage":%d},"system_cpu_usage":%d,"online_cpus":2,"throttling_data":{}},`, n*10_000_000, n*2_000_000_000)
	}
	dst = fmt.Appendf(dst, `"memory_stats":{"usage":16777216,"max_usage":20971520,"stats":{"total_inactive_file":1048576},"limit":8589934592},`+
		`"name":"/%s","id":%q,"networks":{"eth0":{"rx_bytes":%d,"tx_bytes":%d}}}`+"\n",
		name, id, 1000*n, 500*n)
	return dst
}

func (e *FakeEngine) serveStats(w http.ResponseWriter, r *http.Request, idOrName string) {
	i, ok := e.lookup(idOrName)
	if !ok {
		notFound(w, idOrName)
		return
	}
	c := e.containers[i]
	q := r.URL.Query()
	stream := q.Get("stream") != "0" && q.Get("stream") != "false"
	oneShot := !stream && (q.Get("one-shot") == "1" || q.Get("one-shot") == "true")
	w.Header().Set("Content-Type", "application/json")
	rc := http.NewResponseController(w)
	var buf []byte
	prev := time.Time{}
	write := func(n uint64) error {
		now := time.Now()
		if c.running {
			buf = statsRecord(buf[:0], c.id, c.name, now, prev, n, oneShot)
		} else {
			buf = append(buf[:0], `{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","name":"/`+c.name+`","id":"`+c.id+`"}`+"\n"...)
		}
		prev = now
		if _, err := w.Write(buf); err != nil {
			return err
		}
		e.statsSent.Add(1)
		return rc.Flush()
	}
	if oneShot {
		// The counters grow with the Engine's uptime, one step per stats
		// interval, so that a poller's successive answers give 1 %.
		_ = write(uint64(e.clock().Sub(e.started)/e.cfg.StatsInterval) + 1)
		return
	}
	if !stream {
		_ = write(1)
		return
	}
	e.statsStreams.Add(1)
	defer e.statsStreams.Add(-1)
	t := time.NewTicker(e.cfg.StatsInterval)
	defer t.Stop()
	for n := uint64(0); ; n++ {
		if err := write(n); err != nil {
			return
		}
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-e.ctx.Done():
			return
		}
	}
}

// Events cycle through the containers in the order of a health check:
// exec_create, exec_start, exec_die, then health_status, which alternates
// between healthy and unhealthy on each pass. Three of four events change
// nothing a streamer reports; the fourth changes a container's health.
var execActions = [3]string{"exec_create: /app health", "exec_start: /app health", "exec_die"}

// SeqAttribute is the actor attribute that numbers every generated event
// from 0, so a reader can check that it got each event exactly once.
const SeqAttribute = "synthetic.seq"

// appendEvent appends event number k (from 0) stamped at nano as one line,
// in the Engine's 1.41 shape (with the legacy status, id and from fields).
func (e *FakeEngine) appendEvent(dst []byte, k int64, nano int64) []byte {
	n := int64(len(e.containers))
	i := int(k % n)
	pass := k / n
	c := e.containers[i]
	var action string
	extra := ""
	switch pass % 4 {
	case 0, 1, 2:
		action = execActions[pass%4]
		extra = fmt.Sprintf(`"execID":"%016x%016x",`, pass, k)
		if pass%4 == 2 {
			extra += `"exitCode":"0",`
		}
	default:
		healthy := (pass/4)%2 == 1
		e.healthy[i].Store(healthy)
		if healthy {
			action = "health_status: healthy"
		} else {
			action = "health_status: unhealthy"
		}
	}
	dst = append(dst, `{"status":"`...)
	dst = append(dst, action...)
	dst = append(dst, `","id":"`...)
	dst = append(dst, c.id...)
	dst = append(dst, `","from":"`+image+`","Type":"container","Action":"`...)
	dst = append(dst, action...)
	dst = append(dst, `","Actor":{"ID":"`...)
	dst = append(dst, c.id...)
	dst = append(dst, `","Attributes":{`...)
	dst = append(dst, extra...)
	dst = append(dst, `"com.docker.compose.project":"synthetic","com.docker.compose.service":"app","image":"`+image+`","name":"`...)
	dst = append(dst, c.name...)
	dst = append(dst, `","`+SeqAttribute+`":"`...)
	dst = strconv.AppendInt(dst, k, 10)
	dst = append(dst, `"}},"scope":"local","time":`...)
	dst = strconv.AppendInt(dst, nano/1e9, 10)
	dst = append(dst, `,"timeNano":`...)
	dst = strconv.AppendInt(dst, nano, 10)
	dst = append(dst, "}\n"...)
	return dst
}

// serveEvents serves /events as the Engine does: the past events kept in
// the log's buffer from since (inclusive), then, unless until has passed,
// the live events as the generator makes them, up to until (inclusive).
// Every client gets the same events with the same stamps, so a client that
// reads the same event on two paths (a streamer and a catch-up query) can
// recognise it.
func (e *FakeEngine) serveEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, okSince := parseEngineTime(q.Get("since"))
	until, okUntil := parseEngineTime(q.Get("until"))
	if !okSince || !okUntil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"message":"invalid since or until"}` + "\n"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return
	}
	e.eventStreams.Add(1)
	defer e.eventStreams.Add(-1)
	past, sub := e.log.subscribe(since, until, e.clock())
	if sub != nil {
		defer e.log.unsubscribe(sub)
	}
	if len(past) > 0 {
		n, _ := countLines(past)
		if _, err := w.Write(past); err != nil {
			return
		}
		e.eventsSent.Add(n)
		if err := rc.Flush(); err != nil {
			return
		}
	}
	if sub == nil { // a window wholly in the past: the buffer is all
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-e.ctx.Done():
			return
		case <-sub.dropped:
			return // too slow to keep up: the Engine would drop it as well
		case b := <-sub.batches:
			if until != 0 && b.nano > until {
				return
			}
			if _, err := w.Write(b.lines); err != nil {
				return
			}
			e.eventsSent.Add(b.n)
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}

// parseEngineTime reads the Engine's since/until form (seconds, with an
// optional fraction: "1700000000.123456789") into Unix nanoseconds; "" is 0.
func parseEngineTime(s string) (int64, bool) {
	if s == "" {
		return 0, true
	}
	secs, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return 0, false
	}
	var nano int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		frac += strings.Repeat("0", 9-len(frac))
		if nano, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return 0, false
		}
	}
	return sec*1e9 + nano, true
}

func countLines(b []byte) (int64, error) {
	var n int64
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n, nil
}
