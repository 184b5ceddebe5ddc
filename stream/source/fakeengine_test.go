package source

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// fakeEngine is a FAKE Docker Engine for unit tests: an HTTP server on
// loopback speaking just enough of the Engine API (/_ping, /version, /info,
// /events, /containers/json, /containers/{id}/json, /containers/{id}/stats)
// for a real *client.Client. Its operations change a container and emit the
// matching event together, as the Engine does. It can go down (the listener
// closes and every connection is cut, so clients see connection refused) and
// come back on the same address.
type fakeEngine struct {
	t    *testing.T
	addr string
	srv  *http.Server

	mu         sync.Mutex
	ln         net.Listener
	conns      map[net.Conn]struct{}
	downCh     chan struct{} // closed while down, ending open streams
	containers map[string]*fakeContainer
	history    []events.Message
	subs       map[chan events.Message]struct{}
	lastNano   int64
	nextID     int
	requests   []string // "GET /events?since=..." in arrival order
	// inspectGate, when set, holds inspect answers until it is closed. The
	// answer is the state from when the request arrived, as a slow Engine
	// would give.
	inspectGate chan struct{}
	breakStats  map[string]chan struct{} // closed to end that container's stats streams

	inspecting    atomic.Int64 // inspect requests in flight
	maxInspecting atomic.Int64
	statsOpen     atomic.Int64 // streaming stats requests in flight
	statsOpened   sync.Map     // id -> *atomic.Int64, streams ever opened
	statsTick     time.Duration
	// apiVersion is what /_ping and /version report: "1.41" unless a test
	// wants an Engine without one-shot ("1.40"), whose API stats source
	// streams.
	apiVersion string
	// oneShots counts one-shot stats requests per id (*atomic.Int64).
	oneShots sync.Map
	// oneShotGate, when set for an id, holds that container's one-shot
	// answers until it is closed (a slow or stuck container).
	oneShotGate map[string]chan struct{}
	// ignoreOneShot answers stream=false with a previous reading, as an
	// Engine that does not know one-shot does.
	ignoreOneShot bool
	// failOneShot answers the ids in it with a server error.
	failOneShot map[string]bool
	// readClock stamps one-shot answers (time.Now unless a test drives
	// time by hand).
	readClock func() time.Time
	// dials counts the connections fe.client's clients tried to open,
	// refused ones included, so that tests can wait for failed attempts.
	dials atomic.Int64
}

type fakeContainer struct {
	inspect container.InspectResponse
	pid     int    // reported as State.Pid while running
	cpu     uint64 // cumulative CPU ns given to one-shot answers
	sys     uint64
}

func newFakeEngine(t *testing.T) *fakeEngine {
	t.Helper()
	fe := &fakeEngine{
		t:           t,
		conns:       map[net.Conn]struct{}{},
		containers:  map[string]*fakeContainer{},
		subs:        map[chan events.Message]struct{}{},
		breakStats:  map[string]chan struct{}{},
		downCh:      make(chan struct{}),
		statsTick:   10 * time.Millisecond,
		apiVersion:  "1.41",
		oneShotGate: map[string]chan struct{}{},
		failOneShot: map[string]bool{},
		readClock:   time.Now,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fe.addr = ln.Addr().String()
	fe.ln = ln
	fe.srv = &http.Server{
		Handler: http.HandlerFunc(fe.serve),
		ConnState: func(c net.Conn, st http.ConnState) {
			fe.mu.Lock()
			defer fe.mu.Unlock()
			switch st {
			case http.StateNew:
				// Accepted just before setDown closed the listener: its
				// hook waited for setDown, which never saw it.
				if fe.ln == nil {
					c.Close()
					return
				}
				fe.conns[c] = struct{}{}
			case http.StateClosed, http.StateHijacked:
				delete(fe.conns, c)
			}
		},
	}
	go fe.srv.Serve(ln) //nolint:errcheck // ends with the listener
	t.Cleanup(func() {
		fe.setDown(true)
		fe.srv.Close()
	})
	return fe
}

// client is a real Engine client pointed at the fake.
func (fe *fakeEngine) client(t *testing.T) *client.Client {
	t.Helper()
	countingDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		fe.dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	c, err := client.New(client.WithHost("tcp://"+fe.addr), client.WithDialContext(countingDial))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// setDown takes the fake off the network or brings it back on the same
// address.
func (fe *fakeEngine) setDown(down bool) {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	if down {
		if fe.ln == nil {
			return
		}
		fe.ln.Close()
		fe.ln = nil
		close(fe.downCh)
		for c := range fe.conns {
			c.Close()
		}
		return
	}
	if fe.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", fe.addr)
	if err != nil {
		fe.t.Errorf("fake engine: relisten: %v", err)
		return
	}
	fe.ln = ln
	fe.downCh = make(chan struct{})
	go fe.srv.Serve(ln) //nolint:errcheck // ends with the listener
}

func (fe *fakeEngine) requestLog() []string {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	return slices.Clone(fe.requests)
}

func (fe *fakeEngine) setInspectGate(g chan struct{}) {
	fe.mu.Lock()
	fe.inspectGate = g
	fe.mu.Unlock()
}

// askedOneShot is how many one-shot stats requests for id arrived.
func (fe *fakeEngine) askedOneShot(id string) int64 {
	v, _ := fe.oneShots.LoadOrStore(id, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func (fe *fakeEngine) opened(id string) int64 {
	v, _ := fe.statsOpened.LoadOrStore(id, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

// breakStreams ends the stats streams open for id, as an Engine hiccup would.
func (fe *fakeEngine) breakStreams(id string) {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	if ch := fe.breakStats[id]; ch != nil {
		close(ch)
		delete(fe.breakStats, id)
	}
}

// emitLocked stamps, records and fans out one event. Called with fe.mu held.
func (fe *fakeEngine) emitLocked(typ events.Type, action events.Action, id string, attrs map[string]string) events.Message {
	now := time.Now().UnixNano()
	if now <= fe.lastNano {
		now = fe.lastNano + 1
	}
	fe.lastNano = now
	m := events.Message{
		Type: typ, Action: action, Scope: "local",
		Actor: events.Actor{ID: id, Attributes: attrs},
		Time:  now / 1e9, TimeNano: now,
	}
	fe.history = append(fe.history, m)
	for ch := range fe.subs {
		select {
		case ch <- m:
		default:
			fe.t.Errorf("fake engine: subscriber queue full")
		}
	}
	return m
}

// emit sends an event that changes no container, such as an image event.
func (fe *fakeEngine) emit(typ events.Type, action events.Action, id string, attrs map[string]string) events.Message {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	return fe.emitLocked(typ, action, id, attrs)
}

func (fe *fakeEngine) lastEvent() events.Message {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	return fe.history[len(fe.history)-1]
}

type fakeSpec struct {
	name    string
	labels  map[string]string
	health  bool
	ports   network.PortMap
	network string
	id      string // a fixed id instead of a generated one
	pid     int    // State.Pid once started
}

// create makes a container and emits create; it returns the id.
func (fe *fakeEngine) create(spec fakeSpec) string {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	fe.nextID++
	id := fmt.Sprintf("%064x", 0xc0ffee000+fe.nextID)
	if spec.id != "" {
		id = spec.id
	}
	netName := spec.network
	if netName == "" {
		netName = "bridge"
	}
	r := container.InspectResponse{
		ID:      id,
		Created: time.Now().UTC().Format(time.RFC3339Nano),
		Path:    "/app",
		Args:    []string{"serve", "--greeting", "hello world"},
		Name:    "/" + spec.name,
		State: &container.State{
			Status:     container.StateCreated,
			StartedAt:  "0001-01-01T00:00:00Z",
			FinishedAt: "0001-01-01T00:00:00Z",
		},
		Config: &container.Config{Image: "fake/app:1", Labels: maps.Clone(spec.labels)},
		NetworkSettings: &container.NetworkSettings{
			Ports:    spec.ports,
			Networks: map[string]*network.EndpointSettings{netName: {}},
		},
	}
	if spec.health {
		r.State.Health = &container.Health{Status: container.Starting}
	}
	fe.containers[id] = &fakeContainer{inspect: r, pid: spec.pid}
	attrs := maps.Clone(spec.labels)
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["image"] = "fake/app:1"
	attrs["name"] = spec.name
	fe.emitLocked(events.ContainerEventType, events.ActionCreate, id, attrs)
	return id
}

// change applies fn to a container's state and emits action with attrs
// plus the image and name, as the Engine does.
func (fe *fakeEngine) change(id string, action events.Action, extra map[string]string, fn func(r *container.InspectResponse)) events.Message {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	fc := fe.containers[id]
	if fc == nil {
		fe.t.Fatalf("fake engine: no container %s", id)
	}
	if fn != nil {
		fn(&fc.inspect)
	}
	attrs := maps.Clone(fc.inspect.Config.Labels)
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrs["image"] = fc.inspect.Config.Image
	attrs["name"] = strings.TrimPrefix(fc.inspect.Name, "/")
	maps.Copy(attrs, extra)
	if action == events.ActionDestroy {
		delete(fe.containers, id)
	}
	return fe.emitLocked(events.ContainerEventType, action, id, attrs)
}

func now3339() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func (fe *fakeEngine) start(id string) events.Message {
	return fe.change(id, events.ActionStart, nil, func(r *container.InspectResponse) {
		r.State.Status, r.State.Running, r.State.Paused = container.StateRunning, true, false
		r.State.StartedAt, r.State.ExitCode = now3339(), 0
		r.State.Pid = fe.containers[id].pid
		if r.State.Health != nil {
			r.State.Health.Status = container.Starting
		}
	})
}

func (fe *fakeEngine) pause(id string) events.Message {
	return fe.change(id, events.ActionPause, nil, func(r *container.InspectResponse) {
		r.State.Status, r.State.Paused = container.StatePaused, true
	})
}

func (fe *fakeEngine) unpause(id string) events.Message {
	return fe.change(id, events.ActionUnPause, nil, func(r *container.InspectResponse) {
		r.State.Status, r.State.Paused = container.StateRunning, false
	})
}

func (fe *fakeEngine) die(id string, code int) events.Message {
	return fe.change(id, events.ActionDie, map[string]string{"exitCode": strconv.Itoa(code)}, func(r *container.InspectResponse) {
		r.State.Status, r.State.Running, r.State.Paused = container.StateExited, false, false
		r.State.ExitCode, r.State.FinishedAt = code, now3339()
	})
}

func (fe *fakeEngine) health(id string, h container.HealthStatus) events.Message {
	return fe.change(id, events.Action("health_status: "+string(h)), nil, func(r *container.InspectResponse) {
		r.State.Health = &container.Health{Status: h}
	})
}

func (fe *fakeEngine) rename(id, name string) events.Message {
	fe.mu.Lock()
	old := fe.containers[id].inspect.Name
	fe.mu.Unlock()
	return fe.change(id, events.ActionRename, map[string]string{"oldName": old}, func(r *container.InspectResponse) {
		r.Name = "/" + name
	})
}

func (fe *fakeEngine) oom(id string) events.Message {
	return fe.change(id, events.ActionOOM, nil, func(r *container.InspectResponse) { r.State.OOMKilled = true })
}

func (fe *fakeEngine) destroy(id string) events.Message {
	return fe.change(id, events.ActionDestroy, nil, nil)
}

var versionPrefix = regexp.MustCompile(`^/v[0-9.]+/`)

func (fe *fakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	path := versionPrefix.ReplaceAllString(r.URL.Path, "/")
	fe.mu.Lock()
	if fe.ln == nil {
		// A down Engine answers nothing, even on a connection that was
		// accepted just before it went down.
		fe.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	fe.requests = append(fe.requests, r.Method+" "+path+"?"+r.URL.RawQuery)
	fe.mu.Unlock()
	switch {
	case path == "/_ping":
		fe.mu.Lock()
		w.Header().Set("Api-Version", fe.apiVersion)
		fe.mu.Unlock()
		w.Header().Set("Ostype", "linux")
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte("OK"))
		}
	case path == "/version":
		fe.mu.Lock()
		v := fe.apiVersion
		fe.mu.Unlock()
		writeJSON(w, map[string]string{"Version": "20.10.99-fake", "ApiVersion": v, "MinAPIVersion": "1.12", "Os": "linux", "Arch": "amd64"})
	case path == "/info":
		writeJSON(w, map[string]string{"SystemTime": now3339()})
	case path == "/events":
		fe.serveEvents(w, r)
	case path == "/containers/json":
		fe.serveList(w)
	case strings.HasPrefix(path, "/containers/") && strings.HasSuffix(path, "/json"):
		fe.serveInspect(w, strings.TrimSuffix(strings.TrimPrefix(path, "/containers/"), "/json"))
	case strings.HasPrefix(path, "/containers/") && strings.HasSuffix(path, "/stats"):
		fe.serveStats(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/containers/"), "/stats"))
	default:
		http.Error(w, `{"message":"fake engine: not implemented"}`, http.StatusNotFound)
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

func parseSince(s string) int64 {
	if s == "" {
		return 0
	}
	sec, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(sec, 10, 64)
	ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	return n*1e9 + ns
}

func (fe *fakeEngine) serveEvents(w http.ResponseWriter, r *http.Request) {
	since := parseSince(r.URL.Query().Get("since"))
	ch := make(chan events.Message, 1024)
	fe.mu.Lock()
	var replay []events.Message
	if since > 0 {
		for _, m := range fe.history {
			if m.TimeNano >= since {
				replay = append(replay, m)
			}
		}
	}
	fe.subs[ch] = struct{}{}
	down := fe.downCh
	fe.mu.Unlock()
	defer func() {
		fe.mu.Lock()
		delete(fe.subs, ch)
		fe.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fl.Flush()
	enc := json.NewEncoder(w)
	for _, m := range replay {
		if enc.Encode(m) != nil {
			return
		}
	}
	fl.Flush()
	for {
		select {
		case m := <-ch:
			if enc.Encode(m) != nil {
				return
			}
			fl.Flush()
		case <-r.Context().Done():
			return
		case <-down:
			return
		}
	}
}

func (fe *fakeEngine) serveList(w http.ResponseWriter) {
	fe.mu.Lock()
	var out []container.Summary
	for _, fc := range fe.containers {
		out = append(out, fc.summary())
	}
	fe.mu.Unlock()
	slices.SortFunc(out, func(a, b container.Summary) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, out)
}

// summary is the list entry, with status texts of the Engine's form.
func (fc *fakeContainer) summary() container.Summary {
	r := &fc.inspect
	created, _ := time.Parse(time.RFC3339Nano, r.Created)
	s := container.Summary{
		ID:              r.ID,
		Names:           []string{r.Name},
		Image:           r.Config.Image,
		Command:         commandLine(r.Path, r.Args),
		Created:         created.Unix(),
		Labels:          maps.Clone(r.Config.Labels),
		State:           r.State.Status,
		NetworkSettings: &container.NetworkSettingsSummary{Networks: r.NetworkSettings.Networks},
	}
	for p, bs := range r.NetworkSettings.Ports {
		for _, b := range bs {
			n, _ := strconv.Atoi(b.HostPort)
			s.Ports = append(s.Ports, container.PortSummary{IP: b.HostIP, PrivatePort: p.Num(), PublicPort: uint16(n), Type: string(p.Proto())})
		}
	}
	switch r.State.Status {
	case container.StateRunning:
		s.Status = "Up 3 seconds"
		if r.State.Health != nil {
			h := string(r.State.Health.Status)
			if h == "starting" {
				h = "health: starting"
			}
			s.Status += " (" + h + ")"
		}
	case container.StatePaused:
		s.Status = "Up 3 seconds (Paused)"
	case container.StateExited:
		s.Status = fmt.Sprintf("Exited (%d) 2 seconds ago", r.State.ExitCode)
	default:
		s.Status = "Created"
	}
	return s
}

func (fe *fakeEngine) serveInspect(w http.ResponseWriter, id string) {
	n := fe.inspecting.Add(1)
	defer fe.inspecting.Add(-1)
	for {
		m := fe.maxInspecting.Load()
		if n <= m || fe.maxInspecting.CompareAndSwap(m, n) {
			break
		}
	}
	fe.mu.Lock()
	fc := fe.containers[id]
	var body []byte
	if fc != nil {
		body, _ = json.Marshal(fc.inspect)
	}
	gate := fe.inspectGate
	down := fe.downCh
	fe.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-down:
			return
		}
	}
	if fc == nil {
		notFound(w, id)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// serveStats streams a record every statsTick in which the container used
// half of one of two CPUs, or answers one record for stream=false.
func (fe *fakeEngine) serveStats(w http.ResponseWriter, r *http.Request, id string) {
	fe.mu.Lock()
	fc := fe.containers[id]
	brk := fe.breakStats[id]
	if brk == nil {
		brk = make(chan struct{})
		fe.breakStats[id] = brk
	}
	down := fe.downCh
	tick := fe.statsTick
	fe.mu.Unlock()
	if fc == nil {
		notFound(w, id)
		return
	}
	rec := func(cpu, sys uint64) container.StatsResponse {
		return container.StatsResponse{
			ID: id, Name: "/x", Read: time.Now(),
			CPUStats: container.CPUStats{
				CPUUsage:    container.CPUUsage{TotalUsage: cpu},
				SystemUsage: sys, OnlineCPUs: 2,
			},
			MemoryStats: container.MemoryStats{Usage: 100 << 20, Limit: 1 << 30, Stats: map[string]uint64{"total_inactive_file": 20 << 20}},
			PidsStats:   container.PidsStats{Current: 3},
		}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	if r.URL.Query().Get("stream") != "true" {
		if r.URL.Query().Get("one-shot") != "true" {
			http.Error(w, "fake engine: want one-shot", http.StatusBadRequest)
			return
		}
		v, _ := fe.oneShots.LoadOrStore(id, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		fe.mu.Lock()
		gate := fe.oneShotGate[id]
		ignore := fe.ignoreOneShot
		fail := fe.failOneShot[id]
		readClock := fe.readClock
		fe.mu.Unlock()
		if fail {
			http.Error(w, `{"message":"fake engine: stats failed"}`, http.StatusInternalServerError)
			return
		}
		if gate != nil {
			select {
			case <-gate:
			case <-down:
				return
			case <-r.Context().Done():
				return
			}
		}
		fe.mu.Lock()
		fc.cpu += 500_000_000 // half a CPU-second per round
		fc.sys += 2_000_000_000
		cpu, sys := fc.cpu, fc.sys
		fe.mu.Unlock()
		fe.mu.Lock()
		running := fc.inspect.State != nil && (fc.inspect.State.Running || fc.inspect.State.Paused)
		fe.mu.Unlock()
		out := rec(cpu, sys)
		out.Read = readClock()
		if !running {
			out = container.StatsResponse{ID: id, Name: "/x"} // no reading, as the Engine answers
		}
		if ignore {
			out.PreRead = out.Read.Add(-time.Second)
			out.PreCPUStats = container.CPUStats{CPUUsage: container.CPUUsage{TotalUsage: cpu - 500_000_000}, SystemUsage: sys - 2_000_000_000, OnlineCPUs: 2}
		}
		_ = enc.Encode(out)
		return
	}
	fe.statsOpen.Add(1)
	defer fe.statsOpen.Add(-1)
	v, _ := fe.statsOpened.LoadOrStore(id, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	fl := w.(http.Flusher)
	var cpu, sys uint64 = 1e9, 1e12
	var pre container.CPUStats
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		cur := rec(cpu, sys)
		cur.PreCPUStats = pre
		pre = cur.CPUStats
		if err := enc.Encode(cur); err != nil {
			return
		}
		fl.Flush()
		cpu += uint64(tick) / 2 // half of one CPU
		sys += 2 * uint64(tick) // two CPUs' worth of wall time
		select {
		case <-t.C:
		case <-brk:
			return
		case <-down:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// mustPort parses "80/tcp" for test specs.
func mustPort(s string) network.Port { return network.MustParsePort(s) }

func binding(ip string, port string) network.PortBinding {
	return network.PortBinding{HostIP: netip.MustParseAddr(ip), HostPort: port}
}
