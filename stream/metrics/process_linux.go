package metrics

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// userHZ is the kernel's clock tick for /proc's times (USER_HZ, 100 on
// every Linux architecture Go supports; client_golang's procfs assumes it
// too).
const userHZ = 100

// bootTime is /proc/stat's btime, read once: it does not change.
var bootTime = sync.OnceValues(func() (float64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, os.ErrNotExist
})

// processFamilies reads the streamer's own process metrics from /proc,
// leaving out any it cannot read (a scrape never fails for them).
func processFamilies() []family {
	var out []family
	if st, err := os.ReadFile("/proc/self/stat"); err == nil {
		// The fields after the command name, which is in parentheses and
		// may hold anything, parentheses included.
		if i := bytes.LastIndexByte(st, ')'); i >= 0 {
			f := strings.Fields(string(st[i+1:]))
			if len(f) > 21 {
				num := func(i int) float64 { v, _ := strconv.ParseUint(f[i], 10, 64); return float64(v) }
				out = append(out,
					one("process_cpu_seconds_total", helpProcessCPU, counter, (num(11)+num(12))/userHZ),
					one("process_virtual_memory_bytes", helpProcessVsize, gauge, num(20)),
					one("process_resident_memory_bytes", helpProcessRSS, gauge, num(21)*float64(os.Getpagesize())))
				if boot, err := bootTime(); err == nil {
					out = append(out, one("process_start_time_seconds", helpProcessStart, gauge, boot+num(19)/userHZ))
				}
			}
		}
	}
	if n, err := openFDs(); err == nil {
		out = append(out, one("process_open_fds", helpProcessOpenFDs, gauge, float64(n)))
	}
	var files, as syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &files) == nil && syscall.Getrlimit(syscall.RLIMIT_AS, &as) == nil {
		out = append(out,
			one("process_max_fds", helpProcessMaxFDs, gauge, float64(files.Cur)),
			one("process_virtual_memory_max_bytes", helpProcessMaxVsize, gauge, float64(as.Cur)))
	}
	if in, outBytes, err := netOctets(); err == nil {
		out = append(out,
			one("process_network_receive_bytes_total", helpProcessNetIn, counter, in),
			one("process_network_transmit_bytes_total", helpProcessNetOut, counter, outBytes))
	}
	return out
}

// openFDs counts the process' descriptors: the size of /proc/self/fd
// where the kernel reports it (Linux 6.2 on), else its entries.
func openFDs() (int, error) {
	if fi, err := os.Stat("/proc/self/fd"); err == nil && fi.Size() > 0 {
		return int(fi.Size()), nil
	}
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	return len(names), err
}

// netOctets is IpExt's InOctets and OutOctets from /proc/self/net/netstat:
// the bytes of the process' network namespace, which is what client_golang
// reports as the process' own.
func netOctets() (in, out float64, err error) {
	data, err := os.ReadFile("/proc/self/net/netstat")
	if err != nil {
		return 0, 0, err
	}
	var names []string
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "IpExt:")
		if !ok {
			continue
		}
		if names == nil {
			names = strings.Fields(rest)
			continue
		}
		for i, v := range strings.Fields(rest) {
			if i >= len(names) {
				break
			}
			switch names[i] {
			case "InOctets":
				in, _ = strconv.ParseFloat(v, 64)
			case "OutOctets":
				out, _ = strconv.ParseFloat(v, 64)
			}
		}
		return in, out, nil
	}
	return 0, 0, nil
}
