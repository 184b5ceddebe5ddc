package plugin

import (
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
