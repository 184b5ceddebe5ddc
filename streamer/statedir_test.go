//go:build !windows

package streamer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// testPaths is a state folder under a fresh temporary root.
func testPaths(t *testing.T) Paths {
	t.Helper()
	return PathsForDir(filepath.Join(t.TempDir(), "live", "0123456789ab"))
}

// wantUnsafe checks that err is one line naming path and the problem.
func wantUnsafe(t *testing.T, err error, path, problem string) {
	t.Helper()
	var ue *UnsafePathError
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
	err := p.EnsureDir()
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
	if err := p.EnsureDir(); err != nil {
		t.Errorf("a second EnsureDir: %v", err)
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
	wantUnsafe(t, p.EnsureDir(), p.Dir, "symbolic link")
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
	wantUnsafe(t, p.EnsureDir(), filepath.Dir(p.Dir), "symbolic link")
}

func TestEnsureDirRefusesAFolderOthersMayWrite(t *testing.T) {
	p := testPaths(t)
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p.Dir, 0o777); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, p.EnsureDir(), p.Dir, "group or others may write")
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
	wantUnsafe(t, p.EnsureDir(), p.Dir, "owned by uid 65534")
}

func TestFilesInTheFolderAreNeverFollowed(t *testing.T) {
	p := testPaths(t)
	if err := p.EnsureDir(); err != nil {
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
	if _, err := LockFile(p.Lock); err == nil {
		t.Error("LockFile took a lock through a symbolic link")
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
	if _, err := ReadInfo(p.Info); err == nil {
		t.Error("a symlinked info.json was read")
	}
	st, _ := os.Stat(victim)
	data, _ := os.ReadFile(victim)
	if st.Mode().Perm() != 0o644 || string(data) != "precious\n" {
		t.Errorf("the link's target changed: mode %v, %q", st.Mode().Perm(), data)
	}
	// Writing info.json replaces the link; it never writes through it.
	if err := WriteFile0600(p.Info, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "precious\n" {
		t.Errorf("WriteFile0600 wrote through a link: %q", data)
	}
	if st, err := os.Lstat(p.Info); err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Errorf("info.json after the write: %v %v", st.Mode(), err)
	}
}

func TestTokenIsCreatedOnceAndKept(t *testing.T) {
	p := testPaths(t)
	if err := p.EnsureDir(); err != nil {
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

func TestServeLogRotatesKeepingOneOldFile(t *testing.T) {
	p := testPaths(t)
	if err := p.EnsureDir(); err != nil {
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
