package peercred

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// UID is the uid of the process at the other end of a Unix socket
// connection (LOCAL_PEERCRED, which getpeereid reads: the credentials the
// peer had when it called listen or connect).
func UID(c net.Conn) (uint32, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, fmt.Errorf("not a Unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Xucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, credErr
	}
	return xucredUID(cred.Version, cred.Uid)
}
