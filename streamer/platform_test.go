package streamer

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

func TestCgroupSourceIsLinuxOnly(t *testing.T) {
	if CgroupStatsSupported != (runtime.GOOS == "linux") {
		t.Fatalf("cgroup stats supported on %s: %v", runtime.GOOS, CgroupStatsSupported)
	}
	if !strings.Contains(ErrCgroupLinuxOnly.Error(), "use auto or api") {
		t.Fatalf("error does not say what to use instead: %v", ErrCgroupLinuxOnly)
	}
	if want := map[bool]string{true: "api", false: "auto"}[!CgroupStatsSupported]; statsModeHere("auto") != want {
		t.Fatalf("auto runs as %q on %s, want %q", statsModeHere("auto"), runtime.GOOS, want)
	}
}
