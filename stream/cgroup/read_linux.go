//go:build linux

package cgroup

import (
	"io/fs"
	"syscall"
	"unsafe"
)

const supported = true

// openFile opens path for readAt0. A bare descriptor rather than an
// os.File: a read is then one pread, with no file lock or poller around it.
func openFile(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func closeFile(fd int) error { return syscall.Close(fd) }

// readAt0 reads the file open at fd from its start into buf (grown when too
// small) and returns the bytes read. pread at offset 0 makes cgroupfs and
// /proc format the contents afresh, as a new open would. With oneRecord
// the caller vouches that the kernel formats the whole file before copying
// any of it, as it does for every cgroup control file (one seq_file
// record): a read that leaves room in buf then got it all, and the read
// that would return 0 is spared.
func readAt0(fd int, buf *[]byte, oneRecord bool) ([]byte, error) {
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			b = grow(b)
		}
		n, err := syscall.Pread(fd, b[len(b):cap(b)], int64(len(b)))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			*buf = b[:0]
			return nil, err
		}
		if n == 0 {
			break
		}
		short := len(b)+n < cap(b)
		b = b[:len(b)+n]
		if oneRecord && short {
			break
		}
	}
	*buf = b[:0]
	return b, nil
}

// gone marks the errors a read of a held file gets once its container is
// gone as fs.ErrNotExist: kernfs answers ENODEV for a file of a removed
// cgroup, /proc ESRCH for a file of an exited process.
func gone(err error) error {
	if err == syscall.ENODEV || err == syscall.ESRCH {
		return goneError{err.(syscall.Errno)}
	}
	return err
}

type goneError struct{ errno syscall.Errno }

func (e goneError) Error() string        { return e.errno.Error() }
func (e goneError) Unwrap() error        { return e.errno }
func (e goneError) Is(target error) bool { return target == fs.ErrNotExist }

// readPrefix reads the file at path, a NUL-terminated byte string, into
// buf (grown when too small) and stops once done reports the bytes so far
// hold all the caller needs; /proc/stat's interrupt lines can be far longer
// than the cpu lines in front of them.
func readPrefix(path []byte, buf *[]byte, done func([]byte) bool) ([]byte, error) {
	fd, err := openRead(path)
	if err != nil {
		return nil, err
	}
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			b = grow(b)
		}
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			syscall.Close(fd)
			*buf = b[:0]
			return nil, err
		}
		b = b[:len(b)+n]
		if n == 0 || done(b) {
			break
		}
	}
	syscall.Close(fd)
	*buf = b[:0]
	return b, nil
}

func openRead(path []byte) (int, error) {
	for {
		fd, _, e := syscall.Syscall6(syscall.SYS_OPENAT, uintptr(atFDCWD),
			uintptr(unsafe.Pointer(&path[0])), uintptr(syscall.O_RDONLY|syscall.O_CLOEXEC), 0, 0, 0)
		switch e {
		case 0:
			return int(fd), nil
		case syscall.EINTR:
			continue
		default:
			return -1, e
		}
	}
}

// atFDCWD is AT_FDCWD, a variable so it converts to uintptr; syscall
// defines it only on some architectures.
var atFDCWD = -0x64

func grow(b []byte) []byte {
	n := make([]byte, len(b), 2*cap(b)+4096)
	copy(n, b)
	return n
}
