//go:build !windows

package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/docker-live/docker-live/internal/peercred"
)

// ListenUnix creates the socket at path, in a folder it makes 0700, with the
// socket itself 0600, and returns a listener that drops connections from
// any other uid (checked with SO_PEERCRED on Linux, LOCAL_PEERCRED on
// macOS: see peerUID) before any byte is read.
// A stale socket file at path is replaced; the caller must hold the
// streamer's lock, so it can be no live one's.
func ListenUnix(path string, logf func(string, ...any)) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &peerListener{Listener: l, want: uidName(uint32(os.Getuid())), peerOf: peerName, logf: logf}, nil
}

// peerName names the user at the other end of c by uid (SO_PEERCRED on
// Linux, LOCAL_PEERCRED on macOS: the one that called connect).
func peerName(c net.Conn) (string, error) {
	uid, err := peercred.UID(c)
	if err != nil {
		return "", err
	}
	return uidName(uid), nil
}

func uidName(uid uint32) string { return fmt.Sprintf("uid %d", uid) }
