package hub

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// historyHub is a hub keeping keep of history at a 1 s step, on a fake
// clock that starts at its base (slot 1).
func historyHub(t *testing.T, keep time.Duration) (*Hub, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	return New(Config{Context: "c", History: keep, Now: clock.Now}), clock
}

// tick delivers one sample per given container (CPU = the value given)
// read at the clock's time, flushes, then moves the clock on one second.
func tick(h *Hub, clock *fakeClock, cpu map[string]float64) {
	for id, v := range cpu {
		h.Stats(stream.Stats{ID: id, Read: clock.Now(), CPUPercent: v, MemUsage: uint64(v * 1000), MemLimit: 1 << 30, PIDs: uint64(v)})
	}
	h.flushStats()
	clock.Advance(time.Second)
}

// historyOf subscribes with sub (history asked for) and returns the
// history message's containers by id, and the whole message.
func historyOf(t *testing.T, h *Hub, sub stream.Subscription) (map[string]stream.ContainerHistory, stream.Message) {
	t.Helper()
	if !sub.History.Want {
		sub.History = stream.HistoryRequest{Want: true}
	}
	s := subscribe(t, h, sub)
	defer h.Unsubscribe(s)
	for _, m := range take(t, s) {
		if m.Type == stream.TypeHistory {
			out := map[string]stream.ContainerHistory{}
			for _, c := range m.History.Containers {
				out[c.ID] = c
			}
			return out, m
		}
	}
	t.Fatal("no history message")
	return nil, stream.Message{}
}

func wantSeries(t *testing.T, what string, got stream.Series, want ...float64) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = got[i] == want[i] || (math.IsNaN(got[i]) && math.IsNaN(want[i]))
	}
	if !ok {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

var gap = math.NaN()

func TestHistorySampleIsAtMost48Bytes(t *testing.T) {
	if HistorySampleBytes > 48 {
		t.Fatalf("a history sample takes %d bytes, more than 48", HistorySampleBytes)
	}
}

func TestHistoryOrderAfterSnapshotBeforeStats(t *testing.T) {
	h, clock := historyHub(t, 5*time.Second)
	h.Upsert(ctr("a1", "one"))
	tick(h, clock, map[string]float64{"a1": 1})
	s := subscribe(t, h, stream.Subscription{History: stream.HistoryRequest{Want: true}})
	ms := take(t, s)
	wantTypes(t, ms, stream.TypeHello, stream.TypeSnapshot, stream.TypeHistory)
	if ms[0].Hello.History != "5s" {
		t.Errorf("hello.history = %q, want 5s", ms[0].Hello.History)
	}
	hist := ms[2].History
	if hist.Step != "1s" || hist.Span != "5s" || len(hist.Containers) != 1 {
		t.Fatalf("history = %+v, want step 1s, span 5s, one container", hist)
	}
	c := hist.Containers[0]
	if !c.Start.Equal(h.started) {
		t.Errorf("start = %s, want the first flush %s", c.Start, h.started)
	}
	wantSeries(t, "cpu", c.CPUPercent, 1)
	wantSeries(t, "mem", c.MemUsage, 1000)
	wantSeries(t, "limit", c.MemLimit, 1<<30)
	wantSeries(t, "pids", c.PIDs, 1)
	wantSeries(t, "net rx", c.NetRxRate, 0)

	// Live stats come after it, as before.
	tick(h, clock, map[string]float64{"a1": 2})
	wantTypes(t, take(t, s), stream.TypeStats)

	// Without asking, no history.
	plain := subscribe(t, h, stream.Subscription{})
	wantTypes(t, take(t, plain), stream.TypeHello, stream.TypeSnapshot)
}

func TestHistoryWrapsAround(t *testing.T) {
	h, clock := historyHub(t, 5*time.Second)
	h.Upsert(ctr("a1", "one"))
	for i := 1; i <= 13; i++ {
		tick(h, clock, map[string]float64{"a1": float64(i)})
	}
	got, _ := historyOf(t, h, stream.Subscription{})
	c := got["a1"]
	wantSeries(t, "cpu after 13 samples in a ring of 5", c.CPUPercent, 9, 10, 11, 12, 13)
	wantSeries(t, "pids", c.PIDs, 9, 10, 11, 12, 13)
	if want := h.started.Add(8 * time.Second); !c.Start.Equal(want) {
		t.Errorf("start = %s, want %s (the 9th flush)", c.Start, want)
	}

	// A span shorter than what is kept: only the newest seconds. The clock
	// is one second past the last flush, so 3s covers two flushes.
	got, _ = historyOf(t, h, stream.Subscription{History: stream.HistoryRequest{Want: true, Span: 3 * time.Second}})
	wantSeries(t, "cpu of the last 3s", got["a1"].CPUPercent, 12, 13)
}

func TestHistoryOfAStoppedContainerStaysUntilRemoved(t *testing.T) {
	h, clock := historyHub(t, 5*time.Second)
	h.Upsert(ctr("a1", "one"))
	for i := 1; i <= 3; i++ {
		tick(h, clock, map[string]float64{"a1": float64(10 * i)})
	}
	stopped := ctr("a1", "one")
	stopped.State = "exited"
	h.Upsert(stopped)
	for range 20 { // far longer than the ring: nothing may overwrite it
		tick(h, clock, nil)
	}
	got, _ := historyOf(t, h, stream.Subscription{})
	c, ok := got["a1"]
	if !ok {
		t.Fatal("the stopped container has no history")
	}
	wantSeries(t, "cpu of the stopped container", c.CPUPercent, 10, 20, 30)
	if !c.Start.Equal(h.started) {
		t.Errorf("start = %s, want %s: the window ends where the container stopped", c.Start, h.started)
	}

	// Restarted long after: the old samples have left the window that
	// ends at the new one.
	h.Upsert(ctr("a1", "one"))
	tick(h, clock, map[string]float64{"a1": 7})
	got, _ = historyOf(t, h, stream.Subscription{})
	wantSeries(t, "cpu after a restart", got["a1"].CPUPercent, 7)

	h.Remove("a1")
	got, _ = historyOf(t, h, stream.Subscription{})
	if len(got) != 0 {
		t.Errorf("history after remove = %v, want none", got)
	}
	if len(h.hist.conts) != 0 {
		t.Errorf("the hub still holds %d rings after remove", len(h.hist.conts))
	}
}

func TestHistoryGapsAreNull(t *testing.T) {
	h, clock := historyHub(t, 10*time.Second)
	h.Upsert(ctr("a1", "one"))
	tick(h, clock, map[string]float64{"a1": 1})
	tick(h, clock, map[string]float64{"a1": 2})
	paused := ctr("a1", "one")
	paused.State = "exited"
	h.Upsert(paused)
	tick(h, clock, nil)
	tick(h, clock, nil)
	h.Upsert(ctr("a1", "one"))
	tick(h, clock, map[string]float64{"a1": 5})
	got, m := historyOf(t, h, stream.Subscription{})
	wantSeries(t, "cpu with a gap", got["a1"].CPUPercent, 1, 2, gap, gap, 5)
	if !strings.Contains(string(mustEncode(&m)), "[1,2,null,null,5]") {
		t.Errorf("gaps are not null on the wire")
	}
}

func TestHistoryFilters(t *testing.T) {
	h, clock := historyHub(t, 5*time.Second)
	web := ctr("a1", "web")
	web.Labels = map[string]string{"tier": "front"}
	db := ctr("b1", "db")
	db.Labels = map[string]string{"tier": "back"}
	h.Upsert(web)
	h.Upsert(db)
	tick(h, clock, map[string]float64{"a1": 1, "b1": 2})
	tick(h, clock, map[string]float64{"a1": 3, "b1": 4})

	got, _ := historyOf(t, h, stream.Subscription{Filter: stream.ContainerFilter{Labels: []string{"tier=back"}}})
	if len(got) != 1 {
		t.Fatalf("filtered history has %d containers, want 1", len(got))
	}
	wantSeries(t, "db cpu", got["b1"].CPUPercent, 2, 4)
	got, _ = historyOf(t, h, stream.Subscription{Filter: stream.ContainerFilter{Names: []string{"web"}}})
	wantSeries(t, "web cpu", got["a1"].CPUPercent, 1, 3)
	if _, ok := got["b1"]; ok {
		t.Error("a name filter let another container's history through")
	}
	got, _ = historyOf(t, h, stream.Subscription{Filter: stream.ContainerFilter{Names: []string{"nobody"}}})
	if len(got) != 0 {
		t.Errorf("a filter matching nothing got %d containers", len(got))
	}
	// The unfiltered one is cached for the flush; a filtered one must
	// never be served from that cache, nor fill it.
	all, _ := historyOf(t, h, stream.Subscription{})
	if len(all) != 2 {
		t.Errorf("unfiltered history has %d containers, want 2", len(all))
	}
}

func TestHistoryResumeGetsOnlyMissedSamples(t *testing.T) {
	h, clock := historyHub(t, 30*time.Second)
	h.Upsert(ctr("a1", "one"))
	for i := 1; i <= 5; i++ {
		tick(h, clock, map[string]float64{"a1": float64(i)})
	}
	s := subscribe(t, h, stream.Subscription{History: stream.HistoryRequest{Want: true}})
	var pos stream.Position
	var lastStats time.Time
	for _, m := range take(t, s) {
		if m.Type == stream.TypeSnapshot {
			pos = stream.Position{Epoch: m.Epoch, Seq: m.Seq}
		}
	}
	tick(h, clock, map[string]float64{"a1": 6})
	for _, m := range take(t, s) {
		if m.Type == stream.TypeStats {
			lastStats = m.Time
		}
	}
	if lastStats.IsZero() {
		t.Fatal("no live stats before the disconnect")
	}
	h.Unsubscribe(s)

	const missed = 7 // seconds the client was away
	for i := 1; i <= missed; i++ {
		tick(h, clock, map[string]float64{"a1": float64(100 + i)})
	}
	got, _ := historyOf(t, h, stream.Subscription{Since: &pos, HistorySince: lastStats})
	wantSeries(t, "cpu after a resume", got["a1"].CPUPercent, 101, 102, 103, 104, 105, 106, 107)
	if want := lastStats.Add(time.Second); !got["a1"].Start.Equal(want) {
		t.Errorf("resumed history starts at %s, want %s", got["a1"].Start, want)
	}

	// A resync (the position is from another streamer) gets everything,
	// whatever history_since says.
	other := stream.Position{Epoch: "elsewhere", Seq: pos.Seq}
	got, _ = historyOf(t, h, stream.Subscription{Since: &other, HistorySince: lastStats})
	if n := len(got["a1"].CPUPercent); n != 13 {
		t.Errorf("resync got %d samples, want all 13", n)
	}
	// A resume that missed nothing gets an empty history.
	got, _ = historyOf(t, h, stream.Subscription{Since: &pos, HistorySince: clock.Now()})
	if len(got) != 0 {
		t.Errorf("a resume that missed nothing got %v", got)
	}
}

func TestHistoryBlockRates(t *testing.T) {
	h, clock := historyHub(t, 5*time.Second)
	h.Upsert(ctr("a1", "one"))
	for i, total := range []uint64{1000, 3000, 3000, 9000} {
		h.Stats(stream.Stats{ID: "a1", Read: clock.Now(), BlockRead: total, BlockWrite: uint64(i) * 512, NetRxRate: 12.5})
		h.flushStats()
		clock.Advance(time.Second)
	}
	got, _ := historyOf(t, h, stream.Subscription{})
	wantSeries(t, "block read rate", got["a1"].BlockReadRate, 0, 2000, 0, 6000)
	wantSeries(t, "block write rate", got["a1"].BlockWriteRate, 0, 512, 512, 512)
	wantSeries(t, "net rx rate", got["a1"].NetRxRate, 12.5, 12.5, 12.5, 12.5)
}

func TestHistoryRequestErrors(t *testing.T) {
	h, _ := historyHub(t, 5*time.Second)
	for _, tc := range []struct {
		raw  string
		kind string
	}{
		{`{"protocol":1,"history":"soon"}`, "bad_history"},
		{`{"protocol":1,"history":"-1m"}`, "bad_history"},
		{`{"protocol":1,"history":42}`, "bad_history"},
		{`{"protocol":1,"history":true,"topics":["containers"]}`, "bad_history"},
	} {
		var sub stream.Subscription
		if err := json.Unmarshal([]byte(tc.raw), &sub); err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		_, err := h.Subscribe(sub)
		var re *RequestError
		if !errors.As(err, &re) || re.Kind != tc.kind || re.Code != stream.CloseBadRequest {
			t.Errorf("%s: err = %v, want %s with close %d", tc.raw, err, tc.kind, stream.CloseBadRequest)
		}
	}
	// Off: the request is honoured with an empty history that says so.
	off, _ := historyHub(t, 0)
	off.Upsert(ctr("a1", "one"))
	got, m := historyOf(t, off, stream.Subscription{})
	if len(got) != 0 || m.History.Span != "0s" {
		t.Errorf("history with none kept = %+v", m.History)
	}
}

func TestHistoryRecordDoesNotAllocate(t *testing.T) {
	h, clock := historyHub(t, 5*time.Minute)
	for i := range 200 {
		c := benchContainer(i)
		h.Upsert(c)
		h.Stats(stream.Stats{ID: c.ID, Read: clock.Now(), CPUPercent: 1})
	}
	h.hist.record(clock.Now(), h.stats) // allocates each ring once
	allocs := testing.AllocsPerRun(100, func() {
		clock.Advance(time.Second)
		h.hist.record(clock.Now(), h.stats)
	})
	if allocs != 0 {
		t.Errorf("recording 200 samples allocated %.1f times", allocs)
	}
}

func TestHistoryDocument(t *testing.T) {
	h, clock := historyHub(t, 5*time.Second)
	run := ctr("a1", "web")
	run.Labels = map[string]string{"app": "x"}
	gone := ctr("b1", "old")
	gone.State = "exited"
	gone.Labels = map[string]string{"app": "x"}
	h.Upsert(run)
	h.Upsert(gone)
	tick(h, clock, map[string]float64{"a1": 4})

	data, err := h.Document(DocumentQuery{Filter: stream.ContainerFilter{Labels: []string{"app"}}, History: stream.HistoryRequest{Want: true}})
	if err != nil {
		t.Fatal(err)
	}
	var doc stream.SnapshotDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("document is not JSON: %v: %s", err, data)
	}
	if doc.Epoch != h.Epoch() || doc.Seq != 2 || len(doc.Snapshot.Containers) != 1 || doc.Snapshot.Containers[0].Stats == nil {
		t.Errorf("document = %s, want epoch, seq 2 and the running container with its stats", data)
	}
	if doc.History == nil || len(doc.History.Containers) != 1 {
		t.Errorf("document history = %+v, want one container", doc.History)
	}
	data, _ = h.Document(DocumentQuery{All: true})
	doc = stream.SnapshotDocument{}
	_ = json.Unmarshal(data, &doc)
	if len(doc.Snapshot.Containers) != 2 || doc.History != nil {
		t.Errorf("all=1 without history: %s", data)
	}
	if _, err := h.Document(DocumentQuery{Filter: stream.ContainerFilter{Labels: []string{"=x"}}}); err == nil {
		t.Error("a bad label filter was accepted")
	}
}

// A ring is written in full when it is allocated, so the memory it will
// hold is resident from the start rather than growing over the span; every
// entry reads as never written.
func TestHistRingIsWrittenAtOnce(t *testing.T) {
	r, free := newHistRing(300)
	if free != nil {
		defer free()
	}
	if len(r) != 300 {
		t.Fatalf("ring of %d entries, want 300", len(r))
	}
	for i, e := range r {
		if e != (histSample{}) {
			t.Fatalf("entry %d = %+v, want never written", i, e)
		}
	}
}

// A removed container's ring is released (unmapped on Unix), and one that
// comes back starts a fresh ring; many rings come and go without trouble.
func TestHistoryRingsAreReleasedOnRemove(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	hs := newHistory(5*time.Minute, time.Second, base)
	for round := range 50 {
		now := base.Add(time.Duration(round) * time.Second)
		hs.record(now, map[string]stream.Stats{"a": {ID: "a", CPUPercent: float64(round)}, "b": {ID: "b", CPUPercent: 1}})
		if got := hs.conts["a"].samples[int(hs.slotOf(now))%hs.size].cpu; got != float64(round) {
			t.Fatalf("round %d: ring holds %v", round, got)
		}
		hs.forget("a")
		if _, ok := hs.conts["a"]; ok {
			t.Fatalf("round %d: a's ring kept after forget", round)
		}
	}
	if len(hs.conts) != 1 || hs.conts["b"] == nil {
		t.Fatalf("rings left: %d, want b's alone", len(hs.conts))
	}
}
