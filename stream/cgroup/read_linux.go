//go:build linux

package cgroup

import (
	"syscall"
	"unsafe"
)

const supported = true

// readFile reads the whole file at path, a NUL-terminated byte string, into
// buf (grown when too small) and returns the bytes read. It goes straight
// to openat/read/close: os.Open would allocate a File, register it with the
// poller and build a C string for every one of the few dozen files a pass
// reads per container. The descriptor is closed before it returns.
func readFile(path []byte, buf *[]byte) ([]byte, error) {
	fd, err := openRead(path)
	if err != nil {
		return nil, err
	}
	b, err := readAll(fd, (*buf)[:0])
	syscall.Close(fd)
	*buf = b[:0]
	return b, err
}

// readPrefix is readFile that stops once done reports the bytes so far
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

func readAll(fd int, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = grow(b)
		}
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return b, err
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}

func grow(b []byte) []byte {
	n := make([]byte, len(b), 2*cap(b)+4096)
	copy(n, b)
	return n
}
