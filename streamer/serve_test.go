package streamer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// noEngine is an Engine client aimed at a socket that does not exist (no
// Engine needed).
func noEngine(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(client.WithHost("unix://" + filepath.Join(t.TempDir(), "no-engine.sock")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// goroutinesOf lists the live goroutines that fn started (directly).
func goroutinesOf(fn string) []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "created by "+fn+" ") || strings.Contains(g, "created by "+fn+"\n") || strings.Contains(g, "created by "+fn+".func") {
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
			paths := PathsForDir(dir)
			paths.Socket = tc.socket(dir)
			// Cancelled already: the streamer does not wait for an Engine
			// that is not there, and goes straight to listening.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var stderr bytes.Buffer
			err = Run(ctx, Config{
				Options: Options{Listen: tc.listen, StatsSource: "api", History: time.Minute, MaxConns: 10},
				Paths:   paths, Context: "test", Client: noEngine(t), Version: "test", Stderr: &stderr,
			})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Run = %v, want an error with %q", err, tc.wantErr)
			}
			// Run waits for what it started before it returns. What it
			// waits on is each goroutine's last act (a deferred close),
			// so a goroutine may still be on its way out for a moment,
			// hence the short deadline; one that leaked stays.
			left := goroutinesOf("github.com/docker-live/docker-live/streamer.Run")
			for deadline := time.Now().Add(2 * time.Second); len(left) > 0 && time.Now().Before(deadline); {
				runtime.Gosched()
				left = goroutinesOf("github.com/docker-live/docker-live/streamer.Run")
			}
			if len(left) > 0 {
				t.Errorf("%d goroutines of Run still run after it returned:\n%s", len(left), strings.Join(left, "\n\n"))
			}
			for _, f := range []string{paths.Socket, paths.Info} {
				if _, err := os.Stat(f); err == nil {
					t.Errorf("%s left behind", f)
				}
			}
		})
	}
}
