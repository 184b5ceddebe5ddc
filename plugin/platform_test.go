package plugin

import (
	"runtime"
	"strings"
	"testing"

	"github.com/docker-live/docker-live/streamer"
)

// The values of <winbase.h>: a wrong bit would leave the streamer in the
// terminal's console, where closing it or Ctrl+C ends the streamer.
func TestDetachedCreationFlags(t *testing.T) {
	if detachedCreationFlags != 0x208 {
		t.Fatalf("creation flags %#x, want DETACHED_PROCESS|CREATE_NEW_PROCESS_GROUP = 0x208", detachedCreationFlags)
	}
}

func TestStatusNotesCgroupIsLinuxOnly(t *testing.T) {
	note := statsSourceNote()
	if streamer.CgroupStatsSupported && note != "" || !streamer.CgroupStatsSupported && !strings.Contains(note, "Linux only") {
		t.Fatalf("status note on %s: %q", runtime.GOOS, note)
	}
}
