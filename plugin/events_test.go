package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
	"github.com/docker-live/docker-live/stream/server"
)

// fakeClock is a clock that moves only when the test moves it, so that
// events can be stamped exactly on a boundary.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// fakeEngineEvents is a fake of the Engine's /events API, for unit tests
// only. It follows the Engine's (20.10 to today) rules where they matter
// for the hand-overs:
//   - it keeps the last 256 events in the order it stored them, which is not
//     always stamp order (an event is stamped before it is stored);
//   - since and until are both inclusive; the since scan runs from the newest
//     event back and stops at the first one older than since;
//   - an until not after now answers with the past only, then EOF;
//   - otherwise the past comes first, then every event stored later, until
//     the caller cancels. A cancelled reader loses what was not yet read,
//     as the Docker client's does. Deliveries to live readers can be held
//     (in flight) and released later.
type fakeEngineEvents struct {
	clock *fakeClock

	mu      sync.Mutex
	buf     []events.Message
	readers map[*fakeEventsReader]bool
	holding bool
	queries []client.EventsListOptions
}

type fakeEventsReader struct {
	ch   chan events.Message
	held []events.Message
}

func newFakeEngineEvents(clock *fakeClock) *fakeEngineEvents {
	return &fakeEngineEvents{clock: clock, readers: map[*fakeEventsReader]bool{}}
}

// stamp makes an event of container id stamped now, without storing it.
func (e *fakeEngineEvents) stamp(action, id string) events.Message {
	now := e.clock.Now()
	return events.Message{Type: events.ContainerEventType, Action: events.Action(action),
		Actor: events.Actor{ID: id, Attributes: map[string]string{"name": id}},
		Scope: "local", Time: now.Unix(), TimeNano: now.UnixNano()}
}

// store keeps ev and hands it to every live reader (or holds it for them).
func (e *fakeEngineEvents) store(ev events.Message) events.Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.buf) == engineEventsKept {
		e.buf = append(e.buf[:0], e.buf[1:]...)
	}
	e.buf = append(e.buf, ev)
	for r := range e.readers {
		if e.holding {
			r.held = append(r.held, ev)
		} else {
			r.ch <- ev
		}
	}
	return ev
}

// log stamps and stores an event at once.
func (e *fakeEngineEvents) log(action, id string) events.Message {
	return e.store(e.stamp(action, id))
}

// hold keeps further events from live readers until release.
func (e *fakeEngineEvents) hold() {
	e.mu.Lock()
	e.holding = true
	e.mu.Unlock()
}

func (e *fakeEngineEvents) release() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.holding = false
	for r := range e.readers {
		for _, ev := range r.held {
			r.ch <- ev
		}
		r.held = nil
	}
}

// liveReaders is how many readers follow the Engine now (the fallback).
func (e *fakeEngineEvents) liveReaders() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.readers)
}

func parseFakeTime(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	sec, nsec, err := parseUnixSeconds(s)
	if err != nil {
		panic(fmt.Sprintf("fake Engine: bad timestamp %q", s))
	}
	return time.Unix(sec, nsec).UnixNano(), true
}

func (e *fakeEngineEvents) Events(ctx context.Context, opts client.EventsListOptions) client.EventsResult {
	msgs := make(chan events.Message)
	errs := make(chan error, 1)
	since, hasSince := parseFakeTime(opts.Since)
	until, hasUntil := parseFakeTime(opts.Until)

	e.mu.Lock()
	e.queries = append(e.queries, opts)
	var past []events.Message
	if hasSince || hasUntil {
		for i := len(e.buf) - 1; i >= 0; i-- {
			ev := e.buf[i]
			if ev.TimeNano < since {
				break // the Engine's scan stops here
			}
			if hasUntil && ev.TimeNano > until {
				continue
			}
			past = append([]events.Message{ev}, past...)
		}
	}
	onlyPast := hasUntil && until <= e.clock.Now().UnixNano()
	var r *fakeEventsReader
	if !onlyPast {
		r = &fakeEventsReader{ch: make(chan events.Message, 100000)}
		e.readers[r] = true
	}
	e.mu.Unlock()

	go func() {
		defer close(errs)
		defer func() {
			if r != nil {
				e.mu.Lock()
				delete(e.readers, r)
				e.mu.Unlock()
			}
		}()
		send := func(ev events.Message) bool {
			select {
			case msgs <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for _, ev := range past {
			if !send(ev) {
				errs <- ctx.Err()
				return
			}
		}
		if r == nil {
			errs <- io.EOF
			return
		}
		for {
			select {
			case ev := <-r.ch:
				if hasUntil && ev.TimeNano > until {
					continue
				}
				if !send(ev) {
					errs <- ctx.Err()
					return
				}
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
		}
	}()
	return client.EventsResult{Messages: msgs, Err: errs}
}

// lockedBuffer is an io.Writer the command and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// eventsRig runs followEvents against a fake Engine and real streamers (a
// hub behind the real WebSocket server on a Unix socket) that the test
// starts, feeds and kills.
type eventsRig struct {
	t      *testing.T
	clock  *fakeClock
	engine *fakeEngineEvents
	out    lockedBuffer
	errOut lockedBuffer
	socket string
	done   chan error
	stop   context.CancelFunc
	// format, when set, replaces --format json.
	format *output.EventsFormat

	mu  sync.Mutex
	hub *hub.Hub
	srv *server.Server
}

func newEventsRig(t *testing.T) *eventsRig {
	t.Helper()
	dir, err := os.MkdirTemp("", "dlev") // short: a socket path must fit 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	clock := &fakeClock{t: time.Date(2026, 12, 2, 14, 27, 35, 0, time.UTC)}
	r := &eventsRig{t: t, clock: clock, engine: newFakeEngineEvents(clock), socket: filepath.Join(dir, "s")}
	t.Cleanup(r.killStreamer)
	return r
}

// startStreamer starts a new streamer (a new epoch) on the socket.
func (r *eventsRig) startStreamer() *hub.Hub {
	r.t.Helper()
	h := hub.New(hub.Config{Now: r.clock.Now}) // one clock, as on one host
	h.EngineStatus(stream.EngineStatus{State: stream.EngineConnected})
	l, err := server.ListenUnix(r.socket, nil)
	if err != nil {
		r.t.Fatalf("ListenUnix: %v", err)
	}
	srv := server.New(server.Config{Hub: h})
	go func() { _ = srv.ServeUnix(l) }()
	r.mu.Lock()
	r.hub, r.srv = h, srv
	r.mu.Unlock()
	return h
}

// killStreamer closes the streamer's socket and connections.
func (r *eventsRig) killStreamer() {
	r.mu.Lock()
	srv := r.srv
	r.hub, r.srv = nil, nil
	r.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		_ = os.Remove(r.socket)
	}
}

// dial reaches the current streamer, or fails at once while there is none.
func (r *eventsRig) dial(ctx context.Context) (net.Conn, error) {
	r.mu.Lock()
	up := r.srv != nil
	r.mu.Unlock()
	if !up {
		return nil, syscall.ECONNREFUSED
	}
	var d net.Dialer
	return d.DialContext(ctx, "unix", r.socket)
}

// run starts the command now, with --since since (zero: none).
func (r *eventsRig) run(since time.Time) { r.runStarted(since, r.clock.Now()) }

// runStarted starts the command as one that started at start and is only
// now getting to its streamer.
func (r *eventsRig) runStarted(since, start time.Time) {
	r.t.Helper()
	format, err := output.ParseEventsFormat("json")
	if err != nil {
		r.t.Fatal(err)
	}
	if r.format != nil {
		format = *r.format
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	r.done = make(chan error, 1)
	cfg := eventsFollow{
		Engine: r.engine, Dial: r.dial, Out: &r.out, Err: &r.errOut, Format: format,
		Since: since, Start: start, Now: r.clock.Now,
		// Fast hand-overs keep the test short; the order of steps, not
		// timing, decides what each step tests.
		FallbackAfter: 30 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}
	go func() { r.done <- followEvents(ctx, cfg) }()
	r.t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				r.t.Errorf("followEvents: %v", err)
			}
		case <-time.After(10 * time.Second):
			r.t.Error("followEvents did not return after its context ended")
		}
	})
}

func (r *eventsRig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("not within 10s: %s\nstdout:\n%s\nstderr:\n%s", what, r.out.String(), r.errOut.String())
		}
		time.Sleep(time.Millisecond) // polling a condition the code under test makes true
	}
}

// subscribed waits until h has the command as a subscriber.
func (r *eventsRig) subscribed(h *hub.Hub) {
	r.t.Helper()
	r.waitFor("the command subscribed to the streamer", func() bool { return h.Info().Clients > 0 })
}

// fallingBack waits until the command reads the Engine directly.
func (r *eventsRig) fallingBack() {
	r.t.Helper()
	r.waitFor("the command reads the Engine directly", func() bool { return r.engine.liveReaders() > 0 })
}

func evKey(ev events.Message) string {
	return fmt.Sprintf("%s %s %d", ev.Action, ev.Actor.ID, ev.TimeNano)
}

// printed counts the events printed, by key.
func (r *eventsRig) printed() map[string]int {
	n := map[string]int{}
	for _, line := range strings.Split(r.out.String(), "\n") {
		var ev events.Message
		if json.Unmarshal([]byte(line), &ev) == nil && ev.TimeNano != 0 {
			n[evKey(ev)]++
		}
	}
	return n
}

func (r *eventsRig) waitPrinted(evs ...events.Message) {
	r.t.Helper()
	for _, ev := range evs {
		r.waitFor("printed: "+evKey(ev), func() bool { return r.printed()[evKey(ev)] > 0 })
	}
}

// exactlyOnce checks that each of want was printed once and nothing else.
func (r *eventsRig) exactlyOnce(want ...events.Message) {
	r.t.Helper()
	got := r.printed()
	for _, ev := range want {
		if got[evKey(ev)] != 1 {
			r.t.Errorf("%s printed %d times, want once", evKey(ev), got[evKey(ev)])
		}
		delete(got, evKey(ev))
	}
	for k, n := range got {
		r.t.Errorf("%s printed %d times, want never", k, n)
	}
	if r.t.Failed() {
		r.t.Logf("stdout:\n%s\nstderr:\n%s", r.out.String(), r.errOut.String())
	}
}

// A stream starts at the streamer's position when it subscribes: what
// happened after the command started and before that (while it found or
// started a streamer) is printed from the Engine's buffer. The first
// event is stamped exactly at the start.
func TestEventsFirstConnectPrintsFromTheCommandStart(t *testing.T) {
	r := newEventsRig(t)
	h := r.startStreamer()
	start := r.clock.Now()
	atStart := r.engine.log("pause", "c1") // stamped exactly at the start
	h.Event(atStart)                       // the streamer has it, before the command subscribes
	beforeHello := r.engine.log("unpause", "c1")
	h.Event(beforeHello)
	r.clock.add(time.Millisecond)
	r.runStarted(time.Time{}, start)
	r.subscribed(h)
	live := r.engine.log("pause", "c2")
	h.Event(live)
	r.waitPrinted(atStart, beforeHello, live)
	r.exactlyOnce(atStart, beforeHello, live)
}

// A command that starts while no streamer answers reads the Engine
// directly; when a streamer starts, an event the fallback had not read yet
// (in flight when it stopped) and that the new streamer never saw is
// printed from the Engine's buffer, even though no stream ran before.
func TestEventsFallbackFirstThenStreamer(t *testing.T) {
	r := newEventsRig(t)
	r.run(time.Time{})
	r.fallingBack()
	r.clock.add(time.Millisecond)
	direct := r.engine.log("pause", "c1")
	r.waitPrinted(direct)

	r.clock.add(time.Millisecond)
	r.engine.hold()
	inFlight := r.engine.log("unpause", "c1") // stored, not yet read by the fallback
	h := r.startStreamer()                    // its source subscribed after inFlight
	r.subscribed(h)
	r.waitFor("the fallback stopped", func() bool { return r.engine.liveReaders() == 0 })
	r.engine.release()
	r.clock.add(time.Millisecond)
	live := r.engine.log("pause", "c2")
	h.Event(live)
	r.waitPrinted(live)
	r.exactlyOnce(direct, inFlight, live)
}

// The Engine can store (and deliver) an event after one stamped later. The
// stream is cut between the two: the fallback must still print the earlier
// one, which the Engine's since= scan would skip from the newest printed.
func TestEventsKillBetweenReorderedEvents(t *testing.T) {
	r := newEventsRig(t)
	h := r.startStreamer()
	r.run(time.Time{})
	r.subscribed(h)

	r.clock.add(time.Millisecond)
	early := r.engine.stamp("pause", "c1") // stamped first ...
	r.clock.add(time.Millisecond)
	later := r.engine.log("die", "other") // ... but another container's event is stored first
	h.Event(later)
	r.waitPrinted(later)
	r.engine.store(early) // stored late; the streamer dies before passing it on
	r.killStreamer()
	r.fallingBack()
	r.waitPrinted(early)
	r.clock.add(time.Millisecond)
	direct := r.engine.log("unpause", "c1")
	r.waitPrinted(direct)
	r.exactlyOnce(later, early, direct)
}

// The same reordering at the other hand-over: the fallback printed the
// later event, the earlier one was still in flight when a new streamer's
// hello stopped the fallback, and the new streamer never saw it.
func TestEventsFallbackToLiveBetweenReorderedEvents(t *testing.T) {
	r := newEventsRig(t)
	h := r.startStreamer()
	r.run(time.Time{})
	r.subscribed(h)
	r.clock.add(time.Millisecond)
	first := r.engine.log("start", "c1")
	h.Event(first)
	r.waitPrinted(first)
	r.killStreamer()
	r.fallingBack()

	r.clock.add(time.Millisecond)
	early := r.engine.stamp("pause", "c1")
	r.clock.add(time.Millisecond)
	later := r.engine.log("die", "other")
	r.waitPrinted(later) // through the fallback
	r.engine.hold()
	r.engine.store(early) // stored late, and in flight when the fallback stops
	h2 := r.startStreamer()
	r.subscribed(h2)
	r.waitFor("the fallback stopped", func() bool { return r.engine.liveReaders() == 0 })
	r.engine.release()
	r.clock.add(time.Millisecond)
	live := r.engine.log("unpause", "c1")
	h2.Event(live)
	r.waitPrinted(live)
	r.exactlyOnce(first, later, early, live)
	if !strings.Contains(r.errOut.String(), "resync") {
		t.Errorf("no resync notice on stderr:\n%s", r.errOut.String())
	}
}

// A new streamer's hello: events stored up to that moment are caught up
// from the Engine (one stamped exactly at the catch-up's until included),
// the streamer's own events after it come from the stream, and an event
// both deliver is printed once.
func TestEventsNewStreamerCatchUpBoundaries(t *testing.T) {
	r := newEventsRig(t)
	h := r.startStreamer()
	r.run(time.Time{})
	r.subscribed(h)
	r.clock.add(time.Millisecond)
	first := r.engine.log("start", "c1")
	h.Event(first)
	r.waitPrinted(first)
	r.killStreamer()
	r.clock.add(time.Millisecond)
	gap := r.engine.log("pause", "c1") // while no streamer runs, before the fallback
	h2 := r.startStreamer()
	r.clock.add(time.Millisecond)
	seenByBoth := r.engine.log("unpause", "c1") // stamped at the catch-up's until
	h2.Event(seenByBoth)                        // broadcast before the command subscribes: not sent
	r.subscribed(h2)
	after := r.engine.log("kill", "c1") // the same instant, after the hello: sent
	h2.Event(after)
	r.waitPrinted(gap, seenByBoth, after)
	r.exactlyOnce(first, gap, seenByBoth, after)
}

// --since 0 starts at the beginning of the Engine's buffer.
func TestEventsSinceZeroReplaysTheBuffer(t *testing.T) {
	r := newEventsRig(t)
	old := r.engine.log("create", "c1")
	r.clock.add(time.Hour)
	h := r.startStreamer()
	since, err := parseEventTime("0", r.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.run(since)
	r.subscribed(h)
	r.waitPrinted(old)
	r.exactlyOnce(old)
}

// When more events happened while no stream ran than the Engine keeps, the
// command says that some may be missing instead of pretending.
func TestEventsSaysWhenTheEngineBufferOverflowed(t *testing.T) {
	r := newEventsRig(t)
	h := r.startStreamer()
	r.run(time.Time{})
	r.subscribed(h)
	r.clock.add(time.Millisecond)
	first := r.engine.log("start", "c1")
	h.Event(first)
	r.waitPrinted(first)
	r.engine.hold() // the fallback, if it starts, must not see these live
	r.killStreamer()
	for i := 0; i < engineEventsKept+10; i++ {
		r.clock.add(time.Millisecond)
		r.engine.log("exec_start", fmt.Sprintf("c%d", i))
	}
	h2 := r.startStreamer()
	r.subscribed(h2)
	r.waitFor("a missing-events notice", func() bool { return strings.Contains(r.errOut.String(), "events may be missing") })
}

func TestEventsUntilInThePastIsOneQuery(t *testing.T) {
	r := newEventsRig(t)
	a := r.engine.log("create", "c1")
	r.clock.add(time.Second)
	b := r.engine.log("start", "c1") // exactly at --until: included
	r.clock.add(time.Second)
	r.engine.log("die", "c1") // after it
	format, _ := output.ParseEventsFormat("json")
	err := followEvents(context.Background(), eventsFollow{
		Engine: r.engine, Dial: func(context.Context) (net.Conn, error) { return nil, errors.New("no streamer needed") },
		Out: &r.out, Err: &r.errOut, Format: format,
		Since: time.Unix(0, a.TimeNano), Until: time.Unix(0, b.TimeNano), Now: r.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.exactlyOnce(a, b)
}

// Events from the streamer print byte for byte as the event encoded by
// --format json, whether the line is copied from the streamer's JSON or
// (where a \u escape forbids that) encoded again, with and without the
// legacy fields of Engines before API 1.52.
func TestEventsJSONFromTheStreamerIsTheEncodedEvent(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			r := newEventsRig(t)
			format, _ := output.ParseEventsFormat("json")
			format = format.WithLegacyFields(legacy)
			r.format = &format
			h := r.startStreamer()
			r.run(time.Time{})
			r.subscribed(h)
			var want []byte
			var sent []events.Message
			for i, attrs := range []map[string]string{
				{"image": "busybox", "name": "web"},
				{"image": "a<b>&c", "name": "tags <&>"},
				{"image": "bad\xffutf8", "x": "\u2028"},
				nil,
			} {
				r.clock.add(time.Millisecond)
				ev := events.Message{Type: events.ContainerEventType, Action: events.ActionPause, Scope: "local",
					Actor: events.Actor{ID: fmt.Sprintf("c%d", i), Attributes: attrs},
					Time:  r.clock.Now().Unix(), TimeNano: r.clock.Now().UnixNano()}
				h.Event(ev)
				sent = append(sent, ev)
				// What the command decodes from the stream is what it prints.
				var back events.Message
				enc, _ := json.Marshal(ev)
				_ = json.Unmarshal(enc, &back)
				line, err := format.Append(nil, back)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, line...)
			}
			r.waitPrinted(sent...)
			if got := r.out.String(); got != string(want) {
				t.Errorf("printed:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
