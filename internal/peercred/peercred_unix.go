//go:build !windows

package peercred

import (
	"fmt"
	"net"
)

// UID is the uid of the process at the other end of a Unix socket
// connection: for a client, the one that called listen; for a server, the
// one that called connect. fdUID reads it with the platform's own call.
func UID(c net.Conn) (uint32, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, fmt.Errorf("not a Unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var uid uint32
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		uid, credErr = fdUID(int(fd))
	}); err != nil {
		return 0, err
	}
	return uid, credErr
}
