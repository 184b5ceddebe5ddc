//go:build linux

package plugin

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// streamerMemoryLimit is a soft limit for the streamer's Go heap: the GC
// works harder as the heap nears it, rather than letting a start-up burst
// (listing and inspecting every container) set the level for hours.
const streamerMemoryLimit = 12 << 20

// trimStreamerMemory lowers what a long-lived streamer keeps resident.
// The plugin binary carries the whole docker CLI framework, and starting
// up (flags, contexts, config, client) touches most of its 18 MB of code
// and read-only data, which then stays mapped for the streamer's life
// while the steady state runs a small fraction of it. Dropping the
// read-only mappings of the executable from the page tables (the pages
// stay in the page cache, shared and clean) lets the kernel map back only
// what runs. Writable mappings are never touched: their contents would be
// lost.
func trimStreamerMemory() {
	debug.SetMemoryLimit(streamerMemoryLimit)
	debug.FreeOSMemory()
	exe, err := os.Executable()
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		// The raw call takes the addresses as they are: there is no Go
		// memory here to describe with a slice.
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED)
	}
}
