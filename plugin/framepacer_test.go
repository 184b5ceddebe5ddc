package plugin

import (
	"context"
	"testing"
	"time"
)

// fakePacerClock is a manual clock: after records the requested delays and
// hands out channels the test fires itself.
type fakePacerClock struct {
	now    time.Time
	delays []time.Duration
	chans  []chan time.Time
}

func (c *fakePacerClock) pacer(interval time.Duration) *statsPacer {
	p := newStatsPacer(interval)
	p.now = func() time.Time { return c.now }
	p.after = func(d time.Duration) <-chan time.Time {
		ch := make(chan time.Time, 1)
		c.delays = append(c.delays, d)
		c.chans = append(c.chans, ch)
		return ch
	}
	return p
}

func TestStatsPacerDrawsFirstStatsAtOnce(t *testing.T) {
	c := &fakePacerClock{now: time.Unix(1000, 0)}
	p := c.pacer(time.Second)
	if !p.arrived() {
		t.Fatal("the first stats were held; they must be drawn at once")
	}
	if p.due() != nil || len(c.delays) != 0 {
		t.Fatalf("a timer was armed for stats drawn at once: %v", c.delays)
	}
}

func TestStatsPacerHoldsABurstUntilTheIntervalEnds(t *testing.T) {
	c := &fakePacerClock{now: time.Unix(1000, 0)}
	p := c.pacer(time.Second)
	p.arrived()
	p.drawn()

	c.now = c.now.Add(300 * time.Millisecond)
	if p.arrived() {
		t.Fatal("stats 300ms after a frame were drawn; the interval is 1s")
	}
	c.now = c.now.Add(200 * time.Millisecond)
	if p.arrived() {
		t.Fatal("stats 500ms after a frame were drawn")
	}
	// One timer for the whole burst, for what is left of the interval.
	if len(c.delays) != 1 || c.delays[0] != 700*time.Millisecond {
		t.Fatalf("timers armed: %v, want one of 700ms", c.delays)
	}
	if p.due() == nil {
		t.Fatal("held stats have no due channel, so they would never be drawn")
	}
	c.now = c.now.Add(500 * time.Millisecond)
	c.chans[0] <- c.now
	select {
	case <-p.due():
	default:
		t.Fatal("the due channel did not fire")
	}
	p.drawn()
	if p.due() != nil {
		t.Fatal("the due channel stayed armed after the held stats were drawn")
	}

	// The interval counts from the held frame's drawing.
	c.now = c.now.Add(999 * time.Millisecond)
	if p.arrived() {
		t.Fatal("stats 999ms after the held frame were drawn")
	}
	c.now = c.now.Add(time.Millisecond)
	if !p.arrived() {
		t.Fatal("stats a full interval after the last frame were held")
	}
}

func TestNextFrame(t *testing.T) {
	c := &fakePacerClock{now: time.Unix(1000, 0)}
	p := c.pacer(time.Second)
	stateCh, statsCh := make(chan struct{}, 1), make(chan struct{}, 1)
	tick := make(chan time.Time, 1)
	runErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		draw bool
		err  error
	}
	next := func(redrawOnTick bool) <-chan result {
		ch := make(chan result, 1)
		go func() {
			draw, err := p.nextFrame(ctx, runErr, stateCh, statsCh, tick, redrawOnTick)
			ch <- result{draw, err}
		}()
		return ch
	}
	expect := func(what string, got <-chan result, want result) {
		t.Helper()
		select {
		case r := <-got:
			if r != want {
				t.Fatalf("%s: nextFrame = %+v, want %+v", what, r, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: nextFrame did not return", what)
		}
	}

	statsCh <- struct{}{}
	expect("first stats", next(false), result{draw: true})

	// Stats within the interval are held, and a tick of a view that does
	// not redraw on ticks is ignored: neither ends the wait.
	drained := func(what string, ch interface{ Len() int }) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ch.Len() > 0; {
			if time.Now().After(deadline) {
				t.Fatalf("nextFrame never read the %s", what)
			}
			time.Sleep(time.Millisecond) // polling a channel's length, under the deadline
		}
	}
	c.now = c.now.Add(100 * time.Millisecond)
	statsCh <- struct{}{}
	got := next(false)
	drained("stats", chanLen(func() int { return len(statsCh) }))
	tick <- c.now
	drained("tick", chanLen(func() int { return len(tick) }))
	select {
	case r := <-got:
		t.Fatalf("nextFrame returned %+v for held stats and an ignored tick", r)
	default:
	}
	stateCh <- struct{}{}
	expect("state change", got, result{draw: true})
	if p.due() == nil {
		t.Fatal("stats within the interval were not held")
	}
	got = next(false)
	c.now = c.now.Add(900 * time.Millisecond)
	c.chans[0] <- c.now
	expect("held stats when due", got, result{draw: true})
	if p.due() != nil {
		t.Fatal("the held stats were drawn but the pacer still holds them")
	}

	tick <- c.now
	expect("tick of a terminal table", next(true), result{draw: true})

	runErr <- context.DeadlineExceeded
	expect("run error", next(false), result{err: context.DeadlineExceeded})
	cancel()
	expect("cancelled", next(false), result{})
}

// chanLen adapts a channel's len to the drained helper.
type chanLen func() int

func (f chanLen) Len() int { return f() }
