package source

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"

	"github.com/docker-live/docker-live/stream"
)

func newTestSource(t *testing.T, fe *fakeEngine) (*Source, *recorder, func()) {
	t.Helper()
	rec := newRecorder()
	s, stop := runSource(t, Config{
		Client:     fe.client(t),
		Sink:       rec,
		Logf:       t.Logf,
		MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
	})
	return s, rec, stop
}

func waitReset(t *testing.T, rec *recorder, n int) {
	t.Helper()
	// Each reset is followed by its "connected" (see Source), so a test
	// that waits for the n-th reset sees both.
	waitFor(t, fmt.Sprintf("reset #%d", n), func() bool {
		return rec.count(isKind("reset")) >= n && rec.count(isEngine(stream.EngineConnected)) >= n
	})
}

func TestSubscribesBeforeListingAndFillsContainers(t *testing.T) {
	leakCheck(t)
	fe := newFakeEngine(t)
	web := fe.create(fakeSpec{
		name:   "shop-web-1",
		labels: map[string]string{labelProject: "shop", labelService: "web", "tier": "front"},
		health: true,
		ports: network.PortMap{
			mustPort("80/tcp"):  {binding("0.0.0.0", "8080"), binding("::", "8080")},
			mustPort("443/tcp"): nil,
		},
		network: "shop_default",
	})
	fe.start(web)
	job := fe.create(fakeSpec{name: "job"})
	fe.start(job)
	fe.die(job, 3)

	_, rec, _ := newTestSource(t, fe)
	waitReset(t, rec, 1)

	reqs := fe.requestLog()
	ev := slices.IndexFunc(reqs, func(r string) bool { return strings.HasPrefix(r, "GET /events") })
	list := slices.IndexFunc(reqs, func(r string) bool { return strings.HasPrefix(r, "GET /containers/json") })
	if ev < 0 || list < 0 || ev > list {
		t.Fatalf("want /events before /containers/json, got requests %q", reqs)
	}
	if !strings.Contains(reqs[list], "all=1") {
		t.Errorf("list without all=1: %s", reqs[list])
	}

	calls := rec.snapshot()
	// The list first, then "connected": a client waiting for the Engine
	// then finds every container there.
	if calls[0].kind != "reset" || len(calls[0].reset) != 2 {
		t.Fatalf("first call = %+v, want reset of 2", calls[0])
	}
	if calls[1].kind != "engine" || calls[1].engine != (stream.EngineStatus{State: stream.EngineConnected, Version: "20.10.99-fake", APIVersion: "1.41"}) {
		t.Errorf("second call = %+v, want engine connected with versions", calls[1])
	}
	got, _ := rec.get(web)
	if got.Name != "shop-web-1" || got.Image != "fake/app:1" || got.Command != "/app serve --greeting 'hello world'" ||
		got.State != "running" || got.Health != "starting" || got.Project != "shop" || got.Service != "web" ||
		got.Labels["tier"] != "front" || got.Created.IsZero() || got.StartedAt.IsZero() {
		t.Errorf("web = %+v", got)
	}
	if !strings.HasPrefix(got.Status, "Up ") || !strings.HasSuffix(got.Status, "(health: starting)") {
		t.Errorf("web status = %q", got.Status)
	}
	wantPorts := []stream.Port{
		{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Proto: "tcp"},
		{IP: "::", PrivatePort: 80, PublicPort: 8080, Proto: "tcp"},
		{PrivatePort: 443, Proto: "tcp"},
	}
	if !reflect.DeepEqual(got.Ports, wantPorts) {
		t.Errorf("ports = %+v, want %+v", got.Ports, wantPorts)
	}
	if !reflect.DeepEqual(got.Networks, []string{"shop_default"}) {
		t.Errorf("networks = %v", got.Networks)
	}
	j, _ := rec.get(job)
	if j.State != "exited" || j.ExitCode != 3 || !strings.HasPrefix(j.Status, "Exited (3) ") || j.FinishedAt.IsZero() {
		t.Errorf("job = %+v", j)
	}
}

// upsertBefore finds the Upsert that the event at index i caused: update
// first, then event, with only stats samples possibly in between.
func upsertBefore(calls []call, i int) (stream.Container, bool) {
	for j := i - 1; j >= 0; j-- {
		switch calls[j].kind {
		case "stats":
			continue
		case "upsert":
			return calls[j].c, true
		}
		return stream.Container{}, false
	}
	return stream.Container{}, false
}

func TestEventsApplyWithoutEngineRoundTrip(t *testing.T) {
	leakCheck(t)
	fe := newFakeEngine(t)
	a := fe.create(fakeSpec{name: "a", health: true})
	fe.start(a)
	_, rec, _ := newTestSource(t, fe)
	waitReset(t, rec, 1)

	// From here on no inspect answers until the end: every change must
	// come from the event alone.
	gate := make(chan struct{})
	fe.setInspectGate(gate)
	defer close(gate)

	var sent []events.Message
	// step emits through do and checks what the sink got for it.
	step := func(name string, do func() events.Message, check func(c stream.Container, upserted bool) string) {
		t.Helper()
		m := do()
		sent = append(sent, m)
		waitFor(t, name+" event", func() bool { return indexOf(rec.snapshot(), 0, isEvent(m)) >= 0 })
		calls := rec.snapshot()
		c, ok := upsertBefore(calls, indexOf(calls, 0, isEvent(m)))
		if msg := check(c, ok); msg != "" {
			t.Errorf("%s: %s (upsert %v: %+v)", name, msg, ok, c)
		}
	}
	upserted := func(want func(c stream.Container) bool) func(stream.Container, bool) string {
		return func(c stream.Container, ok bool) string {
			if !ok {
				return "no upsert right before the event"
			}
			if !want(c) {
				return "wrong state"
			}
			return ""
		}
	}
	none := func(_ stream.Container, ok bool) string {
		if ok {
			return "unexpected upsert"
		}
		return ""
	}

	var b string
	step("create", func() events.Message {
		b = fe.create(fakeSpec{name: "b", labels: map[string]string{labelProject: "shop", labelService: "api"}})
		return fe.lastEvent()
	}, upserted(func(c stream.Container) bool {
		return c.ID == b && c.Name == "b" && c.Image == "fake/app:1" && c.State == "created" && c.Status == "Created" &&
			c.Project == "shop" && c.Service == "api" && c.Labels[labelProject] == "shop" && c.Labels["name"] == ""
	}))
	var startAt time.Time
	step("start", func() events.Message {
		m := fe.start(b)
		startAt = time.Unix(0, m.TimeNano)
		return m
	}, upserted(func(c stream.Container) bool {
		return c.State == "running" && c.StartedAt.Equal(startAt) && strings.HasPrefix(c.Status, "Up ")
	}))
	step("health_status: healthy", func() events.Message { return fe.health(a, container.Healthy) },
		upserted(func(c stream.Container) bool {
			return c.ID == a && c.Health == "healthy" && strings.HasSuffix(c.Status, "(healthy)")
		}))
	step("pause", func() events.Message { return fe.pause(b) },
		upserted(func(c stream.Container) bool { return c.State == "paused" && strings.HasSuffix(c.Status, "(Paused)") }))
	step("unpause", func() events.Message { return fe.unpause(b) },
		upserted(func(c stream.Container) bool { return c.State == "running" && !strings.Contains(c.Status, "Paused") }))
	step("rename", func() events.Message { return fe.rename(b, "b2") },
		upserted(func(c stream.Container) bool { return c.ID == b && c.Name == "b2" }))
	step("oom", func() events.Message { return fe.oom(b) },
		upserted(func(c stream.Container) bool { return c.OOMKilled && c.State == "running" }))
	step("kill", func() events.Message {
		return fe.change(b, events.ActionKill, map[string]string{"signal": "9"}, nil)
	}, none)
	var dieAt time.Time
	step("die", func() events.Message {
		m := fe.die(b, 137)
		dieAt = time.Unix(0, m.TimeNano)
		return m
	}, upserted(func(c stream.Container) bool {
		return c.State == "exited" && c.ExitCode == 137 && c.FinishedAt.Equal(dieAt) &&
			strings.HasPrefix(c.Status, "Exited (137) ")
	}))
	step("stop", func() events.Message { return fe.change(b, events.ActionStop, nil, nil) }, none)
	step("exec_start", func() events.Message {
		return fe.change(a, events.Action("exec_start: sh -c true"), map[string]string{"execID": "e1"}, nil)
	}, none)
	step("image event", func() events.Message {
		return fe.emit(events.ImageEventType, events.ActionTag, "sha256:abc", map[string]string{"name": "x:1"})
	}, none)
	step("volume event", func() events.Message {
		return fe.emit(events.VolumeEventType, events.ActionCreate, "vol1", map[string]string{"driver": "local"})
	}, none)
	step("destroy", func() events.Message { return fe.destroy(b) }, none)

	calls := rec.snapshot()
	i := indexOf(calls, 0, isEvent(sent[len(sent)-1]))
	if calls[i-1].kind != "remove" || calls[i-1].id != b {
		t.Errorf("call before destroy event = %+v, want remove of b", calls[i-1])
	}
	if _, ok := rec.get(b); ok {
		t.Errorf("b still in state after destroy")
	}

	// Every event reached the sink once, unchanged, in order.
	var got []events.Message
	for _, c := range calls {
		if c.kind == "event" {
			got = append(got, c.ev)
		}
	}
	if !reflect.DeepEqual(got, sent) {
		t.Errorf("events passed on:\n%+v\nwant\n%+v", got, sent)
	}
}

func TestInspectFillsInAndNeverRollsBack(t *testing.T) {
	leakCheck(t)
	fe := newFakeEngine(t)
	_, rec, _ := newTestSource(t, fe)
	waitReset(t, rec, 1)

	gate := make(chan struct{})
	fe.setInspectGate(gate)
	c := fe.create(fakeSpec{
		name:    "web",
		ports:   network.PortMap{mustPort("80/tcp"): {binding("127.0.0.1", "8080")}},
		network: "net1",
	})
	// The inspect the create asked for is taken now, in the created state,
	// and answered only after the start below: it is older than the start.
	waitFor(t, "inspect after create", func() bool {
		return slices.ContainsFunc(fe.requestLog(), func(r string) bool { return strings.HasPrefix(r, "GET /containers/"+c+"/json") })
	})
	startEv := fe.start(c)
	waitFor(t, "start event", func() bool { return indexOf(rec.snapshot(), 0, isEvent(startEv)) >= 0 })
	close(gate)

	waitFor(t, "inspected fields", func() bool {
		got, _ := rec.get(c)
		return got.Command == "/app serve --greeting 'hello world'" && len(got.Ports) == 1 && len(got.Networks) == 1
	})
	// The second inspect, asked for by the start, gives the true start time.
	fe.mu.Lock()
	startedAt := parseTime(fe.containers[c].inspect.State.StartedAt)
	fe.mu.Unlock()
	waitFor(t, "start time from inspect", func() bool {
		got, _ := rec.get(c)
		return got.StartedAt.Equal(startedAt)
	})
	got, _ := rec.get(c)
	if got.State != "running" || got.Ports[0] != (stream.Port{IP: "127.0.0.1", PrivatePort: 80, PublicPort: 8080, Proto: "tcp"}) || got.Networks[0] != "net1" {
		t.Errorf("after inspect: %+v", got)
	}
	calls := rec.snapshot()
	for _, cl := range calls[indexOf(calls, 0, isEvent(startEv)):] {
		if cl.kind == "upsert" && cl.id == c && cl.c.State != "running" {
			t.Errorf("an older inspect rolled the state back: %+v", cl.c)
		}
	}
}

func TestStatsStreamsFollowContainers(t *testing.T) {
	leakCheck(t)
	fe := newFakeEngine(t)
	fe.apiVersion = "1.40" // no one-shot: the API source streams
	r1 := fe.create(fakeSpec{name: "r1"})
	fe.start(r1)
	r2 := fe.create(fakeSpec{name: "r2"})
	fe.start(r2)
	x := fe.create(fakeSpec{name: "x"})
	fe.start(x)
	fe.die(x, 0)

	s, rec, stop := newTestSource(t, fe)
	waitFor(t, "two stats streams", func() bool { return fe.statsOpen.Load() == 2 })
	waitFor(t, "CPU % of r1", func() bool {
		return rec.count(func(c call) bool {
			return c.kind == "stats" && c.id == r1 && math.Abs(c.stats.CPUPercent-50) < 1 && c.stats.MemUsage == 80<<20 && c.stats.Source == "api"
		}) > 0
	})
	if got := s.StatsSources(); !reflect.DeepEqual(got, map[string]string{r1: "api", r2: "api"}) {
		t.Errorf("StatsSources = %v", got)
	}

	// Paused containers keep their stream.
	p := fe.pause(r1)
	waitFor(t, "pause event", func() bool { return indexOf(rec.snapshot(), 0, isEvent(p)) >= 0 })
	n := rec.count(func(c call) bool { return c.kind == "stats" && c.id == r1 })
	waitFor(t, "stats of paused r1", func() bool {
		return rec.count(func(c call) bool { return c.kind == "stats" && c.id == r1 }) > n+2
	})
	if fe.statsOpen.Load() != 2 || fe.opened(r1) != 1 {
		t.Errorf("pause changed the streams: open %d, r1 opened %d", fe.statsOpen.Load(), fe.opened(r1))
	}

	// A stream that breaks while its container runs is opened again.
	fe.breakStreams(r2)
	waitFor(t, "r2 stream reopened", func() bool { return fe.opened(r2) == 2 && fe.statsOpen.Load() == 2 })

	// die closes the stream; no sample of r1 follows the die event.
	d := fe.die(r1, 0)
	waitFor(t, "r1 stream closed", func() bool { return fe.statsOpen.Load() == 1 })
	n2 := rec.count(func(c call) bool { return c.kind == "stats" && c.id == r2 })
	waitFor(t, "more r2 stats", func() bool {
		return rec.count(func(c call) bool { return c.kind == "stats" && c.id == r2 }) > n2+2
	})
	calls := rec.snapshot()
	if i := indexOf(calls, indexOf(calls, 0, isEvent(d)), func(c call) bool { return c.kind == "stats" && c.id == r1 }); i >= 0 {
		t.Errorf("stats of r1 after its die event: %+v", calls[i])
	}

	// destroy closes the stream of a container removed while running.
	fe.destroy(r2)
	waitFor(t, "r2 stream closed", func() bool { return fe.statsOpen.Load() == 0 })
	waitFor(t, "remove r2", func() bool { return rec.count(func(c call) bool { return c.kind == "remove" && c.id == r2 }) == 1 })
	calls = rec.snapshot()
	if i := indexOf(calls, indexOf(calls, 0, func(c call) bool { return c.kind == "remove" && c.id == r2 }), func(c call) bool { return c.kind == "stats" && c.id == r2 }); i >= 0 {
		t.Errorf("stats of r2 after its removal: %+v", calls[i])
	}

	// start opens one again.
	fe.start(x)
	waitFor(t, "x stream", func() bool { return fe.statsOpen.Load() == 1 && fe.opened(x) == 1 })
	if got := s.StatsSources(); !reflect.DeepEqual(got, map[string]string{x: "api"}) {
		t.Errorf("StatsSources = %v", got)
	}

	stop()
	waitFor(t, "all streams closed", func() bool { return fe.statsOpen.Load() == 0 })
	if got := s.StatsSources(); len(got) != 0 {
		t.Errorf("StatsSources after stop = %v", got)
	}
}

func TestEngineLossReconnectsAndResumes(t *testing.T) {
	leakCheck(t)
	fe := newFakeEngine(t)
	fe.apiVersion = "1.40" // no one-shot: the API source streams
	a := fe.create(fakeSpec{name: "a"})
	fe.start(a)
	s, rec, _ := newTestSource(t, fe)
	waitReset(t, rec, 1)
	b := fe.create(fakeSpec{name: "b"})
	first := fe.lastEvent() // the first event after subscribing
	last := fe.start(b)
	waitFor(t, "start b", func() bool { return indexOf(rec.snapshot(), 0, isEvent(last)) >= 0 })
	waitFor(t, "streams of a and b", func() bool { return fe.statsOpen.Load() == 2 })

	fe.setDown(true)
	waitFor(t, "engine unavailable", func() bool { return rec.count(isEngine(stream.EngineUnavailable)) == 1 })
	waitFor(t, "stats streams closed", func() bool { return len(s.StatsSources()) == 0 })
	if st := rec.snapshot()[indexOf(rec.snapshot(), 0, isEngine(stream.EngineUnavailable))].engine; st.Error == "" {
		t.Errorf("unavailable without an error: %+v", st)
	}

	// Changes while the streamer cannot see them, and a few failed
	// reconnects.
	missed := []events.Message{fe.die(a, 1)}
	c := fe.create(fakeSpec{name: "c"})
	missed = append(missed, fe.lastEvent())
	nreq := len(fe.requestLog())
	dialed := fe.dials.Load()
	waitFor(t, "three failed reconnects", func() bool { return fe.dials.Load() >= dialed+3 })
	if len(fe.requestLog()) != nreq {
		t.Errorf("requests reached a closed listener")
	}
	if n := rec.count(isEngine(stream.EngineUnavailable)); n != 1 {
		t.Errorf("unavailable reported %d times in one outage, want 1", n)
	}

	fe.setDown(false)
	waitReset(t, rec, 2)
	waitFor(t, "missed events", func() bool {
		calls := rec.snapshot()
		return indexOf(calls, 0, isEvent(missed[0])) >= 0 && indexOf(calls, 0, isEvent(missed[1])) >= 0
	})
	waitFor(t, "stream of b", func() bool { return fe.statsOpen.Load() == 1 && s.StatsSources()[b] == "api" })

	// Resubscribed since the last event delivered.
	want := fmt.Sprintf("since=%d.%09d", last.TimeNano/1e9, last.TimeNano%1e9)
	var evReqs []string
	for _, r := range fe.requestLog() {
		if strings.HasPrefix(r, "GET /events") {
			evReqs = append(evReqs, r)
		}
	}
	if len(evReqs) != 2 || !strings.Contains(evReqs[1], want) || strings.Contains(evReqs[0], "since=") {
		t.Errorf("event subscriptions = %q, want the second with %s", evReqs, want)
	}

	calls := rec.snapshot()
	reset2 := indexOf(calls, indexOf(calls, 0, isKind("reset"))+1, isKind("reset"))
	if calls[reset2+1].kind != "engine" || calls[reset2+1].engine.State != stream.EngineConnected {
		t.Errorf("call after the second reset = %+v, want engine connected", calls[reset2+1])
	}
	var ids []string
	for _, x := range calls[reset2].reset {
		ids = append(ids, x.ID)
	}
	sort.Strings(ids)
	if wantIDs := []string{a, b, c}; !reflect.DeepEqual(ids, wantIDs) {
		t.Errorf("second reset ids = %v, want %v", ids, wantIDs)
	}
	if got, _ := rec.get(a); got.State != "exited" || got.ExitCode != 1 {
		t.Errorf("a after resume = %+v", got)
	}
	// The replayed events are already in the list: passed on, not applied.
	for _, cl := range calls[reset2:] {
		if cl.kind == "upsert" && (cl.id == a || cl.id == c) {
			t.Errorf("replayed event re-applied after the reset: %+v", cl.c)
		}
	}
	// Each event reached the sink exactly once, the replayed start of b too.
	seen := map[EventID]int{}
	for _, cl := range calls {
		if cl.kind == "event" {
			seen[IdentifyEvent(cl.ev)]++
		}
	}
	fe.mu.Lock()
	history := slices.Clone(fe.history)
	fe.mu.Unlock()
	for _, m := range history {
		if m.TimeNano >= first.TimeNano && seen[IdentifyEvent(m)] != 1 {
			t.Errorf("event %s %s delivered %d times", m.Action, m.Actor.ID[:12], seen[IdentifyEvent(m)])
		}
	}

	// And it goes on live.
	live := fe.start(c)
	waitFor(t, "live start of c", func() bool {
		got, _ := rec.get(c)
		return got.State == "running" && indexOf(rec.snapshot(), 0, isEvent(live)) >= 0
	})
}

func TestListInspectsAtMostEightAtOnce(t *testing.T) {
	leakCheck(t)
	fe := newFakeEngine(t)
	for i := range 40 {
		fe.create(fakeSpec{name: fmt.Sprintf("c%d", i)})
	}
	gate := make(chan struct{})
	fe.setInspectGate(gate)
	_, rec, _ := newTestSource(t, fe)
	waitFor(t, "8 inspects in flight", func() bool { return fe.inspecting.Load() == maxInspects })
	close(gate)
	waitReset(t, rec, 1)
	if n := len(rec.snapshot()[0].reset); n != 40 {
		t.Errorf("reset of %d containers, want 40", n)
	}
	if m := fe.maxInspecting.Load(); m != maxInspects {
		t.Errorf("up to %d inspects at once, want %d", m, maxInspects)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	fe := newFakeEngine(t)
	for name, cfg := range map[string]Config{
		"no client": {Sink: newRecorder()},
		"no sink":   {Client: fe.client(t)},
		"bad mode":  {Client: fe.client(t), Sink: newRecorder(), Stats: "cgroupz"},
	} {
		if err := New(cfg).Run(context.Background()); err == nil {
			t.Errorf("%s: Run returned nil", name)
		}
	}
}

// TestApplyIsImmediate measures the step from a decoded event to the Sink:
// no Engine round trip, well under a millisecond.
func TestApplyIsImmediate(t *testing.T) {
	rec := newRecorder()
	s := New(Config{Sink: rec, Client: nil})
	coll := &nopCollector{}
	const n = 200
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%064d", i)
		ids = append(ids, id)
		s.containers[id] = &entry{c: stream.Container{ID: id, State: "running", StartedAt: time.Now()}}
	}
	var durs []time.Duration
	for i, id := range ids {
		m := events.Message{
			Type: events.ContainerEventType, Action: events.ActionPause,
			Actor:    events.Actor{ID: id, Attributes: map[string]string{"name": "x", "image": "y"}},
			TimeNano: time.Now().UnixNano(),
		}
		if i%2 == 0 {
			m.Action = events.ActionHealthStatusUnhealthy
		}
		t0 := time.Now()
		s.handle(context.Background(), nil, coll, m, true)
		durs = append(durs, time.Since(t0))
	}
	slices.Sort(durs)
	if med := durs[len(durs)/2]; med > time.Millisecond {
		t.Errorf("median event-to-sink time %s, want < 1ms", med)
	}
	if rec.count(isKind("upsert")) != n || rec.count(isKind("event")) != n {
		t.Errorf("got %d upserts, %d events, want %d each", rec.count(isKind("upsert")), rec.count(isKind("event")), n)
	}
}

// nopCollector stands in for the stats backend where none is wanted.
type nopCollector struct{}

func (nopCollector) start(string, stream.Container) {}
func (nopCollector) stop(string)                    {}
func (nopCollector) sources() map[string]string     { return nil }
func (nopCollector) close()                         {}
