//go:build unix && !linux

package metrics

import (
	"os"
	"syscall"
	"time"
)

// processFamilies reports what a Unix other than Linux gives without cgo:
// CPU time from getrusage, descriptors from /dev/fd and the soft limits.
// client_golang reports the same there, plus the start time and, with
// cgo, memory.
func processFamilies() []family {
	var out []family
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		out = append(out, one("process_cpu_seconds_total", helpProcessCPU, counter, cpu.Seconds()))
	}
	if d, err := os.Open("/dev/fd"); err == nil {
		names, err := d.Readdirnames(-1)
		d.Close()
		if err == nil {
			// Opening /dev/fd took a descriptor of its own.
			out = append(out, one("process_open_fds", helpProcessOpenFDs, gauge, float64(len(names)-1)))
		}
	}
	var files, as syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &files) == nil && syscall.Getrlimit(syscall.RLIMIT_AS, &as) == nil {
		out = append(out,
			one("process_max_fds", helpProcessMaxFDs, gauge, float64(files.Cur)),
			one("process_virtual_memory_max_bytes", helpProcessMaxVsize, gauge, float64(as.Cur)))
	}
	return out
}
