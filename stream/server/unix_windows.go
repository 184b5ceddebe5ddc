package server

import (
	"net"

	"github.com/Microsoft/go-winio"

	"github.com/docker-live/docker-live/internal/winsec"
)

// ListenUnix, on Windows, creates the named pipe path (\\.\pipe\...) with a
// security descriptor that admits only the current user, and returns a
// listener that also drops a connection whose client process runs as
// another user (read with GetNamedPipeClientProcessId) before any byte is
// read. go-winio creates the first instance with FILE_FLAG_FIRST_PIPE_INSTANCE
// (so a pipe of that name made first by someone else is an error, not
// shared) and rejects remote clients. docs/security.md says why a pipe and
// not an AF_UNIX socket.
func ListenUnix(path string, logf func(string, ...any)) (net.Listener, error) {
	self, err := winsec.CurrentUserSID()
	if err != nil {
		return nil, err
	}
	sddl, err := winsec.PipeSDDL(self)
	if err != nil {
		return nil, err
	}
	l, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: sddl})
	if err != nil {
		return nil, err
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &peerListener{Listener: l, sid: self, logf: logf}, nil
}

type peerListener struct {
	net.Listener
	sid  string
	logf func(string, ...any)
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		sid, err := winsec.PipeClientSID(c)
		if err == nil && sid == l.sid {
			return c, nil
		}
		if err != nil {
			l.logf("refused a connection: cannot read who its client is: %v", err)
		} else {
			l.logf("refused a connection from %s: only %s may connect", sid, l.sid)
		}
		c.Close()
	}
}
