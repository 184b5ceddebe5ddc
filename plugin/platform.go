package plugin

import (
	"crypto/sha256"
	"encoding/hex"
)

// Windows process creation flags (from <winbase.h>), kept here rather than
// taken from x/sys/windows so that Linux tests check the value too.
const (
	detachedProcess       = 0x00000008 // DETACHED_PROCESS: no console
	createNewProcessGroup = 0x00000200 // CREATE_NEW_PROCESS_GROUP: no Ctrl+C from the parent's console

	detachedCreationFlags = detachedProcess | createNewProcessGroup
)

// pipeNameFor names the Windows named pipe of the state folder dir. Pipe
// names are machine-wide, not in a folder, so the name is derived from the
// folder's full path (which holds the user's profile and the streamer key).
func pipeNameFor(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return `\\.\pipe\docker-live-` + hex.EncodeToString(sum[:8])
}
