package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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
