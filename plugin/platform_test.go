package plugin

import (
	"runtime"
	"strings"
	"testing"
)

// Pipe names are machine-wide: each state folder (user profile, context and
// endpoint) gets its own, and the same folder always the same one.
func TestPipeNameFor(t *testing.T) {
	a := pipeNameFor(`C:\Users\ana\.docker\live\0123456789ab`)
	b := pipeNameFor(`C:\Users\bob\.docker\live\0123456789ab`)
	if !strings.HasPrefix(a, `\\.\pipe\docker-live-`) || len(a) != len(`\\.\pipe\docker-live-`)+16 {
		t.Fatalf("pipe name %q", a)
	}
	if a == b {
		t.Fatalf("two users' folders share the pipe %q", a)
	}
	if again := pipeNameFor(`C:\Users\ana\.docker\live\0123456789ab`); again != a {
		t.Fatalf("pipe name changed: %q then %q", a, again)
	}
}

// The values of <winbase.h>: a wrong bit would leave the streamer in the
// terminal's console, where closing it or Ctrl+C ends the streamer.
func TestDetachedCreationFlags(t *testing.T) {
	if detachedCreationFlags != 0x208 {
		t.Fatalf("creation flags %#x, want DETACHED_PROCESS|CREATE_NEW_PROCESS_GROUP = 0x208", detachedCreationFlags)
	}
}

func TestCgroupSourceIsLinuxOnly(t *testing.T) {
	note := statsSourceNote()
	if cgroupStatsSupported != (runtime.GOOS == "linux") {
		t.Fatalf("cgroup stats supported on %s: %v", runtime.GOOS, cgroupStatsSupported)
	}
	if cgroupStatsSupported && note != "" || !cgroupStatsSupported && !strings.Contains(note, "Linux only") {
		t.Fatalf("status note on %s: %q", runtime.GOOS, note)
	}
	if !strings.Contains(errCgroupLinuxOnly.Error(), "use auto or api") {
		t.Fatalf("error does not say what to use instead: %v", errCgroupLinuxOnly)
	}
}
