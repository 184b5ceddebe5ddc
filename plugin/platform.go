package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
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

// cgroupStatsSupported: the cgroup stats source reads the Engine host's
// cgroup files, which only a Linux host has. On macOS and Windows the
// Engine runs in a VM (Docker Desktop), and stats come from the API.
const cgroupStatsSupported = runtime.GOOS == "linux"

// errCgroupLinuxOnly refuses --stats-source cgroup where it cannot work.
var errCgroupLinuxOnly = fmt.Errorf("invalid --stats-source cgroup: the cgroup source is Linux-only (on %s the Engine's cgroups are not on this host); use auto or api", runtime.GOOS)

// statsSourceNote is added to the stats source that `status` shows, so a
// user of auto on macOS or Windows sees why no container uses cgroup.
func statsSourceNote() string {
	if cgroupStatsSupported {
		return ""
	}
	return " (cgroup: Linux only)"
}

// statsModeHere is the mode the source runs in: auto is api where no cgroup
// can be read, rather than a failed cgroup probe for every container.
func statsModeHere(requested string) string {
	if requested == "auto" && !cgroupStatsSupported {
		return "api"
	}
	return requested
}
