package synthetic

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for the generator's tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// The pacer makes exactly rate x elapsed events, whatever the tick pattern:
// no rounding drift over many 1 ms ticks, and a stall is caught up in
// bounded steps rather than in one burst or not at all.
func TestPacerMakesExactlyTheRate(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, rate := range []float64{10000, 3333, 7} {
		p := pacer{rate: rate, start: t0}
		now := t0
		for range 10_000 { // 10 s of 1 ms ticks
			now = now.Add(time.Millisecond)
			p.made += p.due(now)
		}
		if want := int64(rate * 10); p.made != want {
			t.Errorf("rate %v: %d events in 10 s of ticks, want %d", rate, p.made, want)
		}
	}

	p := pacer{rate: 10000, start: t0}
	now := t0.Add(2 * time.Second) // a stall: the first tick comes 2 s late
	var steps []int64
	for p.made < 20000 {
		n := p.due(now)
		if n == 0 {
			t.Fatalf("stalled at %d events with 20000 due", p.made)
		}
		steps = append(steps, n)
		p.made += n
	}
	for _, n := range steps {
		if n > 1001 {
			t.Fatalf("caught up in a step of %d events, want at most a tenth of a second's", n)
		}
	}
	if p.made != 20000 || p.due(now) != 0 {
		t.Errorf("after catching up: made %d, due %d; want 20000 and 0", p.made, p.due(now))
	}
	if p.due(t0.Add(-time.Second)) != 0 {
		t.Errorf("events due before the start")
	}
}

// drive gives the generator n ticks, step apart on the fake clock.
func drive(t *testing.T, clk *fakeClock, ticks chan time.Time, n int, step time.Duration) {
	t.Helper()
	for range n {
		clk.Add(step)
		ticks <- clk.Now()
	}
}

// readEvents reads lines from an /events response until it ends or n
// lines arrived, and returns their seq attributes and stamps.
func readEvents(t *testing.T, body io.Reader, n int) (seqs []int64, nanos []int64) {
	t.Helper()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for (n < 0 || len(seqs) < n) && sc.Scan() {
		line := sc.Text()
		seq := attr(t, line, `"`+SeqAttribute+`":"`, `"`)
		nano := attr(t, line, `"timeNano":`, "}")
		seqs, nanos = append(seqs, seq), append(nanos, nano)
	}
	return seqs, nanos
}

func attr(t *testing.T, line, key, end string) int64 {
	t.Helper()
	_, rest, ok := strings.Cut(line, key)
	if !ok {
		t.Fatalf("no %s in %s", key, line)
	}
	v, _, _ := strings.Cut(rest, end)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s in %s: %v", key, line, err)
	}
	return n
}

// The Engine makes each event once: two live clients read the same
// numbered events with the same stamps, the count of events made is the
// paced rate however many clients read, and a catch-up query (until = now)
// is answered from the buffer and ends instead of streaming on. (The
// benchmark once read 19,999 events/s from a fake paced at 10,000: it
// counted per client, and the events command's catch-up query, whose until
// the fake ignored, was a second endless stream.)
func TestEventLogIsOneStreamForAllClients(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	e, err := start(Config{Containers: 10, Running: 2, EventRate: 1000}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ticks := make(chan time.Time)
	var gen sync.WaitGroup
	gen.Go(func() { e.generate(ticks, nil) })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	get := func(query string) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.ln.Addr().String()+"/v1.41/events"+query, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	drive(t, clk, ticks, 100, time.Millisecond) // 100 events before anyone listens
	// The generator takes a tick before it publishes what it made.
	waitFor(t, func() bool { return e.EventsGenerated() == 100 })
	a, b := get(""), get("")
	defer a.Body.Close()
	defer b.Body.Close()
	waitFor(t, func() bool { return e.EventSubscribers() == 2 })
	drive(t, clk, ticks, 500, time.Millisecond)
	close(ticks) // the generator has made all 600 once it takes no more
	gen.Wait()
	if got := e.EventsGenerated(); got != 600 {
		t.Errorf("generated %d events in 0.6 s at 1000/s, want 600", got)
	}
	seqA, nanoA := readEvents(t, a.Body, 500)
	seqB, nanoB := readEvents(t, b.Body, 500)
	for i := range seqA {
		if seqA[i] != int64(100+i) || seqB[i] != seqA[i] || nanoA[i] != nanoB[i] {
			t.Fatalf("event %d: client A seq %d at %d, client B seq %d at %d; want both seq %d, same stamp",
				i, seqA[i], nanoA[i], seqB[i], nanoB[i], 100+i)
		}
	}

	// A catch-up query: the buffer's last 256 events from since, then EOF.
	since := nanoA[400] // the stamp of seq 500 and its neighbours in the same tick
	c := get(fmt.Sprintf("?since=%d.%09d&until=%d.%09d", since/1e9, since%1e9, clk.Now().Unix(), clk.Now().Nanosecond()))
	seqC, _ := readEvents(t, c.Body, -1)
	c.Body.Close()
	if len(seqC) != 100 || seqC[0] != 500 || seqC[99] != 599 {
		t.Errorf("catch-up from seq 500's stamp returned %d events (%v ... ); want seqs 500 to 599", len(seqC), head(seqC))
	}
	// Older than the buffer: only the newest pastEvents remain.
	d := get(fmt.Sprintf("?since=1&until=%d", clk.Now().Unix()+1))
	_ = d // an until in the future streams on; read what the buffer gave
	seqD, _ := readEvents(t, d.Body, pastEvents)
	d.Body.Close()
	if len(seqD) != pastEvents || seqD[0] != 600-pastEvents {
		t.Errorf("query from the start returned %d events from seq %v; want the last %d from %d", len(seqD), head(seqD), pastEvents, 600-pastEvents)
	}
	if e.EventsGenerated() != 600 {
		t.Errorf("queries made events: generated %d, want 600", e.EventsGenerated())
	}
}

func head(s []int64) []int64 { return s[:min(len(s), 3)] }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond) // polling a counter of another goroutine
	}
}

func TestParseEngineTime(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "12": 12e9, "12.5": 12_500_000_000, "12.000000001": 12_000_000_001, "1.1234567891": 1_123_456_789} {
		if got, ok := parseEngineTime(in); !ok || got != want {
			t.Errorf("parseEngineTime(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	if _, ok := parseEngineTime("x"); ok {
		t.Errorf("parseEngineTime(x) succeeded")
	}
}
