package hub

import (
	"time"

	"golang.org/x/sys/windows"
)

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var creation, exit, kernel, user windows.Filetime
	_ = windows.GetProcessTimes(windows.CurrentProcess(), &creation, &exit, &kernel, &user)
	// Filetimes count 100 ns intervals.
	ticks := (int64(kernel.HighDateTime)<<32 | int64(kernel.LowDateTime)) + (int64(user.HighDateTime)<<32 | int64(user.LowDateTime))
	return time.Duration(ticks * 100)
}
