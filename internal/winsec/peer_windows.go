package winsec

import (
	"fmt"
	"net"

	"golang.org/x/sys/windows"
)

// CurrentUserSID is the SID of the user this process runs as.
func CurrentUserSID() (string, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", err
	}
	return u.User.Sid.String(), nil
}

// PipeClientSID is the user of the process that opened the client end of
// the named pipe connection c (as seen from the server).
func PipeClientSID(c net.Conn) (string, error) {
	return pipePeerSID(c, windows.GetNamedPipeClientProcessId)
}

// PipeServerSID is the user of the process that serves the named pipe
// connection c (as seen from a client).
func PipeServerSID(c net.Conn) (string, error) {
	return pipePeerSID(c, windows.GetNamedPipeServerProcessId)
}

func pipePeerSID(c net.Conn, peerPID func(windows.Handle, *uint32) error) (string, error) {
	fc, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return "", fmt.Errorf("not a named pipe connection")
	}
	var pid uint32
	if err := peerPID(windows.Handle(fc.Fd()), &pid); err != nil {
		return "", err
	}
	return ProcessSID(pid)
}

// ProcessSID is the user that process pid runs as. It fails for a process
// that has exited, or that we may not query.
func ProcessSID(pid uint32) (string, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return "", err
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return "", err
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return "", err
	}
	return u.User.Sid.String(), nil
}
