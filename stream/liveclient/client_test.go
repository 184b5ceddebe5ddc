package liveclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
	"github.com/docker-live/docker-live/stream/server"
)

// leakCheck fails the test if goroutines started during it outlive it. It
// must be called first, so that its cleanup runs after every other one.
func leakCheck(t *testing.T) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Errorf("%d goroutines left, want at most %d:\n%s", runtime.NumGoroutine(), base, buf[:n])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// streamer is a real hub served by a real server on a Unix socket.
type streamer struct {
	srv    *server.Server
	served chan error
	once   sync.Once
}

func serve(t *testing.T, h *hub.Hub, path string) *streamer {
	t.Helper()
	l, err := server.ListenUnix(path, nil)
	if err != nil {
		t.Fatalf("ListenUnix: %v", err)
	}
	s := &streamer{srv: server.New(server.Config{Hub: h}), served: make(chan error, 1)}
	go func() { s.served <- s.srv.ServeUnix(l) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop closes the listener and every connection, as a streamer that exits.
func (s *streamer) stop(t *testing.T) {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.srv.Shutdown(ctx)
		select {
		case err := <-s.served:
			if err != nil {
				t.Errorf("ServeUnix: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("ServeUnix did not return after Shutdown")
		}
	})
}

func unixDial(path string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
}

// client runs Run in the background and records what it reports.
type client struct {
	msgs chan *stream.Message
	done chan error
	stop context.CancelFunc

	mu     sync.Mutex
	states []State
}

func startClient(t *testing.T, opts Options) *client {
	t.Helper()
	c := &client{msgs: make(chan *stream.Message, 10000), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	if opts.MinBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = 5*time.Millisecond, 50*time.Millisecond
	}
	next := opts.OnState
	opts.OnState = func(s State) {
		c.mu.Lock()
		c.states = append(c.states, s)
		c.mu.Unlock()
		if next != nil {
			next(s)
		}
	}
	go func() {
		c.done <- Run(ctx, opts, func(m *stream.Message) error {
			c.msgs <- m
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	return c
}

func (c *client) next(t *testing.T) *stream.Message {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
		return nil
	}
}

// modes are the distinct modes reported, in order, without repeats.
func (c *client) modes() []Mode {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Mode
	for _, s := range c.states {
		if len(out) == 0 || out[len(out)-1] != s.Mode {
			out = append(out, s.Mode)
		}
	}
	return out
}

func (c *client) waitMode(t *testing.T, m Mode) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		modes := c.modes()
		if len(modes) > 0 && modes[len(modes)-1] == m {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("mode never became %s: %v", m, modes)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func event(n int) events.Message {
	return events.Message{Type: events.ContainerEventType, Action: events.ActionDie,
		Actor: events.Actor{ID: "c1", Attributes: map[string]string{"n": strconv.Itoa(n)}}}
}

func eventN(m *stream.Message) int {
	if m.Type != stream.TypeEvent || m.Event == nil {
		return -1
	}
	n, err := strconv.Atoi(m.Event.Actor.Attributes["n"])
	if err != nil {
		return -1
	}
	return n
}

// expectEvents reads until events from..to have arrived, failing on any
// other event number (a gap or a duplicate) and collecting the rest.
func (c *client) expectEvents(t *testing.T, from, to int) (others []*stream.Message) {
	t.Helper()
	for want := from; want <= to; {
		m := c.next(t)
		if m.Type != stream.TypeEvent {
			others = append(others, m)
			continue
		}
		if got := eventN(m); got != want {
			t.Fatalf("got event %d, want %d", got, want)
		}
		want++
	}
	return others
}

func TestRunReceivesHelloSnapshotAndLive(t *testing.T) {
	leakCheck(t)
	path := filepath.Join(t.TempDir(), "live.sock")
	h := hub.New(hub.Config{})
	h.Upsert(stream.Container{ID: "a1", Name: "web", State: "running"})
	serve(t, h, path)
	c := startClient(t, Options{Dial: unixDial(path)})

	if m := c.next(t); m.Type != stream.TypeHello || m.Hello.Resumed || m.Epoch != h.Epoch() {
		t.Fatalf("first message = %+v, want a fresh hello", m)
	}
	m := c.next(t)
	if m.Type != stream.TypeSnapshot || m.Snapshot.Resync || len(m.Snapshot.Containers) != 1 {
		t.Fatalf("second message = %+v, want a snapshot of one container", m)
	}
	h.Upsert(stream.Container{ID: "b1", Name: "db", State: "running"})
	h.Event(event(1))
	if m := c.next(t); m.Type != stream.TypeContainer || m.Container.ID != "b1" || m.Seq != 2 {
		t.Errorf("got %+v, want container b1 at seq 2", m)
	}
	if m := c.next(t); eventN(m) != 1 {
		t.Errorf("got %+v, want event 1", m)
	}
	if got := fmt.Sprint(c.modes()); got != "[connecting live]" {
		t.Errorf("modes = %s, want [connecting live]", got)
	}
	c.stop()
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		c.done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestReconnectResumesWithoutLossOrDuplicates(t *testing.T) {
	leakCheck(t)
	path := filepath.Join(t.TempDir(), "live.sock")
	h := hub.New(hub.Config{})
	first := serve(t, h, path)
	c := startClient(t, Options{Dial: unixDial(path), Subscription: stream.Subscription{Topics: []string{stream.TopicEvents}}})
	if m := c.next(t); m.Type != stream.TypeHello {
		t.Fatalf("got %s, want hello", m.Type)
	}
	for i := 1; i <= 10; i++ {
		h.Event(event(i))
	}
	c.expectEvents(t, 1, 10)

	// The streamer's connections drop; events go on while nobody serves.
	first.stop(t)
	c.waitMode(t, ModeReconnecting)
	for i := 11; i <= 20; i++ {
		h.Event(event(i))
	}
	serve(t, h, path) // the same hub: the same epoch and ring
	for i := 21; i <= 30; i++ {
		h.Event(event(i))
	}
	others := c.expectEvents(t, 11, 30)
	if len(others) != 1 || others[0].Type != stream.TypeHello || !others[0].Hello.Resumed {
		t.Fatalf("besides events got %v, want one resumed hello", others)
	}
	h.Event(event(31))
	c.expectEvents(t, 31, 31)
	if got := fmt.Sprint(c.modes()); got != "[connecting live reconnecting live]" {
		t.Errorf("modes = %s, want [connecting live reconnecting live]", got)
	}
	select {
	case m := <-c.msgs:
		t.Errorf("unexpected extra message %+v", m)
	default:
	}
}

func TestNewStreamerMeansResync(t *testing.T) {
	leakCheck(t)
	path := filepath.Join(t.TempDir(), "live.sock")
	old := hub.New(hub.Config{})
	old.Upsert(stream.Container{ID: "a1", Name: "gone", State: "running"})
	first := serve(t, old, path)
	c := startClient(t, Options{Dial: unixDial(path)})
	c.next(t) // hello
	c.next(t) // snapshot
	old.Event(event(1))
	c.expectEvents(t, 1, 1)

	first.stop(t)
	c.waitMode(t, ModeReconnecting)
	fresh := hub.New(hub.Config{})
	fresh.Upsert(stream.Container{ID: "b1", Name: "new", State: "running"})
	serve(t, fresh, path)

	m := c.next(t)
	if m.Type != stream.TypeHello || m.Hello.Resumed || m.Epoch != fresh.Epoch() || m.Epoch == old.Epoch() {
		t.Fatalf("after the restart got %+v, want a fresh hello of the new epoch", m)
	}
	m = c.next(t)
	if m.Type != stream.TypeSnapshot || !m.Snapshot.Resync || len(m.Snapshot.Containers) != 1 || m.Snapshot.Containers[0].ID != "b1" {
		t.Fatalf("got %+v, want a resync snapshot of the new streamer", m)
	}
	// Seq 1 of the new epoch is not mistaken for the old epoch's seq 1.
	fresh.Event(event(2))
	c.expectEvents(t, 2, 2)
}

func TestFallbackRunsWhileStreamerIsAbsent(t *testing.T) {
	leakCheck(t)
	path := filepath.Join(t.TempDir(), "live.sock") // nothing listens yet
	const after = 150 * time.Millisecond
	started := make(chan time.Time, 1)
	stopped := make(chan struct{})
	var liveSeen, fallbackStoppedBeforeLive bool
	var mu sync.Mutex
	begin := time.Now()
	c := startClient(t, Options{
		Dial:          unixDial(path),
		FallbackAfter: after,
		Fallback: func(ctx context.Context) {
			started <- time.Now()
			<-ctx.Done()
			close(stopped)
		},
		OnState: func(s State) {
			if s.Mode != ModeLive {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			liveSeen = true
			select {
			case <-stopped:
				fallbackStoppedBeforeLive = true
			default:
			}
		},
	})
	var at time.Time
	select {
	case at = <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the fallback never started")
	}
	if waited := at.Sub(begin); waited < after {
		t.Errorf("fallback started after %s, want at least %s", waited, after)
	}
	c.waitMode(t, ModePolling)

	h := hub.New(hub.Config{})
	serve(t, h, path)
	if m := c.next(t); m.Type != stream.TypeHello {
		t.Fatalf("got %s, want hello", m.Type)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the fallback was not cancelled once live")
	}
	mu.Lock()
	if !liveSeen || !fallbackStoppedBeforeLive {
		t.Errorf("live reported: %v; fallback stopped before it: %v", liveSeen, fallbackStoppedBeforeLive)
	}
	mu.Unlock()
	modes := c.modes()
	if fmt.Sprint(modes) != "[connecting reconnecting polling live]" {
		t.Errorf("modes = %v, want [connecting reconnecting polling live]", modes)
	}
	c.mu.Lock()
	for i, s := range c.states {
		if s.Mode == ModeReconnecting || s.Mode == ModePolling {
			if s.Attempt < 1 || s.Err == nil || s.NextTry <= 0 {
				t.Errorf("state %d = %+v, want an attempt, an error and a wait", i, s)
			}
		}
	}
	c.mu.Unlock()
}

func TestNoFallbackWhenStreamerAnswersInTime(t *testing.T) {
	leakCheck(t)
	path := filepath.Join(t.TempDir(), "live.sock")
	serve(t, hub.New(hub.Config{}), path)
	ran := make(chan struct{}, 1)
	c := startClient(t, Options{Dial: unixDial(path), FallbackAfter: 50 * time.Millisecond,
		Fallback: func(ctx context.Context) { ran <- struct{}{}; <-ctx.Done() }})
	c.next(t)
	c.waitMode(t, ModeLive)
	select {
	case <-ran:
		t.Error("the fallback ran although the streamer answered")
	case <-time.After(100 * time.Millisecond):
	}
}

func TestRefusedSubscriptionIsFatal(t *testing.T) {
	leakCheck(t)
	path := filepath.Join(t.TempDir(), "live.sock")
	serve(t, hub.New(hub.Config{}), path)
	err := Run(context.Background(), Options{Dial: unixDial(path), Subscription: stream.Subscription{Topics: []string{"logs"}}},
		func(*stream.Message) error { return nil })
	var fe *FatalError
	if !errors.As(err, &fe) || fe.Code != stream.CloseBadRequest {
		t.Fatalf("Run with a bad topic = %v, want a FatalError with %d", err, stream.CloseBadRequest)
	}
	if want := `unknown topic "logs"`; !strings.Contains(fe.Msg, want) {
		t.Errorf("error %q does not say %q", fe.Msg, want)
	}
}

// fakeStreamer is a scripted stand-in for the streamer, for what a real
// one never does: refuse our protocol version, or repeat messages.
type fakeStreamer struct {
	path    string
	subs    chan stream.Subscription
	script  func(n int, ws *websocket.Conn, sub stream.Subscription)
	srv     *http.Server
	handled sync.WaitGroup
}

func startFake(t *testing.T, script func(n int, ws *websocket.Conn, sub stream.Subscription)) *fakeStreamer {
	t.Helper()
	f := &fakeStreamer{path: filepath.Join(t.TempDir(), "fake.sock"), subs: make(chan stream.Subscription, 100), script: script}
	l, err := net.Listen("unix", f.path)
	if err != nil {
		t.Fatal(err)
	}
	up := websocket.Upgrader{}
	var mu sync.Mutex
	n := 0
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		f.handled.Add(1)
		defer f.handled.Done()
		defer ws.Close()
		var req stream.Request
		if err := ws.ReadJSON(&req); err != nil || req.Subscribe == nil {
			return
		}
		select {
		case f.subs <- *req.Subscribe:
		default: // a test that retries fast need not read them all
		}
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		f.script(i, ws, *req.Subscribe)
	})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = f.srv.Serve(l)
	}()
	t.Cleanup(func() {
		f.srv.Close()
		<-served
		f.handled.Wait()
	})
	return f
}

func TestBadVersionIsFatal(t *testing.T) {
	leakCheck(t)
	f := startFake(t, func(_ int, ws *websocket.Conn, _ stream.Subscription) {
		_ = ws.WriteJSON(stream.Message{Type: stream.TypeError, Error: &stream.ErrorBody{Code: "bad_version", Message: "protocol version 1 is not supported; this streamer speaks 2"}})
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(stream.CloseBadVersion, "protocol"), time.Now().Add(time.Second))
	})
	var states []Mode
	err := Run(context.Background(), Options{Dial: unixDial(f.path), OnState: func(s State) { states = append(states, s.Mode) }},
		func(*stream.Message) error { return nil })
	var fe *FatalError
	if !errors.As(err, &fe) || fe.Code != stream.CloseBadVersion {
		t.Fatalf("Run = %v, want a FatalError with %d", err, stream.CloseBadVersion)
	}
	if !strings.Contains(fe.Msg, "this streamer speaks 2") {
		t.Errorf("error %q does not carry the streamer's reason", fe.Msg)
	}
	if sub := <-f.subs; sub.Protocol != stream.ProtocolVersion {
		t.Errorf("client sent protocol %d, want %d", sub.Protocol, stream.ProtocolVersion)
	}
	if len(f.subs) != 0 {
		t.Error("the client retried after a fatal refusal")
	}
	if fmt.Sprint(states) != "[connecting]" {
		t.Errorf("states = %v, want [connecting]", states)
	}
}

func TestUnauthorizedIsFatal(t *testing.T) {
	leakCheck(t)
	h := hub.New(hub.Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Hub: h, Token: []byte("right")})
	served := make(chan error, 1)
	go func() { served <- srv.ServeTCP(l) }()
	defer func() {
		srv.Shutdown(context.Background())
		<-served
	}()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", l.Addr().String())
	}
	// The client addresses the streamer as docker-live; over TCP the Host
	// must be loopback, so name it.
	hdr := http.Header{"Authorization": {"Bearer wrong"}, "Host": {"localhost"}}
	err = Run(context.Background(), Options{Dial: dial, Header: hdr}, func(*stream.Message) error { return nil })
	var fe *FatalError
	if !errors.As(err, &fe) || fe.Code != http.StatusUnauthorized {
		t.Fatalf("Run with a wrong token = %v, want a FatalError with 401", err)
	}
	hdr.Set("Authorization", "Bearer right")
	err = Run(context.Background(), Options{Dial: dial, Header: hdr}, func(m *stream.Message) error {
		if m.Type == stream.TypeSnapshot {
			return ErrStop
		}
		return nil
	})
	if err != nil {
		t.Errorf("Run with the right token = %v, want a clean stop at the snapshot", err)
	}
}

func TestDuplicatesAfterResumeAreDropped(t *testing.T) {
	leakCheck(t)
	const epoch = "e1"
	ev := func(ws *websocket.Conn, seq uint64) {
		e := event(int(seq))
		_ = ws.WriteJSON(stream.Message{Type: stream.TypeEvent, Epoch: epoch, Seq: seq, Event: &e})
	}
	f := startFake(t, func(n int, ws *websocket.Conn, sub stream.Subscription) {
		switch n {
		case 1:
			_ = ws.WriteJSON(stream.Message{Type: stream.TypeHello, Epoch: epoch, Seq: 0, Hello: &stream.Hello{Protocol: 1}})
			ev(ws, 1)
			ev(ws, 2)
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(stream.CloseTooSlow, "slow"), time.Now().Add(time.Second))
		default:
			_ = ws.WriteJSON(stream.Message{Type: stream.TypeHello, Epoch: epoch, Seq: 4, Hello: &stream.Hello{Protocol: 1, Resumed: true}})
			ev(ws, 1)
			ev(ws, 2)
			ev(ws, 3)
			ev(ws, 4)
			// Hold the connection until the client leaves.
			_, _, _ = ws.ReadMessage()
		}
	})
	c := startClient(t, Options{Dial: unixDial(f.path)})
	others := c.expectEvents(t, 1, 4)
	if len(others) != 2 || others[0].Type != stream.TypeHello || others[1].Type != stream.TypeHello || !others[1].Hello.Resumed {
		t.Errorf("besides events got %v, want two hellos", others)
	}
	if sub := <-f.subs; sub.Since != nil {
		t.Errorf("first subscribe has since %+v, want none", sub.Since)
	}
	if sub := <-f.subs; sub.Since == nil || *sub.Since != (stream.Position{Epoch: epoch, Seq: 2}) {
		t.Errorf("second subscribe has since %+v, want e1/2", sub.Since)
	}
}

func TestHandlerErrorEndsRun(t *testing.T) {
	leakCheck(t)
	path := filepath.Join(t.TempDir(), "live.sock")
	serve(t, hub.New(hub.Config{}), path)
	boom := errors.New("boom")
	err := Run(context.Background(), Options{Dial: unixDial(path)}, func(*stream.Message) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("Run = %v, want the handler's error", err)
	}
}

func TestHelloWithoutBodyIsRetriedNotAPanic(t *testing.T) {
	leakCheck(t)
	f := startFake(t, func(_ int, ws *websocket.Conn, _ stream.Subscription) {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","epoch":"e","seq":0}`))
		_, _, _ = ws.ReadMessage()
	})
	retried := make(chan State, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Dial: unixDial(f.path), MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
			OnState: func(s State) {
				if s.Mode == ModeReconnecting {
					retried <- s
				}
			}}, func(*stream.Message) error { return nil })
	}()
	select {
	case s := <-retried:
		if s.Err == nil || !strings.Contains(s.Err.Error(), "hello") {
			t.Errorf("retry after a bodiless hello says %v", s.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no retry after a bodiless hello")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v after cancel", err)
	}
}
