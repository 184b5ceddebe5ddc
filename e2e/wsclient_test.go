package e2e

// A small WebSocket client of the streamer's protocol (stream/protocol.go),
// for tests that look at the wire itself rather than at a command's output.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/stream"
)

// wsMsg is one frame from the streamer, with the moment the test read it.
type wsMsg struct {
	stream.Message
	At  time.Time
	Raw []byte
}

// wsClient reads every frame into a large buffer as soon as it arrives, so
// that the client itself never lags and receipt times are honest.
type wsClient struct {
	ws   *websocket.Conn
	msgs chan wsMsg
	done chan struct{} // closed when the reader has stopped
	err  error         // why the reader stopped; read after done
	once sync.Once
}

// unixDialer dials the streamer's Unix socket whatever address the
// WebSocket library asks for.
func unixDialer(socket string) func(ctx context.Context, _, _ string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}
}

// dialWS opens a WebSocket at url. dial may be nil for TCP. The response
// is returned also on failure, for the HTTP status of a refusal.
func dialWS(url string, dial func(ctx context.Context, network, addr string) (net.Conn, error), header http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{NetDialContext: dial, HandshakeTimeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := d.DialContext(ctx, url, header)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	return ws, resp, err
}

// dialStreamer connects to the streamer at socket; the connection is
// closed on t.Cleanup.
func dialStreamer(t testing.TB, socket string) *wsClient {
	t.Helper()
	ws, _, err := dialWS("ws://docker-live"+stream.StreamPath, unixDialer(socket), nil)
	if err != nil {
		t.Fatalf("dialling the streamer at %s: %v", socket, err)
	}
	return newWSClient(t, ws)
}

// dialRaw connects to the streamer at socket without starting a reader:
// nothing is read from the connection unless the test does.
func dialRaw(t testing.TB, socket string) *websocket.Conn {
	t.Helper()
	ws, _, err := dialWS("ws://docker-live"+stream.StreamPath, unixDialer(socket), nil)
	if err != nil {
		t.Fatalf("dialling the streamer at %s: %v", socket, err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func newWSClient(t testing.TB, ws *websocket.Conn) *wsClient {
	c := &wsClient{ws: ws, msgs: make(chan wsMsg, 1<<16), done: make(chan struct{})}
	go c.read()
	t.Cleanup(c.Close)
	return c
}

func (c *wsClient) read() {
	defer close(c.done)
	defer close(c.msgs)
	for {
		_, data, err := c.ws.ReadMessage()
		at := time.Now()
		if err != nil {
			c.err = err
			return
		}
		m := wsMsg{At: at, Raw: data}
		if err := json.Unmarshal(data, &m.Message); err != nil {
			c.err = fmt.Errorf("undecodable frame %q: %v", data, err)
			return
		}
		c.msgs <- m
	}
}

// Close ends the connection and waits for the reader. Safe to call twice.
func (c *wsClient) Close() {
	c.once.Do(func() {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.ws.Close()
	})
	<-c.done
}

// subscribe sends a subscribe request (the protocol version is filled in).
func (c *wsClient) subscribe(t testing.TB, sub stream.Subscription) {
	t.Helper()
	if err := writeSubscribe(c.ws, sub); err != nil {
		t.Fatalf("sending subscribe: %v", err)
	}
}

func writeSubscribe(ws *websocket.Conn, sub stream.Subscription) error {
	sub.Protocol = stream.ProtocolVersion
	_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return ws.WriteJSON(stream.Request{Type: stream.TypeSubscribe, Subscribe: &sub})
}

// next returns the next frame, failing the test when none comes within
// timeout or the connection ends.
func (c *wsClient) next(t testing.TB, timeout time.Duration) wsMsg {
	t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			<-c.done
			t.Fatalf("the streamer connection ended: %v", c.err)
		}
		return m
	case <-time.After(timeout):
		t.Fatalf("no frame from the streamer within %v", timeout)
	}
	return wsMsg{}
}

// waitMsg reads frames until match accepts one and returns it; frames read
// on the way are dropped.
func (c *wsClient) waitMsg(t testing.TB, timeout time.Duration, desc string, match func(wsMsg) bool) wsMsg {
	t.Helper()
	var found wsMsg
	c.collect(t, timeout, desc, func(m wsMsg) bool {
		if match(m) {
			found = m
			return true
		}
		return false
	})
	return found
}

// collect hands every frame to f until f returns true, failing the test
// with desc after timeout.
func (c *wsClient) collect(t testing.TB, timeout time.Duration, desc string, f func(wsMsg) bool) {
	t.Helper()
	deadline := time.After(timeout)
	var last string
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				<-c.done
				t.Fatalf("waiting for %s: the streamer connection ended: %v (last frame %.300s)", desc, c.err, last)
			}
			last = string(m.Raw)
			if f(m) {
				return
			}
		case <-deadline:
			t.Fatalf("waiting for %s: not within %v (last frame %.300s)", desc, timeout, last)
		}
	}
}

// hello reads the hello that opens a subscription and checks its basics.
func (c *wsClient) hello(t testing.TB) wsMsg {
	t.Helper()
	m := c.next(t, 10*time.Second)
	if m.Type != stream.TypeHello || m.Hello == nil {
		t.Fatalf("first frame is not a hello: %.300s", m.Raw)
	}
	if m.Hello.Protocol != stream.ProtocolVersion {
		t.Errorf("hello.protocol = %d, want %d", m.Hello.Protocol, stream.ProtocolVersion)
	}
	if m.Epoch == "" {
		t.Errorf("hello has no epoch: %.300s", m.Raw)
	}
	return m
}

// isSequenced reports whether a message type advances seq.
func isSequenced(typ string) bool {
	switch typ {
	case stream.TypeContainer, stream.TypeRemove, stream.TypeEvent, stream.TypeEngine:
		return true
	}
	return false
}

// eventOf reports whether m is the Engine event action (the part before any
// ": detail" must equal action, or the whole action must) about actor id.
func eventOf(m wsMsg, id, action string) bool {
	if m.Type != stream.TypeEvent || m.Event == nil || m.Event.Actor.ID != id {
		return false
	}
	a := string(m.Event.Action)
	base, _, _ := strings.Cut(a, ":")
	return a == action || base == action
}

// snapshotIDs returns the container ids of a snapshot message.
func snapshotIDs(m wsMsg) []string {
	if m.Snapshot == nil {
		return nil
	}
	ids := make([]string, 0, len(m.Snapshot.Containers))
	for _, c := range m.Snapshot.Containers {
		ids = append(ids, c.ID)
	}
	return ids
}

// closeReason drains a connection nobody read and describes how it ended:
// the close code when the streamer managed to send one, else the error.
func closeReason(ws *websocket.Conn, timeout time.Duration) (code int, err error) {
	deadline := time.Now().Add(timeout)
	for {
		_ = ws.SetReadDeadline(deadline)
		if _, _, err = ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, err
			}
			return 0, err
		}
	}
}

// latencySummary formats durations as n, min, median, p90 and max.
func latencySummary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	pick := func(q float64) time.Duration { return s[int(q*float64(len(s)-1))] }
	return fmt.Sprintf("n=%d min=%v median=%v p90=%v max=%v", len(s),
		s[0].Round(time.Microsecond), pick(0.5).Round(time.Microsecond), pick(0.9).Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond))
}
