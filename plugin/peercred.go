//go:build !windows

package plugin

import (
	"context"
	"fmt"
	"net"
	"os"
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
		return &unsafePathError{Path: socket, Why: fmt.Sprintf("it is served by uid %d, not by you (uid %d) or root", uid, own)}
	}
	return nil
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
