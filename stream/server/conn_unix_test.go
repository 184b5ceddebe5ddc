//go:build !windows

package server

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// The write pump's tests that need a served streamer (the helpers of
// server_test.go, which listen on a Unix socket).

// The client's pings are answered by the write pump, the connection's only
// writer, and the answer carries the ping's data.
func TestClientPingIsAnswered(t *testing.T) {
	leakCheck(t)
	h := hub.New(hub.Config{})
	ts := startServer(t, h, Config{})
	ws := ts.dial(t, nil)
	send(t, ws, subscribeReq(stream.Subscription{Topics: []string{stream.TopicEvents}}))
	if m := read(t, ws); m.Type != stream.TypeHello {
		t.Fatalf("first message %s, want hello", m.Type)
	}
	var pong []string
	ws.SetPongHandler(func(data string) error {
		pong = append(pong, data)
		return nil
	})
	if err := ws.WriteControl(websocket.PingMessage, []byte("p1"), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The pong handler runs inside the reads, and a read returns only with
	// a message: publish events, and read each, until the pong came.
	deadline := time.Now().Add(10 * time.Second)
	for i := 1; len(pong) == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no pong within 10s (%d events read meanwhile)", i-1)
		}
		h.Event(bigEvent(i, 10))
		for {
			m, err := readErr(ws, 10*time.Second)
			if err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
			if eventN(m) == i {
				break
			}
		}
	}
	if pong[0] != "p1" {
		t.Errorf("pong carries %q, want p1", pong[0])
	}
}

// Over TLS the write pump's frames go through the TLS connection: a wss
// client reads the hello and a batch of events whole.
func TestStreamOverTLS(t *testing.T) {
	leakCheck(t)
	s := newTLSSetup(t, nil)
	ts := startTLSServer(t, s.files)
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool(s.ca)}, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial("wss://"+ts.addr+stream.StreamPath, http.Header{"Authorization": {"Bearer " + testToken}})
	if err != nil {
		t.Fatalf("dial: %v (%s)", err, statusOf(resp))
	}
	defer ws.Close()
	send(t, ws, subscribeReq(stream.Subscription{Topics: []string{stream.TopicEvents}}))
	if m := read(t, ws); m.Type != stream.TypeHello {
		t.Fatalf("first message %s, want hello", m.Type)
	}
	for i := 1; i <= 20; i++ {
		ts.hub.Event(bigEvent(i, 100*i))
	}
	for i := 1; i <= 20; i++ {
		if m := read(t, ws); eventN(m) != i || len(m.Event.Actor.Attributes["pad"]) != 100*i {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
}
