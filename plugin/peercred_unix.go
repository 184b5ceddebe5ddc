//go:build !windows

package plugin

import (
	"net"

	"github.com/docker-live/docker-live/internal/peercred"
)

// peerUID is the uid of the process at the other end of a Unix socket
// (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS: the one that called listen).
func peerUID(c net.Conn) (uint32, error) { return peercred.UID(c) }
