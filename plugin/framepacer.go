package plugin

import (
	"context"
	"time"
)

// statsPacer keeps a table's stats redraws to at most one per interval,
// while state changes are drawn at once. A burst of stats batches inside the
// interval is not dropped: the pacer holds it and its due channel fires when
// the interval is over, so the last batch is always drawn, at most one
// interval late. watchLoop and watchContextsLoop share it so that both views
// pace alike.
type statsPacer struct {
	interval time.Duration
	// now and after are the clock; nil means time.Now and time.After.
	now   func() time.Time
	after func(time.Duration) <-chan time.Time

	last    time.Time // when the last stats frame was drawn
	pending <-chan time.Time
}

func newStatsPacer(interval time.Duration) *statsPacer {
	return &statsPacer{interval: interval, now: time.Now, after: time.After}
}

// arrived is called when stats arrive. It says whether they may be drawn
// now; if not, it arms the due channel (once) for the end of the interval.
func (p *statsPacer) arrived() bool {
	since := p.now().Sub(p.last)
	if since >= p.interval {
		return true
	}
	if p.pending == nil {
		p.pending = p.after(p.interval - since)
	}
	return false
}

// due fires when held stats may be drawn; it is nil (never ready in a
// select) while nothing is held.
func (p *statsPacer) due() <-chan time.Time { return p.pending }

// drawn records that a stats frame was drawn now.
func (p *statsPacer) drawn() {
	p.pending = nil
	p.last = p.now()
}

// nextFrame blocks until there is something to draw: a state change at
// once, stats as the pacer allows, or the redraw tick when redrawOnTick (a
// terminal table, whose ages and connection line move with time). It
// returns false when ctx is done or runErr delivers (with that error); a
// nil runErr or tick is never ready.
func (p *statsPacer) nextFrame(ctx context.Context, runErr <-chan error, stateCh, statsCh <-chan struct{}, tick <-chan time.Time, redrawOnTick bool) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case err := <-runErr:
			return false, err
		case <-stateCh:
			return true, nil
		case <-statsCh:
			if p.arrived() {
				p.drawn()
				return true, nil
			}
		case <-p.due():
			p.drawn()
			return true, nil
		case <-tick:
			if redrawOnTick {
				return true, nil
			}
		}
	}
}
