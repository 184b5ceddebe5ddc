// Package liveclient reads a streamer's WebSocket stream for the commands:
// it subscribes, resumes from the last seq after a lost connection with
// jittered exponential backoff, reports its connection state, and runs a
// fallback (direct Engine polling) while the streamer cannot be reached.
package liveclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/stream"
)

// Mode is the client's connection state.
type Mode string

// Modes, as the connection indicator shows them.
const (
	ModeConnecting   Mode = "connecting"
	ModeLive         Mode = "live"
	ModeReconnecting Mode = "reconnecting"
	ModePolling      Mode = "polling"
)

// State is reported on every change of mode and on every retry.
type State struct {
	Mode    Mode
	Attempt int           // reconnect attempts since the last live connection
	NextTry time.Duration // wait before the next attempt
	Err     error         // why the last attempt failed
	// Stale is set in ModeLive when nothing (no message, no pong) has come
	// from the streamer for Options.StaleAfter: a frozen or overloaded
	// streamer. LastHeard is when something last came. A State without
	// Stale follows once the streamer is heard again.
	Stale     bool
	LastHeard time.Time
}

// Options configure Run. Zero values mean what each line says.
type Options struct {
	// Dial connects to the streamer (and may start one). Required.
	Dial func(ctx context.Context) (net.Conn, error)
	// Header is sent with the handshake (for example a token). Nil sends none.
	Header http.Header
	// Subscription is what to receive; Run manages its Since.
	Subscription stream.Subscription
	// OnState is called on every state change. Nil ignores them.
	OnState func(State)
	// MinBackoff and MaxBackoff bound the retry wait. Zero means 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// Fallback runs while the streamer is unreachable, from FallbackAfter
	// after the connection was lost (or first tried) until it is live again,
	// when its context is cancelled. Nil means no fallback.
	Fallback func(ctx context.Context)
	// FallbackAfter is how long to try the streamer before falling back.
	// Zero means 2 s.
	FallbackAfter time.Duration
	// HandshakeTimeout bounds one connection attempt. Zero means 2 s.
	HandshakeTimeout time.Duration
	// StaleAfter is how long the streamer may stay silent before the
	// state says Stale. The client pings it after a silence of a third
	// of that (never while frames flow), so a live streamer always
	// answers in time. Zero means 3x the subscription's
	// stats interval (3 s by default).
	StaleAfter time.Duration
	// GiveUpAfter is how long the streamer may stay silent before the
	// connection is dropped and retried (and the fallback starts). Zero
	// means 3x StaleAfter.
	GiveUpAfter time.Duration
}

// ErrFallBackNow may be wrapped by a Dial error to start the fallback at
// once instead of after FallbackAfter: the dialer knows that no streamer
// will come (for example, it was stopped on purpose).
var ErrFallBackNow = errors.New("no streamer will answer")

// ErrStop may be returned by a handler to end Run without error.
var ErrStop = errors.New("stop")

// Run delivers messages to handle until ctx ends or handle returns an
// error (ErrStop ends it cleanly). Sequenced messages arrive exactly once
// and in order across reconnects while the streamer's ring holds them;
// otherwise a snapshot with Resync set comes first.
func Run(ctx context.Context, opts Options, handle func(*stream.Message) error) error {
	return RunFrames(ctx, opts, func(m *stream.Message, _ []byte) error { return handle(m) })
}

// RunFrames is Run whose handler also gets the frame each message came in,
// as the streamer encoded it; it is valid only during the call.
func RunFrames(ctx context.Context, opts Options, handle func(m *stream.Message, frame []byte) error) error {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if opts.FallbackAfter <= 0 {
		opts.FallbackAfter = 2 * time.Second
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 2 * time.Second
	}
	if opts.OnState == nil {
		opts.OnState = func(State) {}
	}
	if opts.StaleAfter <= 0 {
		interval := stream.DefaultStatsRefresh
		if d, err := time.ParseDuration(opts.Subscription.StatsInterval); err == nil && d > 0 {
			interval = d
		}
		opts.StaleAfter = 3 * interval
	}
	if opts.GiveUpAfter <= 0 {
		opts.GiveUpAfter = 3 * opts.StaleAfter
	}
	// The session's staleness watch reports from its own goroutine.
	var stateMu sync.Mutex
	onState := opts.OnState
	opts.OnState = func(st State) {
		stateMu.Lock()
		defer stateMu.Unlock()
		onState(st)
	}
	r := &runner{opts: opts, handle: handle}
	return r.loop(ctx)
}

type runner struct {
	opts   Options
	handle func(*stream.Message, []byte) error
	pos    *stream.Position // the last sequenced message handled

	fallbackStop context.CancelFunc
	fallbackDone chan struct{}
}

func (r *runner) loop(ctx context.Context) error {
	defer r.stopFallback()
	attempt := 0
	lostAt := time.Now()
	r.opts.OnState(State{Mode: ModeConnecting})
	for {
		live, err := r.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrStop) {
			return nil
		}
		var he *handlerError
		if errors.As(err, &he) {
			return he.err
		}
		var fatal *FatalError
		if errors.As(err, &fatal) {
			return fatal
		}
		if live {
			attempt = 0
			lostAt = time.Now()
		}
		attempt++
		wait := stream.NewBackoff(r.opts.MinBackoff, r.opts.MaxBackoff).Delay(attempt - 1)
		if r.fallbackStop == nil && r.opts.Fallback != nil && (time.Since(lostAt) >= r.opts.FallbackAfter || errors.Is(err, ErrFallBackNow)) {
			r.startFallback(ctx)
		}
		mode := ModeReconnecting
		if r.fallbackStop != nil {
			mode = ModePolling
		}
		r.opts.OnState(State{Mode: mode, Attempt: attempt, NextTry: wait, Err: err})
		// Do not wait past the moment the fallback is due.
		if r.fallbackStop == nil && r.opts.Fallback != nil {
			if due := r.opts.FallbackAfter - time.Since(lostAt); due > 0 && due < wait {
				wait = due
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func (r *runner) startFallback(ctx context.Context) {
	fctx, cancel := context.WithCancel(ctx)
	r.fallbackStop = cancel
	r.fallbackDone = make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		r.opts.Fallback(fctx)
	}(r.fallbackDone)
}

func (r *runner) stopFallback() {
	if r.fallbackStop == nil {
		return
	}
	r.fallbackStop()
	<-r.fallbackDone
	r.fallbackStop = nil
}

type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

// Unwrap lets Run see an ErrStop from the handler.
func (e *handlerError) Unwrap() error { return e.err }

// FatalError is a refusal that retrying cannot fix (a bad subscription, an
// unsupported protocol version): Run returns it.
type FatalError struct {
	Code int
	Msg  string
}

func (e *FatalError) Error() string { return e.Msg }

// session runs one connection. live reports whether it got as far as a
// hello, which resets the backoff.
func (r *runner) session(ctx context.Context) (live bool, err error) {
	hctx, cancel := context.WithTimeout(ctx, r.opts.HandshakeTimeout)
	defer cancel()
	dialer := websocket.Dialer{
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return r.opts.Dial(ctx)
		},
		HandshakeTimeout: r.opts.HandshakeTimeout,
		ReadBufferSize:   16 << 10,
		WriteBufferSize:  1024,
	}
	ws, resp, err := dialer.DialContext(hctx, "ws://docker-live"+stream.StreamPath, r.opts.Header)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return false, &FatalError{Code: resp.StatusCode, Msg: fmt.Sprintf("streamer refused the connection: %s", resp.Status)}
		}
		return false, err
	}
	defer ws.Close()
	// Unblock the read below when ctx ends.
	stopWatch := context.AfterFunc(ctx, func() { ws.Close() })
	defer stopWatch()

	sub := r.opts.Subscription
	sub.Protocol = stream.ProtocolVersion
	sub.Since = r.pos
	if err := ws.WriteJSON(stream.Request{Type: stream.TypeSubscribe, Subscribe: &sub}); err != nil {
		return false, err
	}
	// Anything from the streamer (a message, a ping, the pong to our
	// pings) proves it alive. Silence turns the state Stale after
	// StaleAfter, and drops the connection after GiveUpAfter: the watch
	// then moves the read deadline to now, and the retry (or the
	// fallback) follows. A frame only stamps the time it came: no timer
	// or deadline is touched per frame, so a flowing stream costs no
	// timer work, and the watch pings only after a silence.
	heard := newHearing(time.Now)
	watchDone, watchExited := make(chan struct{}), make(chan struct{})
	defer func() { close(watchDone); <-watchExited }()
	go func() {
		defer close(watchExited)
		r.watchSilence(ws, heard, watchDone)
	}()
	alive := func() {
		if heard.heard() {
			r.opts.OnState(State{Mode: ModeLive})
		}
	}
	ws.SetPingHandler(func(data string) error {
		alive()
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	ws.SetPongHandler(func(string) error {
		alive()
		return nil
	})
	refusal := ""
	// Frames are read into one buffer, reused while it stays small: a
	// buffer per message was most of what `live events` allocated at
	// high event rates, and so most of its GC work.
	var frame bytes.Buffer
	for {
		if frame.Cap() > maxKeptFrameBuffer {
			frame = bytes.Buffer{}
		}
		frame.Reset()
		_, rd, err := ws.NextReader()
		if err == nil {
			_, err = frame.ReadFrom(rd) // to the message's end, as ReadMessage
		}
		data := frame.Bytes()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && (ce.Code == stream.CloseBadRequest || ce.Code == stream.CloseBadVersion) {
				if refusal == "" {
					refusal = ce.Text
				}
				return live, &FatalError{Code: ce.Code, Msg: "streamer refused the subscription: " + refusal}
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return live, fmt.Errorf("the streamer has been silent for %s", r.opts.GiveUpAfter)
			}
			return live, err
		}
		alive()
		msg := new(stream.Message)
		if err := json.Unmarshal(data, msg); err != nil {
			return live, fmt.Errorf("bad message from streamer: %v", err)
		}
		switch msg.Type {
		case stream.TypeHello:
			if msg.Hello == nil {
				return live, errors.New("bad message from streamer: hello without its body")
			}
			live = true
			heard.setLive()
			r.stopFallback()
			r.opts.OnState(State{Mode: ModeLive})
			if !msg.Hello.Resumed {
				r.pos = &stream.Position{Epoch: msg.Epoch, Seq: msg.Seq}
			}
		case stream.TypeSnapshot:
			r.pos = &stream.Position{Epoch: msg.Epoch, Seq: msg.Seq}
		case stream.TypeContainer, stream.TypeRemove, stream.TypeEvent, stream.TypeEngine:
			if r.pos != nil && r.pos.Epoch == msg.Epoch && msg.Seq <= r.pos.Seq {
				continue // already handled before a reconnect
			}
			r.pos = &stream.Position{Epoch: msg.Epoch, Seq: msg.Seq}
		case stream.TypeError:
			// The close frame that follows decides whether to retry.
			if msg.Error != nil {
				refusal = msg.Error.Message
			}
			continue
		}
		if err := r.handle(msg, data); err != nil {
			return live, &handlerError{err: err}
		}
	}
}

// hearing tracks when the streamer was last heard and whether the state
// was reported stale. Its clock is injectable for tests.
type hearing struct {
	now func() time.Time

	mu         sync.Mutex
	last       time.Time
	live       bool // a hello arrived: staleness is reported only then
	staleShown bool
}

func newHearing(now func() time.Time) *hearing {
	return &hearing{now: now, last: now()}
}

func (h *hearing) setLive() {
	h.mu.Lock()
	h.live = true
	h.mu.Unlock()
}

// heard records a frame from the streamer. It returns true when the state
// had been reported stale, so that the caller reports it live again.
func (h *hearing) heard() (wasStale bool) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = now
	wasStale = h.staleShown
	h.staleShown = false
	return wasStale
}

// silence is how long the streamer has been silent.
func (h *hearing) silence() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now().Sub(h.last)
}

// check returns the Stale state to report when the streamer has been
// silent for staleAfter and that was not reported yet.
func (h *hearing) check(staleAfter time.Duration) (State, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.live || h.staleShown || h.now().Sub(h.last) < staleAfter {
		return State{}, false
	}
	h.staleShown = true
	return State{Mode: ModeLive, Stale: true, LastHeard: h.last}, true
}

// silencePlan is what the watch does after the streamer has been silent
// for silent: ping it (it has said nothing for pingAfter), give the
// connection up (GiveUpAfter), and when to look again. A streamer that
// keeps talking is never pinged: the watch only wakes once per pingAfter
// to find that it was heard meanwhile.
type silencePlan struct {
	ping, giveUp bool
	next         time.Duration
}

func planSilence(silent, pingAfter, staleAfter, giveUpAfter time.Duration) silencePlan {
	if silent >= giveUpAfter {
		return silencePlan{giveUp: true}
	}
	var p silencePlan
	if silent >= pingAfter {
		// Silent a whole ping period: ask, and ask again a period later
		// if the answer does not come.
		p.ping = true
		p.next = pingAfter
	} else {
		p.next = pingAfter - silent
	}
	// Never sleep past the moments the state turns stale or the
	// connection is given up.
	if d := staleAfter - silent; d > 0 && d < p.next {
		p.next = d
	}
	if d := giveUpAfter - silent; d < p.next {
		p.next = d
	}
	return p
}

// watchSilence pings the streamer once it has been silent for a third of
// StaleAfter, so that a live one (even with nothing to send) is heard in
// time; it reports the state Stale once it has been silent for
// StaleAfter, and ends the connection after GiveUpAfter.
func (r *runner) watchSilence(ws *websocket.Conn, heard *hearing, done <-chan struct{}) {
	pingAfter := max(r.opts.StaleAfter/3, 10*time.Millisecond)
	t := time.NewTimer(pingAfter)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		if st, ok := heard.check(r.opts.StaleAfter); ok {
			select {
			case <-done:
				return // the session ended meanwhile: its state is reported by the loop
			default:
			}
			r.opts.OnState(st)
		}
		plan := planSilence(heard.silence(), pingAfter, r.opts.StaleAfter, r.opts.GiveUpAfter)
		if plan.giveUp {
			// The read in session ends with a timeout, which it reports
			// as this silence.
			_ = ws.SetReadDeadline(time.Now().Add(-time.Second))
			return
		}
		if plan.ping {
			_ = ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(pingAfter))
		}
		t.Reset(plan.next)
	}
}

// maxKeptFrameBuffer is the largest read buffer kept for the next frame; a
// snapshot of thousands of containers is megabytes, and must not stay.
const maxKeptFrameBuffer = 256 << 10

// eventKey is how the event begins in an event message. No JSON string can
// hold it (a quote inside one is escaped), and the fields before the event
// (type, epoch, seq, time) are plain values.
var eventKey = []byte(`,"event":`)

// EventJSON returns the event's JSON within frame, an event message as the
// hub encodes it (the event is its last field), or nil when frame does not
// have that shape.
func EventJSON(frame []byte) []byte {
	i := bytes.Index(frame, eventKey)
	if i < 0 || len(frame) < i+len(eventKey)+3 || frame[len(frame)-1] != '}' {
		return nil
	}
	ev := frame[i+len(eventKey) : len(frame)-1]
	if ev[0] != '{' || ev[len(ev)-1] != '}' {
		return nil
	}
	return ev
}
