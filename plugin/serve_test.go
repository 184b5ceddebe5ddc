package plugin

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/streams"
	"github.com/moby/moby/client"
)

// fakeCli is the part of command.Cli that serveForeground uses, with an
// Engine client aimed at a socket that does not exist (no Engine needed).
// Any other method panics on the nil embedded interface.
type fakeCli struct {
	command.Cli
	outBuf, errBuf bytes.Buffer
	out, err       *streams.Out
	client         client.APIClient
}

func newFakeCli(t *testing.T) *fakeCli {
	t.Helper()
	c, err := client.New(client.WithHost("unix://" + filepath.Join(t.TempDir(), "no-engine.sock")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	f := &fakeCli{client: c}
	f.out, f.err = streams.NewOut(&f.outBuf), streams.NewOut(&f.errBuf)
	return f
}

func (f *fakeCli) Out() *streams.Out               { return f.out }
func (f *fakeCli) Err() *streams.Out               { return f.err }
func (f *fakeCli) Client() client.APIClient        { return f.client }
func (f *fakeCli) CurrentContext() string          { return "test" }
func (f *fakeCli) DockerEndpoint() docker.Endpoint { return docker.Endpoint{} }

// goroutinesOf lists the live goroutines that fn started (directly).
func goroutinesOf(fn string) []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "created by "+fn+" ") || strings.Contains(g, "created by "+fn+"\n") {
			found = append(found, g)
		}
	}
	return found
}

// TestServeForegroundEarlyErrorStopsEverything: a streamer that cannot
// listen returns its error with nothing it started still running (the hub,
// the source, the servers) and no socket or info.json left behind.
func TestServeForegroundEarlyErrorStopsEverything(t *testing.T) {
	cases := []struct {
		name    string
		socket  func(dir string) string
		listen  string
		wantErr string
	}{
		{
			name: "unix socket path too long",
			// A Unix socket path is limited to about 108 bytes.
			socket:  func(dir string) string { return filepath.Join(dir, strings.Repeat("s", 200)+".sock") },
			wantErr: "cannot listen on",
		},
		{
			name:    "tcp address refused",
			socket:  func(dir string) string { return filepath.Join(dir, "live.sock") },
			listen:  "256.0.0.1:0",
			wantErr: "cannot listen on 256.0.0.1:0",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root, err := os.MkdirTemp("", "dl-serve") // short: the socket path must fit
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(root) })
			dir := filepath.Join(root, "live", "k")
			paths := pathsForDir(dir)
			paths.Socket = tc.socket(dir)
			// Cancelled already: the streamer does not wait for an Engine
			// that is not there, and goes straight to listening.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err = serveForeground(ctx, newFakeCli(t), BuildInfo{Version: "test"}, paths,
				serveOptions{listen: tc.listen, statsSource: "api", history: time.Minute})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("serveForeground = %v, want an error with %q", err, tc.wantErr)
			}
			// serveForeground waits for what it started before it returns,
			// so nothing may be left at all: no waiting here.
			if left := goroutinesOf("github.com/docker-live/docker-live/plugin.serveForeground"); len(left) > 0 {
				t.Errorf("%d goroutines of serveForeground still run after it returned:\n%s", len(left), strings.Join(left, "\n\n"))
			}
			for _, f := range []string{paths.Socket, paths.Info} {
				if _, err := os.Stat(f); err == nil {
					t.Errorf("%s left behind", f)
				}
			}
		})
	}
}
