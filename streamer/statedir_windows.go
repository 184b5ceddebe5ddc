package streamer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/windows"

	"github.com/docker-live/docker-live/internal/winsec"
)

// socketIn is the streamer's named pipe for the state folder dir (see
// docs/security.md for why a pipe and not an AF_UNIX socket).
func socketIn(dir string) string {
	return pipeNameFor(dir)
}

// makePrivate gives the state folder a protected ACL that admits only the
// current user; the files created in it inherit it. Mode bits mean nothing
// to Windows (os.Chmod only sets the read-only flag).
func makePrivate(dir string) error {
	self, err := winsec.CurrentUserSID()
	if err != nil {
		return err
	}
	sddl, err := winsec.DirSDDL(self)
	if err != nil {
		return err
	}
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return err
	}
	return windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
}

// checkWriters: the folder's owner was checked by checkOwner and our own
// folder gets a user-only ACL from makePrivate. Who else an ACL lets write
// is not analysed here (docs/security.md says so).
func checkWriters(dir string, st fs.FileInfo) error { return nil }

// checkOwner refuses what another user owns (the owner SID, read without
// following a reparse point's target only insofar as the caller Lstat-ed).
func checkOwner(path string, st fs.FileInfo) error {
	self, err := winsec.CurrentUserSID()
	if err != nil {
		return err
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return err
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return err
	}
	if o := owner.String(); !winsec.OwnerAllowed(o, self) {
		return &UnsafePathError{path, fmt.Sprintf("it is owned by %s, not by you (%s)", o, self)}
	}
	return nil
}

// noFollow: Windows' open has no O_NOFOLLOW; openNoFollow checks first.
const noFollow = syscall.O_CLOEXEC

// openNoFollow refuses a symbolic link or other reparse point at path, then
// opens it. Between the check and the open another process could swap the
// file, but only one that may write to the state folder, whose ACL admits
// only the user.
func openNoFollow(path string, flag int) (*os.File, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
		return nil, &UnsafePathError{path, "it is a symbolic link (remove it)"}
	}
	return os.OpenFile(path, flag|noFollow, 0o600)
}

// lockNoWait takes an exclusive LockFileEx lock on f's first byte without
// waiting; ErrLocked when another process holds it. Windows drops the lock
// when the handle closes or the process dies, as flock does.
func lockNoWait(f *os.File) error {
	var ol windows.Overlapped
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return ErrLocked
	}
	return err
}

// stillActive is STILL_ACTIVE, the exit code of a process that runs.
const stillActive = 259

// ProcessAlive reports whether pid runs (a process we may not query, being
// another user's, counts as alive, as EPERM does on Unix).
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return true
	}
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return false
	}
	return code == stillActive
}

// IsZombie: an exited Windows process is reported as not alive already.
func IsZombie(pid int) bool { return false }

// HoldsLock: Windows does not say which process holds a file lock, so a
// streamer is only verified by answering /v1/health with its own PID.
func HoldsLock(pid int, path string) bool { return false }
