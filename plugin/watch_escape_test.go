package plugin

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/liveclient"
)

// startFakeStreamer serves a fake streamer (no hub, no Engine) on a Unix
// socket: it answers every subscribe with a hello and a snapshot of
// containers, whatever their names. The Engine refuses names with control
// characters; a hostile socket need not.
func startFakeStreamer(t *testing.T, containers []stream.Container) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "live.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var up websocket.Upgrader
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		var req stream.Request
		if err := ws.ReadJSON(&req); err != nil {
			return
		}
		now := time.Now()
		engine := stream.EngineStatus{State: stream.EngineConnected}
		_ = ws.WriteJSON(stream.Message{Type: stream.TypeHello, Epoch: "fake", Time: now, Hello: &stream.Hello{Protocol: stream.ProtocolVersion, Engine: engine, StatsInterval: "1s"}})
		_ = ws.WriteJSON(stream.Message{Type: stream.TypeSnapshot, Epoch: "fake", Time: now, Snapshot: &stream.Snapshot{Engine: engine, Containers: containers}})
		_, _, _ = ws.ReadMessage() // until the client goes
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return path
}

// TestWatchShowsHostileNamesEscaped: a container name with escape codes,
// from a fake streamer, reaches watch's output escaped, in the table and
// in a template, so it can neither retitle nor clear the terminal.
func TestWatchShowsHostileNamesEscaped(t *testing.T) {
	const name = "evil\x1b]0;pwned\a\x1b[2J\u009b"
	socket := startFakeStreamer(t, []stream.Container{{
		ID: strings.Repeat("e", 64), Name: "/" + name, Image: "img\x1b[31m", State: "exited", Status: "Exited (0)\x1b[H",
	}})
	for _, format := range []string{"table", "{{.Name}} {{.Image}} {{.Status}}"} {
		t.Run(format, func(t *testing.T) {
			wf, err := output.ParseWatchFormat(format)
			if err != nil {
				t.Fatal(err)
			}
			wv := &watchView{opts: watchOptions{all: true, sort: "name", interval: time.Second, noStream: true}, format: wf}
			state := newWatchState()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			runErr := make(chan error, 1)
			go func() {
				runErr <- liveclient.Run(ctx, liveclient.Options{
					Dial:         func(ctx context.Context) (net.Conn, error) { return dialChecked(ctx, socket) },
					Subscription: stream.Subscription{Topics: []string{stream.TopicContainers, stream.TopicStats}},
					OnState:      state.setConn,
				}, state.Apply)
			}()
			var out bytes.Buffer
			if err := watchOnce(ctx, &out, wv, state, runErr); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if !strings.Contains(got, `evil\x1b]0;pwned\x07\x1b[2J\u009b`) {
				t.Errorf("the name is not shown escaped:\n%q", got)
			}
			if strings.ContainsAny(got, "\x1b\a\u009b") {
				t.Errorf("raw control characters reach the terminal:\n%q", got)
			}
		})
	}
}
