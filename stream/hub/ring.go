package hub

import "github.com/docker-live/docker-live/stream"

// entry is one sequenced message as every subscriber receives it.
type entry struct {
	seq       uint64
	topic     string            // "" for messages every subscriber gets
	container *stream.Container // for container filters; nil when none applies
	data      []byte            // the encoded frame, shared, never modified
}

// ring keeps the newest sequenced messages so that a subscriber that
// reconnects can be sent exactly what it missed.
type ring struct {
	buf   []entry
	start int // index of the oldest entry
	n     int
}

func newRing(size int) ring { return ring{buf: make([]entry, size)} }

func (r *ring) push(e entry) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = e
		r.n++
		return
	}
	r.buf[r.start] = e
	r.start = (r.start + 1) % len(r.buf)
}

// after returns the entries with seq > since, oldest first, and whether the
// ring still holds all of them. current is the hub's newest seq.
func (r *ring) after(since, current uint64) ([]entry, bool) {
	if since > current {
		return nil, false
	}
	if since == current {
		return nil, true
	}
	if r.n == 0 || r.buf[r.start].seq > since+1 {
		return nil, false
	}
	out := make([]entry, 0, current-since)
	for i := 0; i < r.n; i++ {
		e := r.buf[(r.start+i)%len(r.buf)]
		if e.seq > since {
			out = append(out, e)
		}
	}
	return out, true
}
