package plugin

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"
)

// checkPeer refuses a streamer socket served by anyone but the current
// user or root. The state folder is checked too, but a client that dials
// must not take a stranger's word for containers (a fake streamer could
// show invented ones, or steer the terminal with escape codes in names).
func checkPeer(c net.Conn, socket string) error {
	uid, err := peerUID(c)
	if err != nil {
		return fmt.Errorf("cannot check who serves %s: %v", socket, err)
	}
	if own := uint32(os.Getuid()); uid != own && uid != 0 {
		return &unsafePathError{socket, fmt.Sprintf("it is served by uid %d, not by you (uid %d) or root", uid, own)}
	}
	return nil
}

// peerUID is the uid of the process at the other end of a Unix socket
// (SO_PEERCRED: the one that called listen).
func peerUID(c net.Conn) (uint32, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, fmt.Errorf("not a Unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, credErr
	}
	return cred.Uid, nil
}

// dialChecked dials a streamer's socket and checks its peer.
func dialChecked(ctx context.Context, socket string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, err
	}
	if err := checkPeer(c, socket); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
