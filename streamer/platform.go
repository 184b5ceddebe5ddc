package streamer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
)

// pipeNameFor names the Windows named pipe of the state folder dir. Pipe
// names are machine-wide, not in a folder, so the name is derived from the
// folder's full path (which holds the user's profile and the streamer key).
func pipeNameFor(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return `\\.\pipe\docker-live-` + hex.EncodeToString(sum[:8])
}

// CgroupStatsSupported: the cgroup stats source reads the Engine host's
// cgroup files, which only a Linux host has. On macOS and Windows the
// Engine runs in a VM (Docker Desktop), and stats come from the API.
const CgroupStatsSupported = runtime.GOOS == "linux"

// ErrCgroupLinuxOnly refuses --stats-source cgroup where it cannot work.
var ErrCgroupLinuxOnly = fmt.Errorf("invalid --stats-source cgroup: the cgroup source is Linux-only (on %s the Engine's cgroups are not on this host); use auto or api", runtime.GOOS)

// statsModeHere is the mode the source runs in: auto is api where no cgroup
// can be read, rather than a failed cgroup probe for every container.
func statsModeHere(requested string) string {
	if requested == "auto" && !CgroupStatsSupported {
		return "api"
	}
	return requested
}
