//go:build !windows

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

const testToken = "s3cret-token-for-tests"

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

// logRecorder keeps what the server logs, so that tests can check it and
// nothing logs after a test has ended.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

type testServer struct {
	srv  *Server
	hub  *hub.Hub
	log  *logRecorder
	path string // the Unix socket
	addr string // the TCP address, when served
}

// startServer serves h on a Unix socket in a temporary folder and, when
// cfg has a token, on a loopback TCP port. It stops both at cleanup.
func startServer(t *testing.T, h *hub.Hub, cfg Config) *testServer {
	t.Helper()
	ts := &testServer{hub: h, log: &logRecorder{}, path: filepath.Join(t.TempDir(), "run", "live.sock")}
	cfg.Hub = h
	cfg.Logf = ts.log.Logf
	ts.srv = New(cfg)
	ul, err := ListenUnix(ts.path, ts.log.Logf)
	if err != nil {
		t.Fatalf("ListenUnix: %v", err)
	}
	served := make(chan error, 2)
	n := 1
	go func() { served <- ts.srv.ServeUnix(ul) }()
	if cfg.Token != nil {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen tcp: %v", err)
		}
		ts.addr = tl.Addr().String()
		n++
		go func() { served <- ts.srv.ServeTCP(tl) }()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ts.srv.Shutdown(ctx)
		for range n {
			select {
			case err := <-served:
				if err != nil {
					t.Errorf("Serve returned %v after Shutdown", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("Serve did not return after Shutdown")
				return
			}
		}
	})
	return ts
}

func unixDialer(path string) *websocket.Dialer {
	return &websocket.Dialer{
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		HandshakeTimeout: 5 * time.Second,
	}
}

// dial opens a stream on the Unix socket; it closes it at cleanup.
func (ts *testServer) dial(t *testing.T, hdr http.Header) *websocket.Conn {
	t.Helper()
	ws, resp, err := unixDialer(ts.path).Dial("ws://docker-live"+stream.StreamPath, hdr)
	if err != nil {
		t.Fatalf("dial: %v (%s)", err, statusOf(resp))
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func statusOf(resp *http.Response) string {
	if resp == nil {
		return "no response"
	}
	return resp.Status
}

func send(t *testing.T, ws *websocket.Conn, v any) {
	t.Helper()
	if err := ws.WriteJSON(v); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func subscribeReq(sub stream.Subscription) stream.Request {
	if sub.Protocol == 0 {
		sub.Protocol = stream.ProtocolVersion
	}
	return stream.Request{Type: stream.TypeSubscribe, Subscribe: &sub}
}

// read returns the next message, failing on anything else within 5 s.
func read(t *testing.T, ws *websocket.Conn) stream.Message {
	t.Helper()
	m, err := readErr(ws, 5*time.Second)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

func readErr(ws *websocket.Conn, wait time.Duration) (stream.Message, error) {
	var m stream.Message
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	kind, data, err := ws.ReadMessage()
	if err != nil {
		return m, err
	}
	if kind != websocket.TextMessage {
		return m, fmt.Errorf("got a frame of kind %d, want text", kind)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("not a message: %v: %s", err, data)
	}
	return m, nil
}

// expectClose reads until the connection closes and checks the close code.
// It returns the messages read before the close.
func expectClose(t *testing.T, ws *websocket.Conn, code int) []stream.Message {
	t.Helper()
	var got []stream.Message
	for {
		m, err := readErr(ws, 10*time.Second)
		if err == nil {
			got = append(got, m)
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended with %v after %d messages, want close %d", err, len(got), code)
		}
		if ce.Code != code {
			t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Text, code)
		}
		return got
	}
}

func subscribeAndGreet(t *testing.T, ws *websocket.Conn, sub stream.Subscription) (hello, snapshot stream.Message) {
	t.Helper()
	send(t, ws, subscribeReq(sub))
	hello = read(t, ws)
	if hello.Type != stream.TypeHello || hello.Hello == nil || hello.Hello.Protocol != stream.ProtocolVersion {
		t.Fatalf("first message = %+v, want a hello", hello)
	}
	snapshot = read(t, ws)
	if snapshot.Type != stream.TypeSnapshot || snapshot.Snapshot == nil {
		t.Fatalf("second message = %+v, want a snapshot", snapshot)
	}
	return hello, snapshot
}

// stillServes proves the server takes new clients after a bad one.
func (ts *testServer) stillServes(t *testing.T) {
	t.Helper()
	ws := ts.dial(t, nil)
	subscribeAndGreet(t, ws, stream.Subscription{})
	ws.Close()
}

func bigEvent(n, size int) events.Message {
	return events.Message{Type: events.ContainerEventType, Action: events.ActionStart,
		Actor: events.Actor{ID: "c" + strconv.Itoa(n), Attributes: map[string]string{
			"n": strconv.Itoa(n), "pad": strings.Repeat("x", size)}}}
}

func eventN(m stream.Message) int {
	if m.Type != stream.TypeEvent || m.Event == nil {
		return -1
	}
	n, err := strconv.Atoi(m.Event.Actor.Attributes["n"])
	if err != nil {
		return -1
	}
	return n
}

func TestUnixSocketModesIgnoreUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	base := t.TempDir()
	fresh := filepath.Join(base, "fresh", "live.sock")
	// A folder that exists with looser modes is tightened, and a stale
	// socket file is replaced.
	loose := filepath.Join(base, "loose", "live.sock")
	if err := os.MkdirAll(filepath.Dir(loose), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loose, []byte("stale"), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fresh, loose} {
		l, err := ListenUnix(path, nil)
		if err != nil {
			t.Fatalf("ListenUnix(%s): %v", path, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %s, want a socket with 0600", path, fi.Mode())
		}
		di, err := os.Stat(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if di.Mode().Perm() != 0o700 {
			t.Errorf("%s: folder mode %s, want 0700", path, di.Mode().Perm())
		}
		// The owner can connect: the peer check lets our own uid in.
		accepted := make(chan error, 1)
		go func() {
			c, err := l.Accept()
			if err == nil {
				c.Close()
			}
			accepted <- err
		}()
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		c.Close()
		if err := <-accepted; err != nil {
			t.Errorf("Accept refused our own uid: %v", err)
		}
		l.Close()
	}
}

func TestUnixClientGetsHelloAndSnapshot(t *testing.T) {
	leakCheck(t)
	h := hub.New(hub.Config{Context: "ctx", Server: "test"})
	h.EngineStatus(stream.EngineStatus{State: stream.EngineConnected, Version: "20.10.24"})
	h.Upsert(stream.Container{ID: "a1", Name: "web", State: "running"})
	ts := startServer(t, h, Config{})
	ws := ts.dial(t, nil)
	hello, snap := subscribeAndGreet(t, ws, stream.Subscription{})
	if hello.Epoch != h.Epoch() || hello.Seq != 2 || hello.Hello.Context != "ctx" || hello.Hello.Engine.State != stream.EngineConnected {
		t.Errorf("hello = %+v %+v", hello, hello.Hello)
	}
	if len(snap.Snapshot.Containers) != 1 || snap.Snapshot.Containers[0].Name != "web" {
		t.Errorf("snapshot = %+v", snap.Snapshot)
	}
	h.Upsert(stream.Container{ID: "b1", Name: "db", State: "running"})
	if m := read(t, ws); m.Type != stream.TypeContainer || m.Container.ID != "b1" || m.Seq != 3 {
		t.Errorf("live message = %+v, want container b1 at seq 3", m)
	}
	waitFor(t, "one client", func() bool { return ts.srv.Clients() == 1 && h.Info().Clients == 1 })

	// Subscribing again on the same connection restarts with a hello.
	send(t, ws, subscribeReq(stream.Subscription{Topics: []string{stream.TopicEvents}}))
	if m := read(t, ws); m.Type != stream.TypeHello {
		t.Fatalf("after a second subscribe got %s, want hello", m.Type)
	}
	h.Upsert(stream.Container{ID: "c1", Name: "cache", State: "running"})
	h.Event(bigEvent(1, 0))
	if m := read(t, ws); eventN(m) != 1 {
		t.Errorf("after resubscribing to events got %+v, want event 1 only", m)
	}
	waitFor(t, "still one hub client", func() bool { return h.Info().Clients == 1 })

	ws.Close()
	waitFor(t, "no clients", func() bool { return ts.srv.Clients() == 0 && h.Info().Clients == 0 })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTCPGuards(t *testing.T) {
	leakCheck(t)
	h := hub.New(hub.Config{})
	ts := startServer(t, h, Config{Token: []byte(testToken), AllowOrigins: []string{"http://localhost:8080"}})
	_, port, _ := net.SplitHostPort(ts.addr)
	bearer := "Bearer " + testToken

	cases := []struct {
		name   string
		query  string
		header http.Header
		want   int
	}{
		{"no token", "", nil, http.StatusUnauthorized},
		{"wrong token", "", http.Header{"Authorization": {"Bearer nope"}}, http.StatusUnauthorized},
		{"token prefix", "", http.Header{"Authorization": {"Bearer " + testToken[:5]}}, http.StatusUnauthorized},
		{"basic auth", "", http.Header{"Authorization": {"Basic " + testToken}}, http.StatusUnauthorized},
		{"wrong query token", "?token=nope", nil, http.StatusUnauthorized},
		{"bearer", "", http.Header{"Authorization": {bearer}}, http.StatusSwitchingProtocols},
		{"query token", "?token=" + testToken, nil, http.StatusSwitchingProtocols},
		{"foreign origin", "", http.Header{"Authorization": {bearer}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"allowed origin", "", http.Header{"Authorization": {bearer}, "Origin": {"http://localhost:8080"}}, http.StatusSwitchingProtocols},
		{"evil host", "", http.Header{"Authorization": {bearer}, "Host": {"evil.example"}}, http.StatusForbidden},
		{"evil host with port", "", http.Header{"Authorization": {bearer}, "Host": {"evil.example:" + port}}, http.StatusForbidden},
		{"localhost", "", http.Header{"Authorization": {bearer}, "Host": {"localhost:" + port}}, http.StatusSwitchingProtocols},
		{"ipv6 loopback", "", http.Header{"Authorization": {bearer}, "Host": {"[::1]:" + port}}, http.StatusSwitchingProtocols},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
			ws, resp, err := d.Dial("ws://"+ts.addr+stream.StreamPath+c.query, c.header)
			if resp == nil {
				t.Fatalf("no HTTP response: %v", err)
			}
			if resp.StatusCode != c.want {
				t.Fatalf("status %s, want %d", resp.Status, c.want)
			}
			if c.want != http.StatusSwitchingProtocols {
				if err == nil {
					t.Fatal("dial succeeded")
				}
				if c.want == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			defer ws.Close()
			subscribeAndGreet(t, ws, stream.Subscription{})
		})
	}
	if log := ts.log.String(); strings.Contains(log, testToken) {
		t.Errorf("the token was logged:\n%s", log)
	}

	// Health needs the token too on TCP.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + ts.addr + stream.HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("health without token: %s, want 401", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+ts.addr+stream.HealthPath, nil)
	req.Header.Set("Authorization", bearer)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health with token: %s, want 200", resp.Status)
	}
}

func TestServeTCPNeedsToken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := New(Config{Hub: hub.New(hub.Config{})}).ServeTCP(l); err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("ServeTCP without a token = %v, want an error about the token", err)
	}
}

func TestUnixOriginCheck(t *testing.T) {
	leakCheck(t)
	ts := startServer(t, hub.New(hub.Config{}), Config{AllowOrigins: []string{"http://localhost:3000"}})
	_, resp, err := unixDialer(ts.path).Dial("ws://docker-live"+stream.StreamPath, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v (%s), want 403", err, statusOf(resp))
	}
	ws := ts.dial(t, http.Header{"Origin": {"http://localhost:3000"}})
	subscribeAndGreet(t, ws, stream.Subscription{})
}

func unixHTTP(path string) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

func TestHealthAndPlainHTTP(t *testing.T) {
	leakCheck(t)
	h := hub.New(hub.Config{})
	h.Upsert(stream.Container{ID: "a1", Name: "web"})
	ts := startServer(t, h, Config{})
	client := unixHTTP(ts.path)

	resp, err := client.Get("http://docker-live" + stream.HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	err = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("health: %s %q %v", resp.Status, resp.Header.Get("Content-Type"), err)
	}
	if info["epoch"] != h.Epoch() || info["containers"] != float64(1) || info["clients"] != float64(0) {
		t.Errorf("health body = %v", info)
	}

	ts.srv.SetHealth(func() any { return map[string]int{"custom": 7} })
	resp, err = client.Get("http://docker-live" + stream.HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != `{"custom":7}` {
		t.Errorf("custom health body = %s", body)
	}
	resp, err = client.Post("http://docker-live"+stream.HealthPath, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST health: %s, want 405", resp.Status)
	}

	resp, err = client.Get("http://docker-live" + stream.StreamPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "WebSocket") {
		t.Errorf("plain GET of the stream: %s %q, want 400 saying it is a WebSocket endpoint", resp.Status, body)
	}
	ts.stillServes(t)
}

func TestBadClientsAreClosedWithTheRightCode(t *testing.T) {
	leakCheck(t)
	ts := startServer(t, hub.New(hub.Config{}), Config{})

	cases := []struct {
		name     string
		kind     int
		payload  []byte
		code     int
		errCode  string // the error message before the close; "" when none is promised
		errMatch string
	}{
		{"malformed JSON", websocket.TextMessage, []byte(`{"type":"subscribe",`), stream.CloseBadRequest, "bad_request", "malformed JSON"},
		{"two values", websocket.TextMessage, []byte(`{"type":"subscribe","subscribe":{"protocol":1}} {}`), stream.CloseBadRequest, "bad_request", "more than one"},
		{"stray bracket", websocket.TextMessage, []byte(`{"type":"subscribe","subscribe":{"protocol":1}}]`), stream.CloseBadRequest, "bad_request", "malformed JSON"},
		{"no type", websocket.TextMessage, []byte(`{"subscribe":{"protocol":1}}`), stream.CloseBadRequest, "bad_request", "no \"type\""},
		{"unknown type", websocket.TextMessage, []byte(`{"type":"unsubscribe"}`), stream.CloseBadRequest, "bad_request", "unknown message type"},
		{"subscribe without body", websocket.TextMessage, []byte(`{"type":"subscribe"}`), stream.CloseBadRequest, "bad_request", "subscribe"},
		{"binary frame", websocket.BinaryMessage, []byte(`{"type":"subscribe","subscribe":{"protocol":1}}`), stream.CloseBadRequest, "bad_request", "binary"},
		{"wrong version", websocket.TextMessage, []byte(`{"type":"subscribe","subscribe":{"protocol":99}}`), stream.CloseBadVersion, "bad_version", "99"},
		{"bad topic", websocket.TextMessage, []byte(`{"type":"subscribe","subscribe":{"protocol":1,"topics":["logs"]}}`), stream.CloseBadRequest, "bad_topic", "logs"},
		{"bad interval", websocket.TextMessage, []byte(`{"type":"subscribe","subscribe":{"protocol":1,"stats_interval":"10ms"}}`), stream.CloseBadRequest, "bad_interval", "minimum"},
		{"too big", websocket.TextMessage, []byte(`{"type":"subscribe","subscribe":{"protocol":1},"pad":"` + strings.Repeat("x", stream.MaxClientMessage) + `"}`), stream.CloseMessageTooBig, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws := ts.dial(t, nil)
			if err := ws.WriteMessage(c.kind, c.payload); err != nil {
				t.Fatalf("write: %v", err)
			}
			got := expectClose(t, ws, c.code)
			if c.errCode == "" {
				return
			}
			if len(got) != 1 || got[0].Type != stream.TypeError || got[0].Error == nil {
				t.Fatalf("before the close got %+v, want one error message", got)
			}
			if got[0].Error.Code != c.errCode || !strings.Contains(got[0].Error.Message, c.errMatch) {
				t.Errorf("error = %+v, want code %s mentioning %q", got[0].Error, c.errCode, c.errMatch)
			}
		})
		ts.stillServes(t)
	}

	// A frame of exactly the limit is fine.
	ws := ts.dial(t, nil)
	head := `{"type":"subscribe","subscribe":{"protocol":1},"pad":"`
	frame := head + strings.Repeat("x", stream.MaxClientMessage-len(head)-2) + `"}`
	if len(frame) != stream.MaxClientMessage {
		t.Fatalf("frame is %d bytes", len(frame))
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	if m := read(t, ws); m.Type != stream.TypeHello {
		t.Errorf("a frame of exactly %d bytes got %s, want hello", stream.MaxClientMessage, m.Type)
	}
	waitFor(t, "all bad clients gone", func() bool { return ts.srv.Clients() == 1 })
}

func TestSubscribeFloodIsAPolicyViolation(t *testing.T) {
	leakCheck(t)
	ts := startServer(t, hub.New(hub.Config{}), Config{})
	ws := ts.dial(t, nil)
	frame, _ := json.Marshal(subscribeReq(stream.Subscription{}))
	for i := 0; i < 50; i++ {
		if err := ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			break // the server may already have closed
		}
	}
	got := expectClose(t, ws, websocket.ClosePolicyViolation)
	hellos := 0
	for _, m := range got {
		if m.Type == stream.TypeHello {
			hellos++
		}
	}
	// Pending frames may be dropped for the close, so fewer is fine.
	if hellos > subscribeBurst {
		t.Errorf("got %d hellos before the close, want at most %d", hellos, subscribeBurst)
	}
	if last := got[len(got)-1]; last.Type != stream.TypeError || last.Error.Code != "too_many_subscribes" {
		t.Errorf("last message before the close = %+v, want a too_many_subscribes error", last)
	}
	ts.stillServes(t)
}

// A client that stops reading is cut off with CloseTooSlow once its queue
// overflows, while another client gets every message without delay.
func TestSlowClientIsDisconnectedFastOneIsNot(t *testing.T) {
	leakCheck(t)
	const queue = 16
	h := hub.New(hub.Config{QueueSize: queue, RingSize: 64})
	ts := startServer(t, h, Config{})
	slow := ts.dial(t, nil)
	send(t, slow, subscribeReq(stream.Subscription{Topics: []string{stream.TopicEvents}}))
	if m := read(t, slow); m.Type != stream.TypeHello {
		t.Fatalf("slow client got %s, want hello", m.Type)
	}
	fast := ts.dial(t, nil)
	send(t, fast, subscribeReq(stream.Subscription{Topics: []string{stream.TopicEvents}}))
	if m := read(t, fast); m.Type != stream.TypeHello {
		t.Fatalf("fast client got %s, want hello", m.Type)
	}

	// 4 MB in all: far more than the socket buffers hold, so the slow
	// client's write pump blocks and its queue overflows.
	const n, size = 1000, 4 << 10
	const burst = queue / 2
	received := 0
	for i := 1; i <= n; i++ {
		h.Event(bigEvent(i, size))
		if i%burst != 0 && i != n {
			continue
		}
		// Wait for the fast client to have this burst before the next, so
		// that its own bounded queue never fills: it is not the slow one.
		for received < i {
			m, err := readErr(fast, 10*time.Second)
			if err != nil {
				t.Fatalf("fast client: %v after %d events", err, received)
			}
			if got := eventN(m); got != received+1 {
				t.Fatalf("fast client got event %d, want %d", got, received+1)
			}
			received++
		}
	}

	got := expectClose(t, slow, stream.CloseTooSlow)
	if len(got) >= n {
		t.Errorf("slow client got all %d events", len(got))
	}
	for i, m := range got {
		if eventN(m) != i+1 {
			t.Fatalf("slow client's message %d is event %d, want %d", i, eventN(m), i+1)
		}
	}

	// The fast one is still live.
	h.Event(bigEvent(n+1, 0))
	if m := read(t, fast); eventN(m) != n+1 {
		t.Errorf("fast client after the slow one left got %+v", m)
	}
	waitFor(t, "the slow client gone", func() bool { return ts.srv.Clients() == 1 && h.Info().Clients == 1 })
	ts.stillServes(t)
}

func TestShutdownClosesClients(t *testing.T) {
	leakCheck(t)
	h := hub.New(hub.Config{})
	ts := startServer(t, h, Config{})
	ws := ts.dial(t, nil)
	subscribeAndGreet(t, ws, stream.Subscription{})
	idle := ts.dial(t, nil) // never subscribes
	waitFor(t, "two clients", func() bool { return ts.srv.Clients() == 2 })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ts.srv.Shutdown(ctx)
	expectClose(t, ws, stream.CloseShuttingDown)
	expectClose(t, idle, stream.CloseShuttingDown)
	waitFor(t, "no clients", func() bool { return ts.srv.Clients() == 0 && h.Info().Clients == 0 })
	if _, err := os.Stat(ts.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after Shutdown: %v", err)
	}
}

func TestShutdownBeforeServe(t *testing.T) {
	leakCheck(t)
	srv := New(Config{Hub: hub.New(hub.Config{})})
	srv.Shutdown(context.Background())
	l, err := ListenUnix(filepath.Join(t.TempDir(), "live.sock"), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeUnix(l) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeUnix after Shutdown = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		l.Close()
		t.Fatal("ServeUnix after Shutdown kept serving")
	}
}

func TestHubStopClosesClients(t *testing.T) {
	leakCheck(t)
	h := hub.New(hub.Config{})
	stop := make(chan struct{})
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		h.Run(stop)
	}()
	ts := startServer(t, h, Config{})
	ws := ts.dial(t, nil)
	subscribeAndGreet(t, ws, stream.Subscription{})
	close(stop)
	<-ran
	expectClose(t, ws, stream.CloseShuttingDown)
	// A client arriving now is told the streamer is going away.
	late := ts.dial(t, nil)
	send(t, late, subscribeReq(stream.Subscription{}))
	expectClose(t, late, stream.CloseShuttingDown)
}
