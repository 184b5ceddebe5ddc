package streamer

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// IsZombie reports a process that has exited but was not reaped yet (a
// detached streamer's parent may be gone only later).
func IsZombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// HoldsLock reports whether process pid holds the flock on path, from
// /proc/locks, whose lines read
// "1: FLOCK  ADVISORY  WRITE 2217 08:01:1234567 0 EOF" (device in hex,
// inode in decimal).
func HoldsLock(pid int, path string) bool {
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	major := (sys.Dev>>8)&0xfff | (sys.Dev>>32)&^0xfff
	minor := sys.Dev&0xff | (sys.Dev>>12)&^0xff
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, sys.Ino)
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" { // "->" marks a waiter, not a holder
			continue
		}
		if f[4] == strconv.Itoa(pid) && f[5] == want {
			return true
		}
	}
	return false
}
