package server

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// frameWriter's frames, written in one batch past gorilla's writer, are
// read by a gorilla client as the same messages, in order, at every size
// where the header's length encoding changes (125/126, 65535/65536) and
// around bigFrame, where a message is written on its own.
func TestFrameWriterBatchIsReadAsMessages(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 300, 65535, 65536, 70000, bigFrame - 1, bigFrame, 5, 1 << 20, 2}
	var want [][]byte
	for i, n := range sizes {
		want = append(want, bytes.Repeat([]byte{byte('a' + i%26)}, n))
	}
	upgrader := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		var fw frameWriter
		// Twice, so that the second batch reuses the buffer of the first.
		for range 2 {
			if err := fw.writeFrames(ws.UnderlyingConn(), want); err != nil {
				t.Errorf("writeFrames: %v", err)
				return
			}
		}
		if cap(fw.buf) > keptBuffer {
			t.Errorf("kept a %d-byte buffer, over %d", cap(fw.buf), keptBuffer)
		}
		_, _, _ = ws.ReadMessage() // until the client closes
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for round := range 2 {
		for i, w := range want {
			kind, got, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("round %d, message %d (%d bytes): %v", round, i, len(w), err)
			}
			if kind != websocket.TextMessage || !bytes.Equal(got, w) {
				t.Fatalf("round %d, message %d: kind %d, %d bytes; want text, %d bytes", round, i, kind, len(got), len(w))
			}
		}
	}
}

func TestAppendFrameHeader(t *testing.T) {
	cases := []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, c := range cases {
		if got := appendFrameHeader(nil, c.n); !bytes.Equal(got, c.want) {
			t.Errorf("appendFrameHeader(%d) = %x, want %x", c.n, got, c.want)
		}
	}
}

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
