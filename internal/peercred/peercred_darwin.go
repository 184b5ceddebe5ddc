package peercred

import "golang.org/x/sys/unix"

// fdUID reads the peer's uid with LOCAL_PEERCRED (what getpeereid reads:
// the credentials the peer had when it called listen or connect).
func fdUID(fd int) (uint32, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return 0, err
	}
	return xucredUID(cred.Version, cred.Uid)
}
