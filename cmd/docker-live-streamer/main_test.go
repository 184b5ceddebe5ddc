//go:build !windows

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersionFlag(t *testing.T) {
	code, out, _ := runArgs(t, "--version")
	if code != 0 || out != fmt.Sprintf("docker-live-streamer %s (commit %s)\n", version, commit) {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

// A plugin of another version gets one line on stderr and, on the ready
// pipe, the streamer's own version, so it can say which pair is wrong.
func TestRefusesAnotherPluginVersion(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// run closes the write end it is handed (as the streamer does with its
	// inherited descriptor); dup it so the test's own stays valid.
	fd, err := dupFD(w)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	code, _, errOut := runArgs(t, "--expect-version=not-"+version, fmt.Sprintf("--ready-fd=%d", fd))
	if code != exitMismatch {
		t.Errorf("exit %d, want %d", code, exitMismatch)
	}
	if msg := strings.TrimSpace(errOut); strings.Contains(msg, "\n") || !strings.Contains(msg, "not-"+version) || !strings.Contains(msg, "reinstall") {
		t.Errorf("stderr %q: want one line naming both versions and the fix", errOut)
	}
	line, _ := bufio.NewReader(r).ReadString('\n')
	if line != "mismatch "+version+"\n" {
		t.Errorf("ready pipe got %q", line)
	}
}

func TestBadFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"},
		{"--detach"},
		{"--stats-source", "x"},
		{"extra"},
	} {
		if code, _, errOut := runArgs(t, args...); code != exitUsage || strings.TrimSpace(errOut) == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and a message", args, code, errOut, exitUsage)
		}
	}
}

// The foreground streamer stops when the docker CLI closes its plugin
// socket, as the plugin did before it became this binary.
func TestWatchPluginSocketCancelsOnClose(t *testing.T) {
	dir, err := os.MkdirTemp("", "dlps") // short: a Unix socket path
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv(pluginSocketEnv, l.Addr().String())
	cancelled := make(chan struct{})
	watchPluginSocket(func() { close(cancelled) })
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
		t.Fatal("cancelled while the CLI still holds the socket")
	default:
	}
	c.Close()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("not cancelled within 10 s of the CLI closing the socket")
	}
}

func TestDefaultStateDirIsDockerLives(t *testing.T) {
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	cfg, err := configure(handOff{context: "default"}, DefaultOptionsForTest())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.Paths.Dir, filepath.Join(cfgDir, "live")+string(filepath.Separator)) || cfg.Endpoint != "unix:///nonexistent.sock" {
		t.Errorf("state folder %s, endpoint %s", cfg.Paths.Dir, cfg.Endpoint)
	}
}
