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
	return &peerListener{Listener: l, want: self, peerOf: winsec.PipeClientSID, logf: logf}, nil
}
