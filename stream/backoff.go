package stream

import (
	"math/rand/v2"
	"time"
)

// Default bounds of a Backoff.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// Backoff spaces out reconnects, the streamer's to the Engine and the
// clients' to the streamer: exponential from Min to Max, each delay drawn
// from its upper half so that many clients of one restarted server do not
// come back in step.
type Backoff struct {
	Min, Max time.Duration
}

// NewBackoff bounds a Backoff: zero means the defaults (100 ms and 5 s),
// and a maximum under the minimum caps it.
func NewBackoff(minWait, maxWait time.Duration) Backoff {
	if minWait <= 0 {
		minWait = DefaultMinBackoff
	}
	if maxWait <= 0 {
		maxWait = DefaultMaxBackoff
	}
	return Backoff{Min: min(minWait, maxWait), Max: maxWait}
}

// Delay is the wait before retry number attempt (0 for the first retry).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Max
	if attempt >= 0 && attempt < 32 {
		if x := b.Min << attempt; x > 0 && x < b.Max {
			d = x
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
