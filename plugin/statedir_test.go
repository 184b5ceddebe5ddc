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
	"strings"
	"syscall"
	"testing"
	"time"
)

// testPaths is a state folder under a fresh temporary root.
func testPaths(t *testing.T) streamerPaths {
	t.Helper()
	return pathsForDir(filepath.Join(t.TempDir(), "live", "0123456789ab"))
}

// wantUnsafe checks that err is one line naming path and the problem.
func wantUnsafe(t *testing.T, err error, path, problem string) {
	t.Helper()
	var ue *unsafePathError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want a refusal of %s", err, path)
	}
	msg := err.Error()
	if !strings.Contains(msg, path) || !strings.Contains(msg, problem) || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming %s and saying %q", msg, path, problem)
	}
}

func TestEnsureDirMakesPrivateFolders(t *testing.T) {
	p := testPaths(t)
	old := syscall.Umask(0)
	err := p.ensureDir()
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Dir(p.Dir), p.Dir} {
		st, err := os.Lstat(dir)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v (%v), want 0700 under umask 0", dir, st.Mode().Perm(), err)
		}
	}
	if err := p.ensureDir(); err != nil {
		t.Errorf("a second ensureDir: %v", err)
	}
}

func TestEnsureDirRefusesASymlinkedKeyFolder(t *testing.T) {
	p := testPaths(t)
	target := t.TempDir() // an attacker's folder, or one of the victim's
	if err := os.MkdirAll(filepath.Dir(p.Dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p.Dir); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(target)
	wantUnsafe(t, p.ensureDir(), p.Dir, "symbolic link")
	after, _ := os.Stat(target)
	if before.Mode() != after.Mode() {
		t.Errorf("the link's target was chmod-ed from %v to %v", before.Mode(), after.Mode())
	}
}

func TestEnsureDirRefusesASymlinkedRoot(t *testing.T) {
	p := testPaths(t)
	if err := os.Symlink(t.TempDir(), filepath.Dir(p.Dir)); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, p.ensureDir(), filepath.Dir(p.Dir), "symbolic link")
}

func TestEnsureDirRefusesAFolderOthersMayWrite(t *testing.T) {
	p := testPaths(t)
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p.Dir, 0o777); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, p.ensureDir(), p.Dir, "group or others may write")
}

func TestEnsureDirRefusesAnotherUsersFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a folder to another uid needs root")
	}
	p := testPaths(t)
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p.Dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, p.ensureDir(), p.Dir, "owned by uid 65534")
}

func TestFilesInTheFolderAreNeverFollowed(t *testing.T) {
	p := testPaths(t)
	if err := p.ensureDir(); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{p.Lock, p.Log, p.Token, p.Info} {
		if err := os.Symlink(victim, link); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := lockFile(p.Lock); err == nil {
		t.Error("lockFile took a lock through a symbolic link")
	} else {
		wantUnsafe(t, err, p.Lock, "symbolic link")
	}
	if _, err := openRotatingLog(p.Log, serveLogMax, false); err == nil {
		t.Error("serve.log was opened through a symbolic link")
	} else {
		wantUnsafe(t, err, p.Log, "symbolic link")
	}
	if _, err := loadOrCreateToken(p.Token); err == nil {
		t.Error("a symlinked token was adopted")
	} else {
		wantUnsafe(t, err, p.Token, "symbolic link")
	}
	if _, err := readInfo(p.Info); err == nil {
		t.Error("a symlinked info.json was read")
	}
	st, _ := os.Stat(victim)
	data, _ := os.ReadFile(victim)
	if st.Mode().Perm() != 0o644 || string(data) != "precious\n" {
		t.Errorf("the link's target changed: mode %v, %q", st.Mode().Perm(), data)
	}
	// Writing info.json replaces the link; it never writes through it.
	if err := writeFile0600(p.Info, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "precious\n" {
		t.Errorf("writeFile0600 wrote through a link: %q", data)
	}
	if st, err := os.Lstat(p.Info); err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Errorf("info.json after the write: %v %v", st.Mode(), err)
	}
}

func TestTokenIsCreatedOnceAndKept(t *testing.T) {
	p := testPaths(t)
	if err := p.ensureDir(); err != nil {
		t.Fatal(err)
	}
	a, err := loadOrCreateToken(p.Token)
	if err != nil || len(a) != 64 {
		t.Fatalf("token %q, %v", a, err)
	}
	b, err := loadOrCreateToken(p.Token)
	if err != nil || string(a) != string(b) {
		t.Errorf("second load %q (%v), want the first %q", b, err, a)
	}
}

// A stale info.json naming a live process that is not our streamer (a PID
// reused after SIGKILL, or a planted file) must not be trusted: stop would
// signal it.
func TestStaleInfoNamingAnotherProcessIsNotTrusted(t *testing.T) {
	p := testPaths(t)
	if err := p.ensureDir(); err != nil {
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
	if err := p.ensureDir(); err != nil {
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

func TestServeLogRotatesKeepingOneOldFile(t *testing.T) {
	p := testPaths(t)
	if err := p.ensureDir(); err != nil {
		t.Fatal(err)
	}
	l, err := openRotatingLog(p.Log, 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	line := []byte(strings.Repeat("x", 99) + "\n")
	for range 35 {
		if _, err := l.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	cur, _ := os.Stat(p.Log)
	old, err := os.Stat(p.Log + ".1")
	if err != nil {
		t.Fatalf("no serve.log.1 after 3500 bytes with a 1000-byte cap: %v", err)
	}
	if cur.Size() > 1000 || old.Size() > 1000 {
		t.Errorf("serve.log %d bytes, serve.log.1 %d bytes: both must stay within the 1000-byte cap", cur.Size(), old.Size())
	}
	if cur.Size()+old.Size() < 1000 {
		t.Errorf("only %d bytes kept in all: rotation drops too much", cur.Size()+old.Size())
	}
	entries, _ := os.ReadDir(p.Dir)
	if len(entries) != 2 {
		t.Errorf("state folder holds %d files, want serve.log and serve.log.1", len(entries))
	}
}
