package plugin

import "github.com/docker-live/docker-live/streamer"

// Windows process creation flags (from <winbase.h>), kept here rather than
// taken from x/sys/windows so that Linux tests check the value too.
const (
	detachedProcess       = 0x00000008 // DETACHED_PROCESS: no console
	createNewProcessGroup = 0x00000200 // CREATE_NEW_PROCESS_GROUP: no Ctrl+C from the parent's console

	detachedCreationFlags = detachedProcess | createNewProcessGroup
)

// statsSourceNote is added to the stats source that `status` shows, so a
// user of auto on macOS or Windows sees why no container uses cgroup.
func statsSourceNote() string {
	if streamer.CgroupStatsSupported {
		return ""
	}
	return " (cgroup: Linux only)"
}
