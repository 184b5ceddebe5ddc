//go:build !windows

package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// testPaths is a state folder under a fresh temporary root.
func testPaths(t *testing.T) streamerPaths {
	t.Helper()
	return pathsForDir(filepath.Join(t.TempDir(), "live", "0123456789ab"))
}

// A stale info.json naming a live process that is not our streamer (a PID
// reused after SIGKILL, or a planted file) must not be trusted: stop would
// signal it.
func TestStaleInfoNamingAnotherProcessIsNotTrusted(t *testing.T) {
	p := testPaths(t)
	if err := p.EnsureDir(); err != nil {
		t.Fatal(err)
	}
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	data, _ := json.Marshal(streamerInfo{PID: other.Process.Pid, Socket: p.Socket})
	if err := writeFile0600(p.Info, data); err != nil {
		t.Fatal(err)
	}
	if _, ok := verifiedStreamer(context.Background(), p); ok {
		t.Fatal("a stale info.json naming an unrelated live process was trusted")
	}
	if _, err := os.Lstat(p.Info); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale info.json is still there (%v)", err)
	}
	if !processAlive(other.Process.Pid) {
		t.Error("the unrelated process died")
	}
}

// A process that holds the folder's lock is the streamer, even when its
// socket does not answer (stopped with SIGSTOP, say).
func TestLockHolderIsTrusted(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("holdsLock reads /proc/locks, which only Linux has")
	}
	p := testPaths(t)
	if err := p.EnsureDir(); err != nil {
		t.Fatal(err)
	}
	// flock(1) holds the lock on the file while it runs sleep.
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("no flock(1)")
	}
	if err := os.WriteFile(p.Lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	holder := exec.Command("flock", "-x", p.Lock, "sleep", "60")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for !holdsLock(holder.Process.Pid, p.Lock) {
		if time.Now().After(deadline) {
			t.Fatal("flock(1) did not take the lock within 10 s")
		}
		time.Sleep(10 * time.Millisecond) // poll interval while flock(1) starts
	}
	data, _ := json.Marshal(streamerInfo{PID: holder.Process.Pid, Socket: p.Socket})
	if err := writeFile0600(p.Info, data); err != nil {
		t.Fatal(err)
	}
	if _, ok := verifiedStreamer(context.Background(), p); !ok {
		t.Error("the lock holder was not recognised as the streamer")
	}
	if holdsLock(os.Getpid(), p.Lock) {
		t.Error("holdsLock names a process that holds no lock")
	}
}
