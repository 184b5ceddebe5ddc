package streamer

import (
	"errors"
	"io/fs"
	"os"
	"sync"
)

// serveLogMax is the size at which a detached streamer's serve.log is
// rotated to serve.log.1 (the one old file kept), so that nothing the
// streamer logs can fill the disk.
const serveLogMax = 4 << 20

// rotatingLog is serve.log as the detached streamer writes it. Its stdout
// and stderr follow each rotation, so that what the Go runtime itself
// writes there (a panic) lands in the current file.
type rotatingLog struct {
	path        string
	max         int64
	followStdio bool
	mu          sync.Mutex
	f           *os.File
	size        int64
}

// openRotatingLog opens path for appending, rotating it first when it is
// already over max. followStdio points fds 1 and 2 at the file.
func openRotatingLog(path string, max int64, followStdio bool) (*rotatingLog, error) {
	l := &rotatingLog{path: path, max: max, followStdio: followStdio}
	if err := l.open(); err != nil {
		return nil, err
	}
	if l.size >= max {
		l.rotate()
	}
	return l, nil
}

func (l *rotatingLog) open() error {
	f, err := OpenPrivate(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if l.followStdio {
		redirectStdio(f)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.size = f, st.Size()
	return nil
}

// rotate renames the file to path.1 (replacing the older one; rename
// replaces a link there rather than follow it) and starts a new one. When
// that fails the log goes on in the old file rather than get lost.
func (l *rotatingLog) rotate() {
	if err := os.Rename(l.path, l.path+".1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	_ = l.open()
}

func (l *rotatingLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.size+int64(len(p)) > l.max && l.size > 0 {
		l.rotate()
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// Close closes the current file.
func (l *rotatingLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
