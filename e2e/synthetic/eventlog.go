package synthetic

import (
	"sync"
	"time"
)

// pastEvents is how many past events the Engine keeps for since= queries.
const pastEvents = 256

// pacer says how many events are due at a moment so that, from start on,
// exactly rate events a second are made: the total at any moment is
// floor(elapsed x rate), so rounding never accumulates. After a stall (a
// late tick, a busy host) it catches up in steps of at most a tenth of a
// second's events, as a real Engine's burst would come.
type pacer struct {
	rate  float64
	start time.Time
	made  int64
}

func (p *pacer) due(now time.Time) int64 {
	if !now.After(p.start) {
		return 0
	}
	want := int64(now.Sub(p.start).Seconds()*p.rate) - p.made
	if want <= 0 {
		return 0
	}
	return min(want, int64(p.rate/10)+1)
}

// eventBatch is the events made at one tick: one or more lines, all
// stamped nano, numbered from first.
type eventBatch struct {
	nano  int64
	first int64
	n     int64
	lines []byte
}

// eventSub is one /events client following the live events.
type eventSub struct {
	batches chan eventBatch
	dropped chan struct{}
}

// subQueue bounds a subscriber's backlog: a second of ticks.
const subQueue = 1000

// eventLog is the Engine's one event stream: the generator appends to it,
// every /events client reads the same events, and the last pastEvents are
// kept for since= queries.
type eventLog struct {
	mu      sync.Mutex
	subs    map[*eventSub]struct{}
	past    [pastEvents]pastEvent
	next    int64 // seq of the next event; past holds seqs [next-pastEvents, next)
	dropped int64
}

type pastEvent struct {
	nano int64
	line []byte
}

// publish keeps a batch's lines in the buffer and hands the batch to every
// subscriber; one whose queue is full is dropped.
func (l *eventLog) publish(b eventBatch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rest := b.lines
	for i := int64(0); i < b.n; i++ {
		end := 0
		for end < len(rest) && rest[end] != '\n' {
			end++
		}
		slot := &l.past[(b.first+i)%pastEvents]
		slot.nano = b.nano
		slot.line = append(slot.line[:0], rest[:end+1]...)
		rest = rest[end+1:]
	}
	l.next = b.first + b.n
	for s := range l.subs {
		select {
		case s.batches <- b:
		default:
			delete(l.subs, s)
			close(s.dropped)
			l.dropped++
		}
	}
}

// subscribe returns the buffered events from since to until (both
// inclusive; 0 means unbounded) and, unless until is not after now, a
// subscription to the events that follow, with nothing between the two.
func (l *eventLog) subscribe(since, until int64, now time.Time) ([]byte, *eventSub) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var past []byte
	if since != 0 || until != 0 {
		for seq := max(0, l.next-pastEvents); seq < l.next; seq++ {
			ev := &l.past[seq%pastEvents]
			if ev.nano >= since && (until == 0 || ev.nano <= until) {
				past = append(past, ev.line...)
			}
		}
	}
	if until != 0 && until <= now.UnixNano() {
		return past, nil
	}
	s := &eventSub{batches: make(chan eventBatch, subQueue), dropped: make(chan struct{})}
	if l.subs == nil {
		l.subs = map[*eventSub]struct{}{}
	}
	l.subs[s] = struct{}{}
	return past, s
}

func (l *eventLog) unsubscribe(s *eventSub) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.subs, s)
}

// subscribers is how many clients follow the live events.
func (l *eventLog) subscribers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs)
}

// drops is how many subscribers were dropped for falling behind.
func (l *eventLog) drops() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// generate makes the events due at each tick, paced from the Engine's
// start, until stop or ticks close: one batch per tick, stamped with the
// tick's time. ticks are injectable for tests.
func (e *FakeEngine) generate(ticks <-chan time.Time, stop <-chan struct{}) {
	p := pacer{rate: float64(e.cfg.EventRate), start: e.started}
	var buf []byte
	var now time.Time
	for {
		select {
		case <-stop:
			return
		case t, ok := <-ticks:
			if !ok {
				return
			}
			now = t
		}
		n := p.due(now)
		if n == 0 {
			continue
		}
		nano := now.UnixNano()
		// A fresh buffer per batch: subscribers hold on to it until written.
		buf = make([]byte, 0, len(buf))
		for j := int64(0); j < n; j++ {
			buf = e.appendEvent(buf, p.made+j, nano)
		}
		b := eventBatch{nano: nano, first: p.made, n: n, lines: buf}
		p.made += n
		e.log.publish(b)
		e.eventsMade.Add(n) // after publishing: a count read says they are in the log

	}
}
