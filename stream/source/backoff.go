package source

import (
	"context"
	"math/rand/v2"
	"time"
)

const (
	defaultMinBackoff = 100 * time.Millisecond
	defaultMaxBackoff = 5 * time.Second
)

// backoff spaces out reconnects: exponential from min to max, each delay
// drawn from its upper half so that many clients of one restarted Engine do
// not come back in step.
type backoff struct {
	min, max time.Duration
}

func newBackoff(min, max time.Duration) backoff {
	if min <= 0 {
		min = defaultMinBackoff
	}
	if max <= 0 {
		max = defaultMaxBackoff
	}
	if max < min {
		max = min
	}
	return backoff{min: min, max: max}
}

// delay is the wait before retry number attempt (0 for the first retry).
func (b backoff) delay(attempt int) time.Duration {
	d := b.max
	if attempt < 32 {
		if x := b.min << attempt; x > 0 && x < b.max {
			d = x
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits d or until ctx is done, and says whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
