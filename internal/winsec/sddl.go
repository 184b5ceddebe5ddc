// Package winsec holds what docker live needs of Windows security: the
// security descriptors that admit only the current user, and (on Windows)
// who is at the other end of a named pipe. The descriptor strings are
// plain logic, built and tested on every platform.
package winsec

import (
	"fmt"
	"regexp"
)

// sidPattern is the string form of a security identifier, e.g.
// S-1-5-21-3623811015-3361044348-30300820-1013.
var sidPattern = regexp.MustCompile(`^S-1(-[0-9]+){1,15}$`)

// PipeSDDL is the security descriptor of the streamer's named pipe: a
// protected DACL ("P": nothing inherited) with one entry granting generic
// all ("GA") to sid. Everyone else, SYSTEM and Administrators included,
// is denied by its absence; the kernel checks it when a client opens the
// pipe, before the streamer reads a byte.
func PipeSDDL(sid string) (string, error) {
	if !sidPattern.MatchString(sid) {
		return "", fmt.Errorf("not a security identifier: %q", sid)
	}
	return "D:P(A;;GA;;;" + sid + ")", nil
}

// DirSDDL is the security descriptor of a state folder: a protected DACL
// granting full access ("FA") to sid only, inherited by the files and
// folders created in it ("OICI").
func DirSDDL(sid string) (string, error) {
	if !sidPattern.MatchString(sid) {
		return "", fmt.Errorf("not a security identifier: %q", sid)
	}
	return "D:P(A;OICI;FA;;;" + sid + ")", nil
}

// administratorsSID is BUILTIN\Administrators. An elevated process of the
// user creates files owned by this group rather than by the user.
const administratorsSID = "S-1-5-32-544"

// OwnerAllowed reports whether a file owned by owner may be trusted by the
// user whose SID is self: their own, or one the Administrators group owns
// (who can replace anything on the machine anyway).
func OwnerAllowed(owner, self string) bool {
	return owner == self || owner == administratorsSID
}
