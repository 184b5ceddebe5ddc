// Package peercred reads who is at the other end of a local socket
// connection, with each Unix's own call (SO_PEERCRED on Linux,
// LOCAL_PEERCRED on macOS). Windows named pipes are in internal/winsec.
package peercred

import "fmt"

// xucredVersion is XUCRED_VERSION from macOS's <sys/ucred.h>: the only
// layout of struct xucred whose cr_uid we know how to read.
const xucredVersion = 0

// xucredUID checks the version of a macOS struct xucred before its uid is
// trusted. It is plain logic, so that Linux tests cover it too.
func xucredUID(version, uid uint32) (uint32, error) {
	if version != xucredVersion {
		return 0, fmt.Errorf("unknown peer credential version %d", version)
	}
	return uid, nil
}
