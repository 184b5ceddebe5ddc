package cgroup

import (
	"bytes"
	"fmt"
	"path/filepath"
	"time"
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

	// clock is the monotonic clock the pass runs on; at is its reading when
	// /proc/stat was read. Target.Read takes the clock again around each
	// container's CPU counter read, so the skew between the two reads can
	// be accounted for however slow the pass is.
	clock func() time.Duration
	at    time.Duration
}

// monotonicEpoch anchors monotonicNow: time.Since uses the monotonic
// reading, which wall-clock steps do not move.
var monotonicEpoch = time.Now()

func monotonicNow() time.Duration { return time.Since(monotonicEpoch) }

// usageAt is the system's CPU time at moment m of its clock: CPUUsage, read
// at s.at, plus every online CPU's time since (or minus it before). The
// span is the skew within one pass, milliseconds, so steal time and the
// ticks' rounding within it are negligible.
func (s *System) usageAt(m time.Duration) uint64 {
	u := int64(s.CPUUsage) + int64(m-s.at)*int64(s.OnlineCPUs)
	if u <= 0 {
		return s.CPUUsage
	}
	return uint64(u)
}

// midpoint is the moment a read taken between two clock readings is
// credited to: off by at most half the read's duration either way.
func midpoint(before, after time.Duration) time.Duration {
	return before + (after-before)/2
}

const nsPerTick = 1e9 / 100

// ReadSystem reads /proc/stat and /proc/meminfo under procRoot ("" for
// /proc).
func ReadSystem(procRoot string) (*System, error) {
	return readSystem(procRoot, monotonicNow)
}

// readSystem is ReadSystem on the given monotonic clock (tests pass a fake
// one).
func readSystem(procRoot string, clock func() time.Duration) (*System, error) {
	if !supported {
		return nil, errUnsupported
	}
	if procRoot == "" {
		procRoot = "/proc"
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	s := &System{clock: clock}

	statPath := cpath(filepath.Join(procRoot, "stat"))
	before := clock()
	b, err := readPrefix(statPath, bp, pastCPULines)
	s.at = midpoint(before, clock())
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
