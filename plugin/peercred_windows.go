package plugin

import (
	"context"
	"fmt"
	"net"

	"github.com/Microsoft/go-winio"

	"github.com/docker-live/docker-live/internal/winsec"
)

// checkPeer refuses a streamer pipe served by anyone but the current user.
// Pipe names are machine-wide: another user could create ours first, and
// a client must not take that stranger's word for containers. The server's
// process is found with GetNamedPipeServerProcessId and its token's user
// compared with ours.
func checkPeer(c net.Conn, socket string) error {
	self, err := winsec.CurrentUserSID()
	if err != nil {
		return fmt.Errorf("cannot check who serves %s: %v", socket, err)
	}
	sid, err := winsec.PipeServerSID(c)
	if err != nil {
		return fmt.Errorf("cannot check who serves %s: %v", socket, err)
	}
	if sid != self {
		return &unsafePathError{Path: socket, Why: fmt.Sprintf("it is served by %s, not by you (%s)", sid, self)}
	}
	return nil
}

// dialChecked dials a streamer's named pipe and checks its server.
func dialChecked(ctx context.Context, socket string) (net.Conn, error) {
	c, err := winio.DialPipeContext(ctx, socket)
	if err != nil {
		return nil, err
	}
	if err := checkPeer(c, socket); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
