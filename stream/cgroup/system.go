package cgroup

import (
	"bytes"
	"fmt"
	"path/filepath"
)

// System is what a pass reads once for all containers, as the Engine's
// stats collector does once per tick.
type System struct {
	// CPUUsage is the Engine's system_cpu_usage: the first seven fields of
	// /proc/stat's "cpu" line (user nice system idle iowait irq softirq; no
	// steal) in USER_HZ ticks, which Linux fixes at 100 a second, in ns.
	CPUUsage uint64
	// OnlineCPUs is the Engine's online_cpus: the cpuN lines of
	// /proc/stat, one per online CPU (what sysconf(_SC_NPROCESSORS_ONLN)
	// counts, which Engine 20.10 calls).
	OnlineCPUs uint32
	// MemTotal is /proc/meminfo's MemTotal in bytes: the Engine reports it
	// as the limit of a container without one.
	MemTotal uint64
}

const nsPerTick = 1e9 / 100

// ReadSystem reads /proc/stat and /proc/meminfo under procRoot ("" for
// /proc).
func ReadSystem(procRoot string) (*System, error) {
	if !supported {
		return nil, errUnsupported
	}
	if procRoot == "" {
		procRoot = "/proc"
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	s := &System{}

	statPath := cpath(filepath.Join(procRoot, "stat"))
	b, err := readPrefix(statPath, bp, pastCPULines)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %s: %w", pathOf(statPath), err)
	}
	found := false
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		name, rest := nextField(line)
		if !bytes.HasPrefix(name, []byte("cpu")) {
			break
		}
		if len(name) > 3 {
			s.OnlineCPUs++
			continue
		}
		var ticks uint64
		for i := 0; i < 7; i++ {
			var f []byte
			f, rest = nextField(rest)
			v, ok := parseUint(f)
			if !ok {
				return nil, fmt.Errorf("cgroup: %s: bad cpu line %q", pathOf(statPath), line)
			}
			ticks += v
		}
		s.CPUUsage = ticks * nsPerTick
		found = true
	}
	if !found {
		return nil, fmt.Errorf("cgroup: %s: no cpu line", pathOf(statPath))
	}

	memPath := cpath(filepath.Join(procRoot, "meminfo"))
	b, err = readPrefix(memPath, bp, hasMemTotal)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %s: %w", pathOf(memPath), err)
	}
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		name, rest := nextField(line)
		if string(name) != "MemTotal:" {
			continue
		}
		kb, _ := nextField(rest)
		v, ok := parseUint(kb)
		if !ok {
			return nil, fmt.Errorf("cgroup: %s: bad line %q", pathOf(memPath), line)
		}
		s.MemTotal = v * 1024
		return s, nil
	}
	return nil, fmt.Errorf("cgroup: %s: no MemTotal line", pathOf(memPath))
}

// pastCPULines: b holds a whole line that is not a cpu line, so all the
// cpu lines are in.
func pastCPULines(b []byte) bool {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false
		}
		if !bytes.HasPrefix(b, []byte("cpu")) {
			return true
		}
		b = b[i+1:]
	}
}

func hasMemTotal(b []byte) bool {
	i := bytes.Index(b, []byte("MemTotal:"))
	return i >= 0 && bytes.IndexByte(b[i:], '\n') >= 0
}
