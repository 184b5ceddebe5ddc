//go:build !windows

package streamer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// socketIn is the streamer's Unix socket in the state folder dir.
func socketIn(dir string) string {
	return filepath.Join(dir, "live.sock")
}

// makePrivate makes the state folder 0700 whatever the umask.
func makePrivate(dir string) error {
	return os.Chmod(dir, 0o700)
}

// checkWriters refuses a folder that group or others may write to.
func checkWriters(dir string, st fs.FileInfo) error {
	if st.Mode().Perm()&0o022 != 0 {
		return &UnsafePathError{dir, fmt.Sprintf("group or others may write to it (mode %04o; chmod go-w it)", st.Mode().Perm())}
	}
	return nil
}

// checkOwner refuses what another user owns.
func checkOwner(path string, st fs.FileInfo) error {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Getuid(); int(sys.Uid) != uid {
		return &UnsafePathError{path, fmt.Sprintf("it is owned by uid %d, not by you (uid %d)", sys.Uid, uid)}
	}
	return nil
}

// noFollow makes an open fail on a symbolic link instead of following it.
const noFollow = syscall.O_NOFOLLOW | syscall.O_CLOEXEC

// openNoFollow opens path with O_NOFOLLOW, and names a symbolic link.
func openNoFollow(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|noFollow, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &UnsafePathError{path, "it is a symbolic link (remove it)"}
	}
	return f, err
}

// lockNoWait takes flock's exclusive lock on f without waiting; ErrLocked
// when another process holds it.
func lockNoWait(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}

// ProcessAlive reports whether pid exists (signal 0 checks without sending).
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
