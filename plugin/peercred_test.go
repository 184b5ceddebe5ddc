//go:build !windows

package plugin

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listenAsEnv switches the test binary into a listener on the socket it
// names (see init): how the test serves a socket as another OS user.
const listenAsEnv = "DLIVE_TEST_LISTEN"

func init() {
	if path := os.Getenv(listenAsEnv); path != "" {
		l, err := net.Listen("unix", path)
		if err != nil {
			os.Exit(3)
		}
		for {
			c, err := l.Accept()
			if err != nil {
				os.Exit(4)
			}
			defer c.Close()
		}
	}
}

func TestDialAcceptsOwnStreamer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := dialChecked(context.Background(), path)
	if err != nil {
		t.Fatalf("our own socket was refused: %v", err)
	}
	c.Close()
}

// TestDialRefusesAnotherUsersSocket: a socket served by another uid (a
// fake streamer planted in the folder) is refused before a byte is read.
func TestDialRefusesAnotherUsersSocket(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("serving a socket as another uid needs root")
	}
	// Not t.TempDir: its parent is 0700, closed to the other user.
	dir, err := os.MkdirTemp("", "dlpeer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "plugin.test")
	copyExecutable(t, bin)
	path := filepath.Join(dir, "live.sock")
	cmd := exec.Command(bin)
	cmd.Env = []string{listenAsEnv + "=" + path}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dialChecked(context.Background(), path)
		if err == nil {
			c.Close()
			t.Fatal("a socket served by uid 65534 was accepted")
		}
		var ue *unsafePathError
		if errors.As(err, &ue) {
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "served by uid 65534") {
				t.Errorf("refusal %q: want it to name the socket and the uid", msg)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other user's listener did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval while the child starts
	}
}

// copyExecutable copies the running test binary to dst, executable by all.
func copyExecutable(t *testing.T, dst string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
