package stream

import (
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	b := NewBackoff(0, 0)
	if b.Min != DefaultMinBackoff || b.Max != DefaultMaxBackoff {
		t.Fatalf("defaults = %v..%v", b.Min, b.Max)
	}
	for attempt := range 64 {
		d := min(DefaultMinBackoff<<min(attempt, 10), DefaultMaxBackoff)
		seen := map[time.Duration]bool{}
		for range 200 {
			got := b.Delay(attempt)
			if got < d/2 || got > d {
				t.Fatalf("Delay(%d) = %s, want within [%s, %s]", attempt, got, d/2, d)
			}
			seen[got] = true
		}
		if len(seen) < 10 {
			t.Errorf("Delay(%d) took only %d values in 200 draws: not jittered", attempt, len(seen))
		}
	}
	if got := b.Delay(1_000_000); got > DefaultMaxBackoff {
		t.Errorf("Delay of a huge attempt = %s, over the maximum", got)
	}
	// Growth: the lower bound of each attempt passes the upper bound of
	// attempt-2 until the maximum caps it.
	if b.Delay(3) < b.Delay(1) {
		t.Error("Delay does not grow")
	}
	capped := NewBackoff(time.Second, 500*time.Millisecond)
	if got := capped.Delay(2); got > 500*time.Millisecond || got < 250*time.Millisecond {
		t.Errorf("Delay with min over max = %s, want within the maximum", got)
	}
}
