package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
)

// fakeClock is a settable clock, so that stats intervals are exact.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func ctr(id, name string) stream.Container {
	return stream.Container{ID: id, Name: name, Image: "img", State: "running", Status: "Up"}
}

func event(n int) events.Message {
	return events.Message{Type: events.ContainerEventType, Action: events.ActionStart,
		Actor: events.Actor{ID: "c" + strconv.Itoa(n), Attributes: map[string]string{"n": strconv.Itoa(n)}}}
}

// eventN reads back the number event(n) carries.
func eventN(t *testing.T, m stream.Message) int {
	t.Helper()
	if m.Type != stream.TypeEvent || m.Event == nil {
		t.Fatalf("got %s message, want an event", m.Type)
	}
	n, err := strconv.Atoi(m.Event.Actor.Attributes["n"])
	if err != nil {
		t.Fatalf("event without a number: %+v", m.Event)
	}
	return n
}

func subscribe(t *testing.T, h *Hub, sub stream.Subscription) *Subscriber {
	t.Helper()
	sub.Protocol = stream.ProtocolVersion
	s, err := h.Subscribe(sub)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return s
}

// take drains s and decodes what it held; it fails on a close.
func take(t *testing.T, s *Subscriber) []stream.Message {
	t.Helper()
	frames, code, text := s.Take(nil)
	if code != 0 {
		t.Fatalf("subscriber closed with %d %q", code, text)
	}
	out := make([]stream.Message, len(frames))
	for i, f := range frames {
		if err := json.Unmarshal(f, &out[i]); err != nil {
			t.Fatalf("frame %d is not a message: %v: %s", i, err, f)
		}
	}
	return out
}

func types(ms []stream.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Type
	}
	return out
}

func wantTypes(t *testing.T, ms []stream.Message, want ...string) {
	t.Helper()
	got := types(ms)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got messages %v, want %v", got, want)
	}
}

func TestNewSubscriberGetsHelloAndSnapshot(t *testing.T) {
	clock := newFakeClock()
	h := New(Config{Context: "ctx1", Endpoint: "unix:///x.sock", Server: "v9", Now: clock.Now})
	h.EngineStatus(stream.EngineStatus{State: stream.EngineConnected, Version: "20.10.24", APIVersion: "1.41"})
	h.Upsert(ctr("bbb", "two"))
	h.Upsert(ctr("aaa", "one"))

	s := subscribe(t, h, stream.Subscription{})
	select {
	case <-s.Ready():
	default:
		t.Fatal("a new subscriber is not signalled ready")
	}
	ms := take(t, s)
	wantTypes(t, ms, stream.TypeHello, stream.TypeSnapshot)
	hello := ms[0]
	if hello.Epoch != h.Epoch() || hello.Seq != 3 || !hello.Time.Equal(clock.Now()) {
		t.Errorf("hello at %s/%d %s, want %s/3 %s", hello.Epoch, hello.Seq, hello.Time, h.Epoch(), clock.Now())
	}
	want := stream.Hello{Protocol: stream.ProtocolVersion, Server: "v9", Context: "ctx1", Endpoint: "unix:///x.sock",
		Engine: stream.EngineStatus{State: stream.EngineConnected, Version: "20.10.24", APIVersion: "1.41"}, StatsInterval: "1s"}
	if *hello.Hello != want {
		t.Errorf("hello = %+v, want %+v", *hello.Hello, want)
	}
	snap := ms[1]
	if snap.Seq != 3 || snap.Epoch != h.Epoch() {
		t.Errorf("snapshot at %s/%d, want %s/3", snap.Epoch, snap.Seq, h.Epoch())
	}
	if snap.Snapshot.Resync || snap.Snapshot.Engine.State != stream.EngineConnected {
		t.Errorf("snapshot = %+v, want no resync and a connected engine", snap.Snapshot)
	}
	if len(snap.Snapshot.Containers) != 2 || snap.Snapshot.Containers[0].ID != "aaa" || snap.Snapshot.Containers[1].ID != "bbb" {
		t.Errorf("snapshot containers = %+v, want aaa and bbb in id order", snap.Snapshot.Containers)
	}
	if got := take(t, s); len(got) != 0 {
		t.Errorf("second Take returned %v, want nothing", types(got))
	}
}

func TestSnapshotOfEmptyHubHasEmptyList(t *testing.T) {
	h := New(Config{})
	ms := take(t, subscribe(t, h, stream.Subscription{}))
	wantTypes(t, ms, stream.TypeHello, stream.TypeSnapshot)
	if ms[1].Snapshot.Containers == nil {
		t.Error("snapshot containers encode as null; clients expect a list")
	}
	if ms[1].Snapshot.Engine.State != stream.EngineUnavailable {
		t.Errorf("engine before any status = %q, want unavailable", ms[1].Snapshot.Engine.State)
	}
}

func TestSeqGrowsOnlyWithSequencedMessages(t *testing.T) {
	clock := newFakeClock()
	h := New(Config{Now: clock.Now})
	s := subscribe(t, h, stream.Subscription{})
	take(t, s)

	steps := []struct {
		name    string
		do      func()
		typ     string // "" when nothing is sent
		advance bool
	}{
		{"engine", func() { h.EngineStatus(stream.EngineStatus{State: stream.EngineConnected}) }, stream.TypeEngine, true},
		{"same engine", func() { h.EngineStatus(stream.EngineStatus{State: stream.EngineConnected}) }, "", false},
		{"upsert", func() { h.Upsert(ctr("a1", "a")) }, stream.TypeContainer, true},
		{"same upsert", func() { h.Upsert(ctr("a1", "a")) }, "", false},
		{"changed upsert", func() { c := ctr("a1", "a"); c.Status = "Up 2s"; h.Upsert(c) }, stream.TypeContainer, true},
		{"event", func() { h.Event(event(1)) }, stream.TypeEvent, true},
		{"stats", func() {
			h.Stats(stream.Stats{ID: "a1", CPUPercent: 5})
			clock.Advance(time.Second)
			h.flushStats()
		}, stream.TypeStats, false},
		{"stats of unknown container", func() {
			h.Stats(stream.Stats{ID: "nope"})
			clock.Advance(time.Second)
			h.flushStats()
		}, "", false},
		{"remove", func() { h.Remove("a1") }, stream.TypeRemove, true},
		{"remove unknown", func() { h.Remove("a1") }, "", false},
	}
	seq := uint64(0)
	for _, st := range steps {
		st.do()
		if st.advance {
			seq++
		}
		ms := take(t, s)
		if st.typ == "" {
			if len(ms) != 0 {
				t.Errorf("%s: sent %v, want nothing", st.name, types(ms))
			}
		} else {
			wantTypes(t, ms, st.typ)
			if ms[0].Seq != seq || ms[0].Epoch != h.Epoch() {
				t.Errorf("%s: seq %d, want %d", st.name, ms[0].Seq, seq)
			}
		}
		if got := h.Info().Seq; got != seq {
			t.Errorf("%s: Info().Seq = %d, want %d", st.name, got, seq)
		}
	}
	// Hello and snapshot carry the newest seq and do not advance it.
	ms := take(t, subscribe(t, h, stream.Subscription{}))
	wantTypes(t, ms, stream.TypeHello, stream.TypeSnapshot)
	if ms[0].Seq != seq || ms[1].Seq != seq || h.Info().Seq != seq {
		t.Errorf("hello seq %d, snapshot seq %d, hub seq %d; want all %d", ms[0].Seq, ms[1].Seq, h.Info().Seq, seq)
	}
}

func TestResumeDeliversExactlyTheMissedMessages(t *testing.T) {
	h := New(Config{RingSize: 64})
	h.Upsert(ctr("a1", "a"))
	for i := 1; i <= 10; i++ {
		h.Event(event(i))
	}
	// Position after event 4: seq 1 is the upsert, events 1..10 are 2..11.
	since := &stream.Position{Epoch: h.Epoch(), Seq: 5}
	s := subscribe(t, h, stream.Subscription{Since: since})
	ms := take(t, s)
	if len(ms) != 1+6 {
		t.Fatalf("got %v, want hello and 6 events", types(ms))
	}
	if ms[0].Type != stream.TypeHello || !ms[0].Hello.Resumed || ms[0].Seq != 11 {
		t.Fatalf("first message = %s resumed=%v seq=%d, want a resumed hello at 11", ms[0].Type, ms[0].Hello != nil && ms[0].Hello.Resumed, ms[0].Seq)
	}
	for i, m := range ms[1:] {
		if n := eventN(t, m); n != 5+i || m.Seq != uint64(6+i) {
			t.Errorf("replayed #%d: event %d seq %d, want event %d seq %d", i, n, m.Seq, 5+i, 6+i)
		}
	}
	// Live messages continue the replay with no gap.
	h.Event(event(11))
	ms = take(t, s)
	if len(ms) != 1 || eventN(t, ms[0]) != 11 || ms[0].Seq != 12 {
		t.Errorf("live after replay = %v, want event 11 at seq 12", types(ms))
	}

	// Resuming at the newest position sends only the hello.
	ms = take(t, subscribe(t, h, stream.Subscription{Since: &stream.Position{Epoch: h.Epoch(), Seq: 12}}))
	wantTypes(t, ms, stream.TypeHello)
	if !ms[0].Hello.Resumed {
		t.Error("resume at the newest seq was not honoured")
	}
}

func TestResumeSkipsWhatTheSubscriptionDoesNotWant(t *testing.T) {
	h := New(Config{})
	h.Upsert(ctr("a1", "a"))
	h.Event(event(1))
	h.Upsert(ctr("b1", "b"))
	h.EngineStatus(stream.EngineStatus{State: stream.EngineConnected})
	h.Remove("a1")
	s := subscribe(t, h, stream.Subscription{
		Since:  &stream.Position{Epoch: h.Epoch(), Seq: 0},
		Topics: []string{stream.TopicContainers},
		Filter: stream.ContainerFilter{Names: []string{"a"}},
	})
	ms := take(t, s)
	wantTypes(t, ms, stream.TypeHello, stream.TypeContainer, stream.TypeEngine, stream.TypeRemove)
	if ms[1].Container.ID != "a1" || ms[3].Remove.ID != "a1" || ms[3].Remove.Name != "a" {
		t.Errorf("replay = %+v / %+v, want only a1's messages", ms[1].Container, ms[3].Remove)
	}
}

func TestResumeOutsideTheRingGetsResyncSnapshot(t *testing.T) {
	h := New(Config{RingSize: 4})
	h.Upsert(ctr("a1", "a"))
	for i := 1; i <= 9; i++ {
		h.Event(event(i))
	}
	// The ring now holds seq 7..10.
	cases := []struct {
		name    string
		since   stream.Position
		resumed bool
	}{
		{"oldest held minus one", stream.Position{Epoch: h.Epoch(), Seq: 6}, true},
		{"just evicted", stream.Position{Epoch: h.Epoch(), Seq: 5}, false},
		{"long gone", stream.Position{Epoch: h.Epoch(), Seq: 0}, false},
		{"from the future", stream.Position{Epoch: h.Epoch(), Seq: 11}, false},
		{"other epoch", stream.Position{Epoch: "another-streamer", Seq: 9}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			since := c.since
			ms := take(t, subscribe(t, h, stream.Subscription{Since: &since}))
			if ms[0].Type != stream.TypeHello || ms[0].Hello.Resumed != c.resumed {
				t.Fatalf("hello resumed = %v, want %v", ms[0].Hello.Resumed, c.resumed)
			}
			if c.resumed {
				if len(ms) != 5 || eventN(t, ms[1]) != 6 || eventN(t, ms[4]) != 9 {
					t.Errorf("got %v, want hello and events 6..9", types(ms))
				}
				return
			}
			wantTypes(t, ms, stream.TypeHello, stream.TypeSnapshot)
			if !ms[1].Snapshot.Resync || ms[1].Seq != 10 || ms[1].Epoch != h.Epoch() {
				t.Errorf("snapshot resync=%v at %s/%d, want a resync at %s/10", ms[1].Snapshot.Resync, ms[1].Epoch, ms[1].Seq, h.Epoch())
			}
			if len(ms[1].Snapshot.Containers) != 1 {
				t.Errorf("snapshot holds %d containers, want 1", len(ms[1].Snapshot.Containers))
			}
		})
	}
}

// A resume whose replay is longer than the queue must not count the replay
// as lag: otherwise the next live message ends the subscriber before its
// write pump could take anything, and it can never catch up.
func TestResumeLongerThanQueueIsNotTooSlow(t *testing.T) {
	h := New(Config{RingSize: 64, QueueSize: 4})
	for i := 1; i <= 20; i++ {
		h.Event(event(i))
	}
	s := subscribe(t, h, stream.Subscription{Since: &stream.Position{Epoch: h.Epoch(), Seq: 0}})
	h.Event(event(21))
	ms := take(t, s)
	if len(ms) != 22 || !ms[0].Hello.Resumed || eventN(t, ms[21]) != 21 {
		t.Fatalf("got %d messages, want hello and events 1..21", len(ms))
	}
	// After the backlog is taken the normal bound applies again.
	for i := 22; i <= 26; i++ {
		h.Event(event(i))
	}
	if _, code, _ := s.Take(nil); code != stream.CloseTooSlow {
		t.Errorf("5 messages over a queue of 4: close code %d, want %d", code, stream.CloseTooSlow)
	}
}

func TestResetDiffs(t *testing.T) {
	h := New(Config{})
	h.Reset([]stream.Container{ctr("a1", "a"), ctr("b1", "b"), ctr("c1", "c")})
	s := subscribe(t, h, stream.Subscription{})
	take(t, s)

	changed := ctr("b1", "b")
	changed.State, changed.Status, changed.ExitCode = "exited", "Exited (3)", 3
	h.Reset([]stream.Container{ctr("a1", "a"), changed, ctr("d1", "d")})
	ms := take(t, s)
	wantTypes(t, ms, stream.TypeContainer, stream.TypeContainer, stream.TypeRemove)
	if ms[0].Container.ID != "b1" || ms[0].Container.ExitCode != 3 {
		t.Errorf("first change = %+v, want b1 exited", ms[0].Container)
	}
	if ms[1].Container.ID != "d1" {
		t.Errorf("second change = %+v, want new d1", ms[1].Container)
	}
	if ms[2].Remove.ID != "c1" || ms[2].Remove.Name != "c" {
		t.Errorf("removal = %+v, want c1", ms[2].Remove)
	}
	if got := h.Info().Containers; got != 3 {
		t.Errorf("hub holds %d containers, want 3", got)
	}

	h.Reset([]stream.Container{ctr("a1", "a"), changed, ctr("d1", "d")})
	if ms := take(t, s); len(ms) != 0 {
		t.Errorf("identical Reset sent %v, want nothing", types(ms))
	}
	h.Reset(nil)
	ms = take(t, s)
	wantTypes(t, ms, stream.TypeRemove, stream.TypeRemove, stream.TypeRemove)
	if h.Info().Containers != 0 {
		t.Errorf("empty Reset left %d containers", h.Info().Containers)
	}
}

func TestUpsertIgnoresStatsFieldAndIdenticalState(t *testing.T) {
	h := New(Config{})
	c := ctr("a1", "a")
	c.Labels = map[string]string{"k": "v"}
	c.Ports = []stream.Port{{PrivatePort: 80, Proto: "tcp"}}
	h.Upsert(c)
	s := subscribe(t, h, stream.Subscription{})
	take(t, s)

	again := c
	again.Labels = map[string]string{"k": "v"}
	again.Stats = &stream.Stats{ID: "a1", CPUPercent: 50}
	h.Upsert(again)
	if ms := take(t, s); len(ms) != 0 {
		t.Errorf("identical upsert sent %v", types(ms))
	}
	c.Labels = map[string]string{"k": "w"}
	h.Upsert(c)
	ms := take(t, s)
	wantTypes(t, ms, stream.TypeContainer)
	if ms[0].Container.Labels["k"] != "w" || ms[0].Container.Stats != nil {
		t.Errorf("container message = %+v, want label k=w and no stats", ms[0].Container)
	}
}

func TestStatsAreBatchedAndCoalesced(t *testing.T) {
	clock := newFakeClock()
	h := New(Config{Now: clock.Now})
	h.Upsert(ctr("a1", "a"))
	h.Upsert(ctr("b1", "b"))
	s := subscribe(t, h, stream.Subscription{})
	take(t, s)

	// Samples are held until a flush, which sends the newest of each.
	h.Stats(stream.Stats{ID: "b1", CPUPercent: 1})
	h.Stats(stream.Stats{ID: "a1", CPUPercent: 2})
	h.Stats(stream.Stats{ID: "a1", CPUPercent: 3})
	if ms := take(t, s); len(ms) != 0 {
		t.Fatalf("stats went out before a flush: %v", types(ms))
	}
	clock.Advance(time.Second)
	h.flushStats()
	ms := take(t, s)
	wantTypes(t, ms, stream.TypeStats)
	if len(ms[0].Stats) != 2 || ms[0].Stats[0].ID != "a1" || ms[0].Stats[0].CPUPercent != 3 || ms[0].Stats[1].ID != "b1" {
		t.Errorf("batch = %+v, want the newest a1 (3%%) then b1", ms[0].Stats)
	}

	// Nothing new: a flush sends nothing.
	clock.Advance(time.Second)
	h.flushStats()
	if ms := take(t, s); len(ms) != 0 {
		t.Errorf("flush without new samples sent %v", types(ms))
	}

	// A subscriber that does not take keeps only the newest batch, after
	// the lifecycle messages that were queued meanwhile.
	for i := 10; i < 13; i++ {
		h.Stats(stream.Stats{ID: "a1", CPUPercent: float64(i)})
		h.Event(event(i))
		clock.Advance(time.Second)
		h.flushStats()
	}
	ms = take(t, s)
	wantTypes(t, ms, stream.TypeEvent, stream.TypeEvent, stream.TypeEvent, stream.TypeStats)
	if ms[3].Stats[0].CPUPercent != 12 || ms[3].Seq != ms[2].Seq {
		t.Errorf("coalesced batch = %+v at seq %d, want a1 at 12%% at seq %d", ms[3].Stats, ms[3].Seq, ms[2].Seq)
	}

	// A new subscriber's snapshot carries each container's newest sample,
	// newer than any batch, so no batch follows it until a new one.
	h.Stats(stream.Stats{ID: "a1", CPUPercent: 13})
	joined := subscribe(t, h, stream.Subscription{})
	ms = take(t, joined)
	wantTypes(t, ms, stream.TypeHello, stream.TypeSnapshot)
	if st := ms[1].Snapshot.Containers[0].Stats; st == nil || st.CPUPercent != 13 {
		t.Errorf("snapshot stats of a1 = %+v, want 13%%", st)
	}
	// A resuming subscriber gets no snapshot, so it gets the newest batch.
	ms = take(t, subscribe(t, h, stream.Subscription{Since: &stream.Position{Epoch: h.Epoch(), Seq: h.Info().Seq}}))
	wantTypes(t, ms, stream.TypeHello, stream.TypeStats)
	if ms[1].Stats[0].CPUPercent != 12 {
		t.Errorf("resumed subscriber's batch = %+v, want the last flushed one (12%%)", ms[1].Stats)
	}
	clock.Advance(time.Second)
	h.flushStats()
	ms = take(t, joined)
	wantTypes(t, ms, stream.TypeStats)
	if ms[0].Stats[0].CPUPercent != 13 {
		t.Errorf("first batch after the snapshot = %+v, want 13%%", ms[0].Stats)
	}
	take(t, s)

	// A stopped container's stats are dropped, and the next flush says so.
	stopped := ctr("a1", "a")
	stopped.State = "exited"
	h.Upsert(stopped)
	take(t, s)
	clock.Advance(time.Second)
	h.flushStats()
	ms = take(t, s)
	wantTypes(t, ms, stream.TypeStats)
	if len(ms[0].Stats) != 1 || ms[0].Stats[0].ID != "b1" {
		t.Errorf("batch after a1 stopped = %+v, want only b1", ms[0].Stats)
	}
}

func TestStatsIntervalIsHonoured(t *testing.T) {
	clock := newFakeClock()
	h := New(Config{Now: clock.Now})
	h.Upsert(ctr("a1", "a"))
	slow := subscribe(t, h, stream.Subscription{StatsInterval: "3s"})
	fast := subscribe(t, h, stream.Subscription{})
	take(t, slow)
	take(t, fast)

	var slowAt, fastAt []int
	for sec := 1; sec <= 9; sec++ {
		h.Stats(stream.Stats{ID: "a1", CPUPercent: float64(sec)})
		clock.Advance(time.Second)
		h.flushStats()
		for _, m := range take(t, slow) {
			if m.Type == stream.TypeStats {
				slowAt = append(slowAt, int(m.Stats[0].CPUPercent))
			}
		}
		for _, m := range take(t, fast) {
			if m.Type == stream.TypeStats {
				fastAt = append(fastAt, int(m.Stats[0].CPUPercent))
			}
		}
	}
	if fmt.Sprint(slowAt) != "[1 4 7]" {
		t.Errorf("3s subscriber got batches %v, want [1 4 7]", slowAt)
	}
	// Samples stop: the batch the slow subscriber skipped still reaches it
	// once its interval has passed, and only once.
	for range 4 {
		clock.Advance(time.Second)
		h.flushStats()
		for _, m := range take(t, slow) {
			slowAt = append(slowAt, int(m.Stats[0].CPUPercent))
		}
		if ms := take(t, fast); len(ms) != 0 {
			t.Errorf("1s subscriber got %v again", types(ms))
		}
	}
	if fmt.Sprint(slowAt) != "[1 4 7 9]" {
		t.Errorf("3s subscriber got batches %v, want [1 4 7 9]", slowAt)
	}
	if fmt.Sprint(fastAt) != "[1 2 3 4 5 6 7 8 9]" {
		t.Errorf("1s subscriber got batches %v, want every one", fastAt)
	}
}

func TestFilters(t *testing.T) {
	web := stream.Container{ID: "abc123", Name: "web", State: "running",
		Labels: map[string]string{"tier": "front", "com.docker.compose.project": "shop"}, Project: "shop"}
	db := stream.Container{ID: "def456", Name: "db", State: "running",
		Labels: map[string]string{"tier": "back", "com.docker.compose.project": "shop"}, Project: "shop"}
	tool := stream.Container{ID: "abf789", Name: "tool", State: "running", Labels: map[string]string{"debug": ""}}
	all := []stream.Container{web, db, tool}

	cases := []struct {
		name   string
		filter stream.ContainerFilter
		want   string // ids, sorted
	}{
		{"none", stream.ContainerFilter{}, "[abc123 abf789 def456]"},
		{"name", stream.ContainerFilter{Names: []string{"web"}}, "[abc123]"},
		{"name with slash", stream.ContainerFilter{Names: []string{"/db"}}, "[def456]"},
		{"names OR", stream.ContainerFilter{Names: []string{"web", "db"}}, "[abc123 def456]"},
		{"name anchored regex", stream.ContainerFilter{Names: []string{"^we$"}}, "[]"},
		{"name regex as docker ps", stream.ContainerFilter{Names: []string{"^w.b$"}}, "[abc123]"},
		{"name substring as docker ps", stream.ContainerFilter{Names: []string{"we"}}, "[abc123]"},
		{"id prefix", stream.ContainerFilter{IDs: []string{"ab"}}, "[abc123 abf789]"},
		{"full id", stream.ContainerFilter{IDs: []string{"def456"}}, "[def456]"},
		{"label key", stream.ContainerFilter{Labels: []string{"debug"}}, "[abf789]"},
		{"label key=value", stream.ContainerFilter{Labels: []string{"tier=back"}}, "[def456]"},
		{"label empty value", stream.ContainerFilter{Labels: []string{"debug="}}, "[abf789]"},
		{"labels AND", stream.ContainerFilter{Labels: []string{"tier", "tier=front"}}, "[abc123]"},
		{"project", stream.ContainerFilter{Projects: []string{"shop"}}, "[abc123 def456]"},
		{"lists AND", stream.ContainerFilter{IDs: []string{"ab"}, Projects: []string{"shop"}}, "[abc123]"},
		{"no match", stream.ContainerFilter{Names: []string{"web"}, Labels: []string{"tier=back"}}, "[]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock()
			h := New(Config{Now: clock.Now})
			h.Reset(all)
			s := subscribe(t, h, stream.Subscription{Filter: c.filter})
			ms := take(t, s)
			wantTypes(t, ms, stream.TypeHello, stream.TypeSnapshot)
			var snapIDs []string
			for _, x := range ms[1].Snapshot.Containers {
				snapIDs = append(snapIDs, x.ID)
			}
			if fmt.Sprint(orEmpty(snapIDs)) != c.want {
				t.Errorf("snapshot = %v, want %s", snapIDs, c.want)
			}

			// Changes, stats and removals pass the same filter; events and
			// Engine status are not filtered.
			var changed, statIDs, removed []string
			for _, x := range all {
				x.Status = "changed"
				h.Upsert(x)
				h.Stats(stream.Stats{ID: x.ID})
			}
			clock.Advance(time.Second)
			h.flushStats()
			h.Event(event(1))
			h.EngineStatus(stream.EngineStatus{State: stream.EngineConnected})
			for _, x := range all {
				h.Remove(x.ID)
			}
			others := 0
			for _, m := range take(t, s) {
				switch m.Type {
				case stream.TypeContainer:
					changed = append(changed, m.Container.ID)
				case stream.TypeStats:
					for _, st := range m.Stats {
						statIDs = append(statIDs, st.ID)
					}
				case stream.TypeRemove:
					removed = append(removed, m.Remove.ID)
				default:
					others++
				}
			}
			for what, got := range map[string][]string{"container": changed, "stats": statIDs, "remove": removed} {
				if fmt.Sprint(sorted(got)) != c.want {
					t.Errorf("%s messages for %v, want %s", what, got, c.want)
				}
			}
			if others != 2 {
				t.Errorf("got %d event/engine messages, want 2", others)
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sorted(s []string) []string {
	return orEmpty(slices.Sorted(slices.Values(s)))
}

func TestTopics(t *testing.T) {
	clock := newFakeClock()
	h := New(Config{Now: clock.Now})
	h.Upsert(ctr("a1", "a"))
	h.Stats(stream.Stats{ID: "a1"})
	clock.Advance(time.Second)
	h.flushStats()

	cases := []struct {
		topics []string
		first  []string // on subscribe
		live   []string // after an upsert, a stats flush, an event, an engine change and a remove
	}{
		{nil, []string{"hello", "snapshot"}, []string{"container", "event", "engine", "remove", "stats"}},
		{[]string{"containers"}, []string{"hello", "snapshot"}, []string{"container", "engine", "remove"}},
		{[]string{"stats"}, []string{"hello", "stats"}, []string{"engine", "stats"}},
		{[]string{"events"}, []string{"hello"}, []string{"event", "engine"}},
		{[]string{"events", "stats"}, []string{"hello", "stats"}, []string{"event", "engine", "stats"}},
	}
	var subs []*Subscriber
	for _, c := range cases {
		s := subscribe(t, h, stream.Subscription{Topics: c.topics})
		if got := types(take(t, s)); fmt.Sprint(got) != fmt.Sprint(c.first) {
			t.Errorf("topics %v: first messages %v, want %v", c.topics, got, c.first)
		}
		subs = append(subs, s)
	}
	c := ctr("a1", "a")
	c.Status = "changed"
	h.Upsert(c)
	h.Stats(stream.Stats{ID: "a1", CPUPercent: 1})
	h.Event(event(1))
	h.EngineStatus(stream.EngineStatus{State: stream.EngineConnected})
	h.Remove("a1")
	clock.Advance(time.Second)
	h.flushStats()
	for i, c := range cases {
		if got := types(take(t, subs[i])); fmt.Sprint(got) != fmt.Sprint(c.live) {
			t.Errorf("topics %v: live messages %v, want %v", c.topics, got, c.live)
		}
	}
}

func TestQueueOverflowEndsSubscriberAsTooSlow(t *testing.T) {
	h := New(Config{QueueSize: 4})
	s := subscribe(t, h, stream.Subscription{}) // hello + snapshot wait
	h.Event(event(1))
	h.Event(event(2))
	if frames, code, _ := s.Take(nil); code != 0 || len(frames) != 4 {
		t.Fatalf("a full but not overflowing queue: %d frames, close %d; want 4 frames", len(frames), code)
	}
	for i := 3; i <= 7; i++ {
		h.Event(event(i))
	}
	select {
	case <-s.Ready():
	default:
		t.Fatal("overflow did not wake the write pump")
	}
	frames, code, text := s.Take(nil)
	if code != stream.CloseTooSlow || len(frames) != 0 || text == "" {
		t.Fatalf("Take after overflow = %d frames, close %d %q; want no frames and %d", len(frames), code, text, stream.CloseTooSlow)
	}
	// It stays closed, and a fresh subscriber is unaffected.
	h.Event(event(8))
	if _, code, _ := s.Take(nil); code != stream.CloseTooSlow {
		t.Errorf("second Take close code %d, want %d", code, stream.CloseTooSlow)
	}
	other := subscribe(t, h, stream.Subscription{Since: &stream.Position{Epoch: h.Epoch(), Seq: 4}})
	ms := take(t, other)
	if len(ms) != 5 || eventN(t, ms[1]) != 5 || eventN(t, ms[4]) != 8 {
		t.Errorf("resume after too slow got %v, want hello and events 5..8", types(ms))
	}
}

func TestBadSubscriptions(t *testing.T) {
	h := New(Config{})
	cases := []struct {
		name string
		sub  stream.Subscription
		code int
		kind string
	}{
		{"old protocol", stream.Subscription{Protocol: 0}, stream.CloseBadVersion, "bad_version"},
		{"new protocol", stream.Subscription{Protocol: stream.ProtocolVersion + 1}, stream.CloseBadVersion, "bad_version"},
		{"topic", stream.Subscription{Protocol: 1, Topics: []string{"containers", "logs"}}, stream.CloseBadRequest, "bad_topic"},
		{"label without key", stream.Subscription{Protocol: 1, Filter: stream.ContainerFilter{Labels: []string{"=v"}}}, stream.CloseBadRequest, "bad_filter"},
		{"empty label", stream.Subscription{Protocol: 1, Filter: stream.ContainerFilter{Labels: []string{""}}}, stream.CloseBadRequest, "bad_filter"},
		{"empty name", stream.Subscription{Protocol: 1, Filter: stream.ContainerFilter{Names: []string{""}}}, stream.CloseBadRequest, "bad_filter"},
		{"bad name regex", stream.Subscription{Protocol: 1, Filter: stream.ContainerFilter{Names: []string{"a(b"}}}, stream.CloseBadRequest, "bad_filter"},
		{"empty id", stream.Subscription{Protocol: 1, Filter: stream.ContainerFilter{IDs: []string{"a", ""}}}, stream.CloseBadRequest, "bad_filter"},
		{"empty project", stream.Subscription{Protocol: 1, Filter: stream.ContainerFilter{Projects: []string{""}}}, stream.CloseBadRequest, "bad_filter"},
		{"interval syntax", stream.Subscription{Protocol: 1, StatsInterval: "2"}, stream.CloseBadRequest, "bad_interval"},
		{"interval too short", stream.Subscription{Protocol: 1, StatsInterval: "999ms"}, stream.CloseBadRequest, "bad_interval"},
		{"negative interval", stream.Subscription{Protocol: 1, StatsInterval: "-5s"}, stream.CloseBadRequest, "bad_interval"},
	}
	for _, c := range cases {
		s, err := h.Subscribe(c.sub)
		var re *RequestError
		if !errors.As(err, &re) {
			t.Errorf("%s: Subscribe = %v, %v; want a RequestError", c.name, s, err)
			continue
		}
		if re.Code != c.code || re.Kind != c.kind || re.Msg == "" || re.Error() != re.Msg {
			t.Errorf("%s: got %d %s %q, want %d %s", c.name, re.Code, re.Kind, re.Msg, c.code, c.kind)
		}
	}
	if n := h.Info().Clients; n != 0 {
		t.Errorf("refused subscriptions left %d clients", n)
	}
	for _, iv := range []string{"1s", "2500ms", "1m"} {
		if _, err := h.Subscribe(stream.Subscription{Protocol: 1, StatsInterval: iv}); err != nil {
			t.Errorf("stats_interval %s refused: %v", iv, err)
		}
	}
}

func TestUnsubscribeUpdatesInfo(t *testing.T) {
	clock := newFakeClock()
	h := New(Config{Now: clock.Now})
	start := clock.Now()
	if info := h.Info(); info.Clients != 0 || !info.IdleSince.Equal(start) || !info.Started.Equal(start) || info.Epoch != h.Epoch() {
		t.Fatalf("fresh hub info = %+v", info)
	}
	a := subscribe(t, h, stream.Subscription{})
	b := subscribe(t, h, stream.Subscription{})
	if info := h.Info(); info.Clients != 2 || !info.IdleSince.IsZero() {
		t.Fatalf("with two clients: %+v, want 2 clients and no idle time", info)
	}
	clock.Advance(time.Minute)
	h.Unsubscribe(a)
	h.Unsubscribe(a) // twice is harmless
	if info := h.Info(); info.Clients != 1 || !info.IdleSince.IsZero() {
		t.Fatalf("with one client: %+v", info)
	}
	clock.Advance(time.Minute)
	h.Unsubscribe(b)
	if info := h.Info(); info.Clients != 0 || !info.IdleSince.Equal(start.Add(2*time.Minute)) {
		t.Fatalf("with no client: %+v, want idle since %s", info, start.Add(2*time.Minute))
	}
	// An unsubscribed subscriber receives nothing more.
	take(t, b)
	h.Event(event(1))
	if ms := take(t, b); len(ms) != 0 {
		t.Errorf("unsubscribed subscriber got %v", types(ms))
	}
}

func TestRunFlushesAndStopEndsSubscribers(t *testing.T) {
	h := New(Config{StatsFlush: 10 * time.Millisecond})
	h.Upsert(ctr("a1", "a"))
	s := subscribe(t, h, stream.Subscription{})
	take(t, s)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(stop)
	}()
	h.Stats(stream.Stats{ID: "a1", CPUPercent: 7})
	deadline := time.After(5 * time.Second)
	got := false
	for !got {
		select {
		case <-s.Ready():
			for _, m := range take(t, s) {
				got = got || (m.Type == stream.TypeStats && m.Stats[0].CPUPercent == 7)
			}
		case <-deadline:
			t.Fatal("Run did not flush stats within 5s")
		}
	}
	close(stop)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after stop")
	}
	if _, code, _ := s.Take(nil); code != stream.CloseShuttingDown {
		t.Errorf("after stop: close code %d, want %d", code, stream.CloseShuttingDown)
	}
	if _, err := h.Subscribe(stream.Subscription{Protocol: 1}); err == nil {
		t.Error("a stopped hub accepted a subscriber")
	}
	if n := h.Info().Clients; n != 0 {
		t.Errorf("a stopped hub still counts %d clients", n)
	}
}

// Subscribing while messages are broadcast must lose and repeat nothing:
// whatever a subscriber's hello or snapshot says, the next message it gets
// is the one right after.
func TestSubscribeDuringBroadcastHasNoGap(t *testing.T) {
	h := New(Config{RingSize: 8192, QueueSize: 8192})
	const n = 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= n; i++ {
			h.Event(event(i))
		}
	}()
	var subs []*Subscriber
	var since []uint64
	var collected [][]stream.Message
	for range 10 {
		since = append(since, h.Info().Seq)
		s := subscribe(t, h, stream.Subscription{Since: &stream.Position{Epoch: h.Epoch(), Seq: since[len(since)-1]}})
		subs = append(subs, s)
		collected = append(collected, take(t, s))
	}
	<-done
	for i, s := range subs {
		ms := append(collected[i], take(t, s)...)
		if !ms[0].Hello.Resumed {
			t.Fatalf("subscriber %d was not resumed", i)
		}
		next := since[i] + 1
		for _, m := range ms[1:] {
			if m.Type != stream.TypeEvent {
				t.Fatalf("subscriber %d: unexpected %s", i, m.Type)
			}
			if m.Seq != next || eventN(t, m) != int(next) {
				t.Fatalf("subscriber %d: got seq %d (event %d), want %d", i, m.Seq, eventN(t, m), next)
			}
			next++
		}
		if next != n+1 {
			t.Errorf("subscriber %d ended at seq %d, want %d", i, next-1, n)
		}
	}
}

func TestRingWrapsAround(t *testing.T) {
	r := newRing(3)
	if _, ok := r.after(0, 0); !ok {
		t.Error("empty ring at seq 0 cannot resume")
	}
	for seq := uint64(1); seq <= 7; seq++ {
		r.push(entry{seq: seq})
	}
	for since, want := range map[uint64]string{4: "[5 6 7]", 5: "[6 7]", 6: "[7]", 7: "[]"} {
		got, ok := r.after(since, 7)
		var seqs []uint64
		for _, e := range got {
			seqs = append(seqs, e.seq)
		}
		if !ok || fmt.Sprint(orEmptyU(seqs)) != want {
			t.Errorf("after(%d) = %v %v, want %s", since, seqs, ok, want)
		}
	}
	for _, since := range []uint64{0, 3, 8} {
		if _, ok := r.after(since, 7); ok {
			t.Errorf("after(%d) claims to hold it", since)
		}
	}
}

func orEmptyU(s []uint64) []uint64 {
	if s == nil {
		return []uint64{}
	}
	return s
}

func TestResumeAfterRemovalGetsNoStaleStats(t *testing.T) {
	clock := newFakeClock()
	h := New(Config{Now: clock.Now})
	h.Upsert(ctr("a1", "a"))
	h.Upsert(ctr("b1", "b"))
	h.Stats(stream.Stats{ID: "a1"})
	h.Stats(stream.Stats{ID: "b1"})
	clock.Advance(time.Second)
	h.flushStats()
	since := h.Info().Seq
	h.Remove("a1")
	s := subscribe(t, h, stream.Subscription{Since: &stream.Position{Epoch: h.Epoch(), Seq: since}})
	ms := take(t, s)
	wantTypes(t, ms, stream.TypeHello, stream.TypeRemove)
	clock.Advance(time.Second)
	h.flushStats()
	ms = take(t, s)
	wantTypes(t, ms, stream.TypeStats)
	if len(ms[0].Stats) != 1 || ms[0].Stats[0].ID != "b1" {
		t.Errorf("batch after the removal = %+v, want only b1", ms[0].Stats)
	}
}
