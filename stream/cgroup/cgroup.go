// Package cgroup reads a running container's resource counters straight
// from the kernel — cgroupfs and /proc — instead of the Engine's stats API,
// so a live view costs the Engine nothing. It fills the same
// container.StatsResponse fields the Engine fills, from the same files and
// with the same conversions (moby daemon/stats_unix.go over containerd's
// cgroups library), so package stats computes the numbers docker stats
// shows from either source.
//
// It works when the Engine runs on this host and in this PID namespace:
// cgroup v1 and v2, cgroupfs and systemd drivers. Probe finds and checks a
// container's cgroup once and opens its files; Target.Read re-reads them
// from offset 0 once per pass, allocation free in steady state and without
// looking any path up again; Target.Close releases them.
package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
)

// Target is a container's cgroup files, held open, and its init process.
// Opening a file once and re-reading it with pread spares every pass the
// path walk of an open, which costs more than the read itself for these
// small files. The price is some eight descriptors per container until
// Close, which the owner must call when it drops the Target.
//
// An open file stays bound to what it was opened on: a cgroup file to its
// cgroup, /proc/<pid>/net/dev to that process's network namespace, so a
// reused pid can never make Read count another container. When the
// container's cgroup is removed, reads of its files fail (ENODEV) and Read
// reports fs.ErrNotExist; a file unlinked from an ordinary filesystem
// instead goes on reading its last contents.
//
// Read and Close are not safe for concurrent use on one Target; different
// Targets may be used in parallel.
type Target struct {
	id  string
	pid int
	v2  bool
	// hostNet: the container shares the host's network namespace, where
	// the Engine reports no interfaces (libnetwork added none).
	hostNet bool
	// cfq: the v1 blkio hierarchy has the CFQ scheduler's recursive files,
	// which the Engine prefers to the throttle counters when they hold any
	// entry. Kernels from 5.0 have no CFQ.
	cfq   bool
	files [nFiles]string // "" when the host lacks the file
	fds   [nFiles]int    // of files; -1 when not open
	open  bool           // from Probe until Close
	// ifNames interns interface names so a pass allocates no map keys.
	ifNames []string
}

const (
	fCPU      = iota // v1 cpuacct.usage, v2 cpu.stat
	fPercpu          // v1 cpuacct.usage_percpu
	fMemUsage        // v1 memory.usage_in_bytes, v2 memory.current
	fMemLimit        // v1 memory.limit_in_bytes, v2 memory.max
	fMemStat         // memory.stat
	fBlkio           // v1 blkio.throttle.io_service_bytes, v2 io.stat
	fBlkioCFQ        // v1 blkio.io_service_bytes_recursive
	fPids            // pids.current
	fNetDev          // /proc/<pid>/net/dev
	nFiles
)

// Pid is the container's init process, whose network namespace Read counts.
func (t *Target) Pid() int { return t.pid }

// Version is the cgroup version read: 1 or 2.
func (t *Target) Version() int {
	if t.v2 {
		return 2
	}
	return 1
}

// Probe finds the cgroup of a container's init process and checks that it
// belongs to containerID (the full 64-digit id): some element of its
// /proc/<pid>/cgroup path must carry the id, as "/docker/<id>" (cgroupfs
// driver) and "docker-<id>.scope" (systemd driver) do; a child cgroup the
// process moved to counts as its container's. Paths there are relative to
// the cgroup mounts, which it finds in procRoot/self/mountinfo; mount
// points under /sys/fs/cgroup are looked for under cgroupRoot instead.
// Empty procRoot and cgroupRoot mean /proc and /sys/fs/cgroup. On a hybrid
// host (v1 controllers and a v2 hierarchy) it reads v1, as the Engine does.
//
// The error says why the direct source cannot serve this container: the
// process is not visible here (the Engine is remote, in a VM or another PID
// namespace), it is not that container's, or the files cannot be read.
// Probe opens the files and reads them once, so a Target it returns could
// be read; the caller must Close it.
func Probe(procRoot, cgroupRoot string, pid int, containerID string) (*Target, error) {
	if !supported {
		return nil, errUnsupported
	}
	if procRoot == "" {
		procRoot = "/proc"
	}
	if cgroupRoot == "" {
		cgroupRoot = DefaultRoot
	}
	if pid <= 0 {
		return nil, fmt.Errorf("cgroup: container %s has no process (pid %d): is it running?", short(containerID), pid)
	}
	if err := validID(containerID); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	pidDir := filepath.Join(procRoot, strconv.Itoa(pid))
	raw, err := os.ReadFile(filepath.Join(pidDir, "cgroup"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cgroup: process %d of container %s is not visible in %s: the Engine runs on another host, in a VM or in another PID namespace", pid, short(containerID), procRoot)
	}
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	members, err := parseMemberships(raw)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %s: %w", filepath.Join(pidDir, "cgroup"), err)
	}
	// An unreadable mountinfo leaves the usual layout under cgroupRoot.
	mounts, err := cgroupMounts(procRoot, cgroupRoot)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %s: %w", filepath.Join(procRoot, "self", "mountinfo"), err)
	}

	t := &Target{id: containerID, pid: pid}
	for i := range t.fds {
		t.fds[i] = -1
	}
	r := resolver{members: members, mounts: mounts, cgroupRoot: cgroupRoot, pid: pid, id: containerID}
	if r.v1() {
		err = t.resolveV1(&r)
	} else {
		t.v2 = true
		err = t.resolveV2(&r)
	}
	if err != nil {
		return nil, err
	}
	t.hostNet = sameNetns(procRoot, pidDir)
	if !t.hostNet {
		t.files[fNetDev] = filepath.Join(pidDir, "net", "dev")
	}
	if err := t.openFiles(); err != nil {
		t.Close()
		return nil, err
	}
	var scratch container.StatsResponse
	if err := t.Read(&scratch, nil); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Target) openFiles() error {
	for i, p := range t.files {
		if p == "" {
			continue
		}
		fd, err := openFile(p)
		if err != nil {
			return fmt.Errorf("cgroup: %w", &fs.PathError{Op: "open", Path: p, Err: gone(err)})
		}
		t.fds[i] = fd
	}
	t.open = true
	return nil
}

// Close closes the Target's files; Read fails after it. Closing again does
// nothing.
func (t *Target) Close() error {
	var first error
	for i, fd := range t.fds {
		// A zero Target has fds of 0 but no files: never close stdin.
		if fd < 0 || t.files[i] == "" {
			continue
		}
		t.fds[i] = -1
		if err := closeFile(fd); err != nil && first == nil {
			first = fmt.Errorf("cgroup: %w", &fs.PathError{Op: "close", Path: t.files[i], Err: err})
		}
	}
	t.open = false
	return first
}

// errClosed is what Read returns for a closed Target.
var errClosed = fmt.Errorf("cgroup: read of a closed target: %w", fs.ErrClosed)

func (t *Target) resolveV1(r *resolver) error {
	cpuacct, err := r.dirV1("cpuacct", true)
	if err != nil {
		return err
	}
	memory, err := r.dirV1("memory", true)
	if err != nil {
		return err
	}
	blkio, err := r.dirV1("blkio", false)
	if err != nil {
		return err
	}
	pids, err := r.dirV1("pids", false)
	if err != nil {
		return err
	}
	t.files[fCPU] = cpuacct + "/cpuacct.usage"
	t.files[fPercpu] = cpuacct + "/cpuacct.usage_percpu"
	t.files[fMemUsage] = memory + "/memory.usage_in_bytes"
	t.files[fMemLimit] = memory + "/memory.limit_in_bytes"
	t.files[fMemStat] = memory + "/memory.stat"
	if blkio != "" {
		t.files[fBlkio] = blkio + "/blkio.throttle.io_service_bytes"
		// The Engine's library tests for this file to pick the CFQ set.
		if exists(filepath.Join(blkio, "blkio.io_serviced_recursive")) {
			t.cfq = true
			t.files[fBlkioCFQ] = blkio + "/blkio.io_service_bytes_recursive"
		}
	}
	if pids != "" {
		t.files[fPids] = pids + "/pids.current"
	}
	return nil
}

func (t *Target) resolveV2(r *resolver) error {
	dir, err := r.dirV2()
	if err != nil {
		return err
	}
	t.files[fCPU] = dir + "/cpu.stat"
	t.files[fMemUsage] = dir + "/memory.current"
	t.files[fMemLimit] = dir + "/memory.max"
	t.files[fMemStat] = dir + "/memory.stat"
	// io and pids are there only when enabled for the container's subtree;
	// the Engine then reports nothing for them either.
	if exists(filepath.Join(dir, "io.stat")) {
		t.files[fBlkio] = dir + "/io.stat"
	}
	if exists(filepath.Join(dir, "pids.current")) {
		t.files[fPids] = dir + "/pids.current"
	}
	return nil
}

type resolver struct {
	members    []membership
	mounts     []mount
	cgroupRoot string
	pid        int
	id         string
}

// v1 reports whether the container's memory is accounted on a v1
// hierarchy. Hybrid hosts list the v2 hierarchy too; the Engine reads v1
// there.
func (r *resolver) v1() bool {
	for _, m := range r.members {
		if m.hier > 0 {
			for _, c := range m.controllers {
				if c == "memory" || c == "cpuacct" {
					return true
				}
			}
		}
	}
	return false
}

func (r *resolver) member(controller string) (membership, bool) {
	for _, m := range r.members {
		for _, c := range m.controllers {
			if c == controller {
				return m, true
			}
		}
	}
	return membership{}, false
}

func (r *resolver) containerPath(p, what string) (string, error) {
	cp, ok := containerPath(p, r.id)
	if !ok {
		return "", fmt.Errorf("cgroup: process %d is not in container %s (its %s cgroup is %s)", r.pid, short(r.id), what, p)
	}
	return cp, nil
}

// dirV1 is the directory of the container's cgroup in a v1 controller's
// hierarchy; "" for a controller the host lacks unless required.
func (r *resolver) dirV1(controller string, required bool) (string, error) {
	m, ok := r.member(controller)
	if !ok {
		if required {
			return "", fmt.Errorf("cgroup: no %s controller for process %d", controller, r.pid)
		}
		return "", nil
	}
	p, err := r.containerPath(m.path, controller)
	if err != nil {
		return "", err
	}
	found := false
	for _, mt := range r.mounts {
		if mt.v2 || !mt.has(controller) {
			continue
		}
		found = true
		if d := mt.dir(p); d != "" && exists(d) {
			return d, nil
		}
	}
	if found {
		return "", fmt.Errorf("cgroup: %s cgroup %s is outside every %s mount here (another cgroup namespace?)", controller, p, controller)
	}
	// No mountinfo: the usual layout, co-mounted controllers by their
	// joined name ("cpu,cpuacct").
	for _, name := range []string{controller, joinControllers(m.controllers)} {
		if d := filepath.Join(r.cgroupRoot, name, p); exists(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("cgroup: %s cgroup %s not found under %s", controller, p, r.cgroupRoot)
}

func (r *resolver) dirV2() (string, error) {
	var m membership
	ok := false
	for _, mm := range r.members {
		if mm.hier == 0 {
			m, ok = mm, true
		}
	}
	if !ok {
		return "", fmt.Errorf("cgroup: process %d has neither a v1 memory nor a v2 cgroup", r.pid)
	}
	p, err := r.containerPath(m.path, "v2")
	if err != nil {
		return "", err
	}
	found := false
	for _, mt := range r.mounts {
		if !mt.v2 {
			continue
		}
		found = true
		if d := mt.dir(p); d != "" && exists(d) {
			return d, nil
		}
	}
	if found {
		return "", fmt.Errorf("cgroup: v2 cgroup %s is outside every cgroup2 mount here (another cgroup namespace?)", p)
	}
	if d := filepath.Join(r.cgroupRoot, p); exists(d) {
		return d, nil
	}
	return "", fmt.Errorf("cgroup: v2 cgroup %s not found under %s", p, r.cgroupRoot)
}

func joinControllers(cs []string) string {
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += ","
		}
		s += c
	}
	return s
}

// sameNetns reports whether the process shares the network namespace of
// this process or of PID 1, that is runs with --network host. Unreadable
// links (no ptrace rights) say no.
func sameNetns(procRoot, pidDir string) bool {
	ns, err := os.Readlink(filepath.Join(pidDir, "ns", "net"))
	if err != nil {
		return false
	}
	for _, other := range []string{"self", "1"} {
		if o, err := os.Readlink(filepath.Join(procRoot, other, "ns", "net")); err == nil && o == ns {
			return true
		}
	}
	return false
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// bufPool holds read buffers shared by all Targets: a Target keeps none
// between passes, so many idle containers cost no buffer memory.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 8192)
	return &b
}}

// Read fills dst from the container's counters, as the Engine fills a stats
// record: Read, CPUStats (total and, on v1, per-CPU usage; online_cpus
// from sys, and system_cpu_usage as sys's advanced to the moment the CPU
// counter was read, see readCPU), MemoryStats (usage, limit capped at the host's
// memory as the Engine does, and the Engine's memory.stat keys),
// BlkioStats.IoServiceBytesRecursive, PidsStats.Current and Networks (the
// interfaces of the init process's network namespace but lo and the
// kernel's fallback tunnel devices, which libnetwork never adds; none with
// --network host). sys may be nil: then the system fields stay 0 and the
// limit is not capped.
//
// Before filling, Read moves dst.CPUStats to dst.PreCPUStats and dst.Read
// to dst.PreRead, so a caller that keeps one dst per container gets the
// Engine stream's precpu for stats.FromAPI. dst's slices and maps are
// reused: callers must not keep references to them across Reads. On error
// dst holds a partial record and no CPU reading, so the next Read's CPU %
// is 0, as for a stream's first record. An error wrapping fs.ErrNotExist
// means the container's cgroup or process is gone: it stopped. One
// wrapping fs.ErrClosed means the Target was closed.
//
// Fields the Engine sends but docker stats does not use are left zero:
// max_usage, failcnt, per-CPU usage on v2 (the Engine has none either),
// user/kernel split and throttling on v1, the other blkio lists, the pids
// limit.
func (t *Target) Read(dst *container.StatsResponse, sys *System) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)

	percpu := dst.PreCPUStats.CPUUsage.PercpuUsage
	dst.PreCPUStats = dst.CPUStats
	dst.PreRead = dst.Read
	dst.CPUStats = container.CPUStats{CPUUsage: container.CPUUsage{PercpuUsage: percpu[:0]}}
	dst.ID = t.id
	dst.Read = time.Now()
	if sys != nil {
		dst.CPUStats.SystemUsage = sys.CPUUsage
		dst.CPUStats.OnlineCPUs = sys.OnlineCPUs
	}
	var err error
	switch {
	case !t.open:
		err = errClosed
	case t.v2:
		err = t.readV2(dst, sys, bp)
	default:
		err = t.readV1(dst, sys, bp)
	}
	if err == nil {
		err = t.readMemory(dst, sys, bp)
	}
	if err == nil {
		err = t.readPids(dst, bp)
	}
	if err == nil {
		err = t.readNet(dst, bp)
	}
	if err != nil {
		dst.CPUStats = container.CPUStats{CPUUsage: container.CPUUsage{PercpuUsage: dst.CPUStats.CPUUsage.PercpuUsage[:0]}}
		return err
	}
	return nil
}

func (t *Target) read(f int, bp *[]byte) ([]byte, error) {
	b, err := readAt0(t.fds[f], bp, f != fNetDev) // net/dev: a record per interface
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: t.files[f], Err: gone(err)}
	}
	return b, nil
}

// readCPU reads the container's CPU counter and sets dst's
// system_cpu_usage to the system's CPU time at that same moment: sys's
// /proc/stat total plus the online CPUs' time since sys was read. A pass
// reads /proc/stat once and then one container after another; under load a
// container's read comes tens of milliseconds after it, by a different
// amount each pass, and a usage delta over a system delta from other
// moments is off by that difference (a --cpus 0.5 container read 56 %
// with a 120 ms skew). Taken here, both deltas span the same interval
// however slow the pass is, and with no skew (a quiet host) the figure is
// the Engine's, from the same /proc/stat.
func (t *Target) readCPU(dst *container.StatsResponse, sys *System, bp *[]byte) ([]byte, error) {
	if sys == nil || sys.clock == nil {
		return t.read(fCPU, bp)
	}
	before := sys.clock()
	b, err := t.read(fCPU, bp)
	if err == nil {
		dst.CPUStats.SystemUsage = sys.usageAt(midpoint(before, sys.clock()))
	}
	return b, err
}

func (t *Target) badFile(f int, what string) error {
	return fmt.Errorf("cgroup: %s: %s", t.files[f], what)
}

func (t *Target) readV1(dst *container.StatsResponse, sys *System, bp *[]byte) error {
	b, err := t.readCPU(dst, sys, bp)
	if err != nil {
		return err
	}
	v, ok := parseUint(b)
	if !ok {
		return t.badFile(fCPU, "not a number")
	}
	dst.CPUStats.CPUUsage.TotalUsage = v
	if b, err = t.read(fPercpu, bp); err != nil {
		return err
	}
	pc := dst.CPUStats.CPUUsage.PercpuUsage[:0]
	for rest := b; ; {
		var f []byte
		f, rest = nextField(rest)
		if len(f) == 0 {
			break
		}
		v, ok := parseUint(f)
		if !ok {
			return t.badFile(fPercpu, "not a list of numbers")
		}
		pc = append(pc, v)
	}
	dst.CPUStats.CPUUsage.PercpuUsage = pc

	entries := dst.BlkioStats.IoServiceBytesRecursive[:0]
	if t.cfq {
		if b, err = t.read(fBlkioCFQ, bp); err != nil {
			return err
		}
		if entries, err = t.parseBlkio(fBlkioCFQ, b, entries); err != nil {
			return err
		}
	}
	// The Engine falls back to the throttle counters when the CFQ files
	// hold nothing; it reads them without _recursive, which for a
	// container's leaf cgroup is the same.
	if len(entries) == 0 && t.files[fBlkio] != "" {
		if b, err = t.read(fBlkio, bp); err != nil {
			return err
		}
		if entries, err = t.parseBlkio(fBlkio, b, entries); err != nil {
			return err
		}
	}
	dst.BlkioStats.IoServiceBytesRecursive = entries
	return nil
}

// parseBlkio reads "major:minor Op value" lines (or "major:minor value"),
// skipping the closing "Total value".
func (t *Target) parseBlkio(f int, b []byte, out []container.BlkioStatEntry) ([]container.BlkioStatEntry, error) {
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		dev, rest := nextField(line)
		if len(dev) == 0 || string(dev) == "Total" {
			continue
		}
		f2, rest := nextField(rest)
		f3, _ := nextField(rest)
		op, val := f2, f3
		if len(f3) == 0 {
			op, val = nil, f2
		}
		major, minor, ok := parseDev(dev)
		v, ok2 := parseUint(val)
		if !ok || !ok2 {
			return out, t.badFile(f, fmt.Sprintf("bad line %q", line))
		}
		out = append(out, container.BlkioStatEntry{Major: major, Minor: minor, Op: blkioOp(op), Value: v})
	}
	return out, nil
}

func parseDev(b []byte) (major, minor uint64, ok bool) {
	for i, c := range b {
		if c == ':' {
			major, ok1 := parseUint(b[:i])
			minor, ok2 := parseUint(b[i+1:])
			return major, minor, ok1 && ok2
		}
	}
	return 0, 0, false
}

func (t *Target) readV2(dst *container.StatsResponse, sys *System, bp *[]byte) error {
	b, err := t.readCPU(dst, sys, bp)
	if err != nil {
		return err
	}
	u := &dst.CPUStats.CPUUsage
	th := &dst.CPUStats.ThrottlingData
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		k, rest := nextField(line)
		v, ok := parseUint(rest)
		if !ok {
			continue
		}
		switch string(k) {
		case "usage_usec":
			u.TotalUsage = v * 1000
		case "user_usec":
			u.UsageInUsermode = v * 1000
		case "system_usec":
			u.UsageInKernelmode = v * 1000
		case "nr_periods":
			th.Periods = v
		case "nr_throttled":
			th.ThrottledPeriods = v
		case "throttled_usec":
			th.ThrottledTime = v * 1000
		}
	}

	entries := dst.BlkioStats.IoServiceBytesRecursive[:0]
	if t.files[fBlkio] != "" {
		if b, err = t.read(fBlkio, bp); err != nil {
			return err
		}
		// "major:minor rbytes=N wbytes=N rios=N ..." per device; the
		// Engine turns each into a "read" and a "write" entry.
		for len(b) > 0 {
			var line []byte
			line, b = nextLine(b)
			dev, rest := nextField(line)
			major, minor, ok := parseDev(dev)
			if !ok {
				continue
			}
			var rd, wr uint64
			for len(rest) > 0 {
				var kv []byte
				kv, rest = nextField(rest)
				for i, c := range kv {
					if c == '=' {
						switch string(kv[:i]) {
						case "rbytes":
							rd, _ = parseUint(kv[i+1:])
						case "wbytes":
							wr, _ = parseUint(kv[i+1:])
						}
						break
					}
				}
			}
			entries = append(entries,
				container.BlkioStatEntry{Major: major, Minor: minor, Op: "read", Value: rd},
				container.BlkioStatEntry{Major: major, Minor: minor, Op: "write", Value: wr})
		}
	}
	dst.BlkioStats.IoServiceBytesRecursive = entries
	return nil
}

func (t *Target) readMemory(dst *container.StatsResponse, sys *System, bp *[]byte) error {
	m := &dst.MemoryStats
	b, err := t.read(fMemUsage, bp)
	if err != nil {
		return err
	}
	var ok bool
	if m.Usage, ok = parseUint(b); !ok {
		return t.badFile(fMemUsage, "not a number")
	}
	if b, err = t.read(fMemLimit, bp); err != nil {
		return err
	}
	if m.Limit, ok = parseLimit(b); !ok {
		return t.badFile(fMemLimit, "not a number")
	}
	// Unlimited reads as a huge number (v1) or "max" (v2); the Engine
	// shows the host's memory instead.
	if sys != nil && sys.MemTotal > 0 && m.Limit > sys.MemTotal {
		m.Limit = sys.MemTotal
	}
	m.MaxUsage, m.Failcnt = 0, 0

	keys := memKeysV1
	if t.v2 {
		keys = memKeysV2
	}
	if m.Stats == nil {
		m.Stats = make(map[string]uint64, len(keys))
	} else {
		clear(m.Stats)
	}
	// The Engine sends every key of its list, 0 when the kernel has none.
	for k := range keys {
		m.Stats[k] = 0
	}
	if b, err = t.read(fMemStat, bp); err != nil {
		return err
	}
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		k, rest := nextField(line)
		key, known := keys[string(k)]
		if !known {
			continue
		}
		v, ok := parseUint(rest)
		if !ok {
			return t.badFile(fMemStat, fmt.Sprintf("bad line %q", line))
		}
		m.Stats[key] = v
	}
	return nil
}

func (t *Target) readPids(dst *container.StatsResponse, bp *[]byte) error {
	dst.PidsStats = container.PidsStats{}
	if t.files[fPids] == "" {
		return nil
	}
	b, err := t.read(fPids, bp)
	if err != nil {
		return err
	}
	v, ok := parseUint(b)
	if !ok {
		return t.badFile(fPids, "not a number")
	}
	dst.PidsStats.Current = v
	return nil
}

func (t *Target) readNet(dst *container.StatsResponse, bp *[]byte) error {
	if dst.Networks == nil {
		dst.Networks = make(map[string]container.NetworkStats, 2)
	} else {
		clear(dst.Networks)
	}
	if t.hostNet {
		return nil
	}
	b, err := t.read(fNetDev, bp)
	if err != nil {
		return err
	}
	_, b = nextLine(b) // two header lines
	_, b = nextLine(b)
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		colon := -1
		for i, c := range line {
			if c == ':' {
				colon = i
				break
			}
		}
		if colon < 0 {
			continue
		}
		name, _ := nextField(line[:colon])
		if skipInterface(name) {
			continue
		}
		// rx: bytes packets errs drop fifo frame compressed multicast,
		// tx: bytes packets errs drop fifo colls carrier compressed.
		var v [12]uint64
		rest := line[colon+1:]
		for i := range v {
			var f []byte
			f, rest = nextField(rest)
			n, ok := parseUint(f)
			if !ok {
				return t.badFile(fNetDev, fmt.Sprintf("bad line %q", line))
			}
			v[i] = n
		}
		dst.Networks[t.ifName(name)] = container.NetworkStats{
			RxBytes: v[0], RxPackets: v[1], RxErrors: v[2], RxDropped: v[3],
			TxBytes: v[8], TxPackets: v[9], TxErrors: v[10], TxDropped: v[11],
		}
	}
	return nil
}

// skipInterface: lo, and the fallback devices the kernel puts into every
// new network namespace when a tunnel module is loaded. The Engine reports
// only the interfaces libnetwork added to the container.
func skipInterface(name []byte) bool {
	switch string(name) {
	case "lo", "tunl0", "gre0", "gretap0", "erspan0", "ip_vti0", "ip6_vti0",
		"sit0", "ip6tnl0", "ip6gre0":
		return true
	}
	return false
}

func (t *Target) ifName(b []byte) string {
	for _, s := range t.ifNames {
		if s == string(b) {
			return s
		}
	}
	if len(t.ifNames) >= 64 { // interfaces churned; start over
		t.ifNames = t.ifNames[:0]
	}
	s := string(b)
	t.ifNames = append(t.ifNames, s)
	return s
}

// memKeysV1 and memKeysV2 are the memory.stat keys the Engine copies into
// memory_stats.stats (moby daemon/stats_unix.go), each mapped to itself so
// a lookup by bytes yields a string to key the map with, allocation free.
var memKeysV1 = selfMap(
	"cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback",
	"pgpgin", "pgpgout", "pgfault", "pgmajfault",
	"inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
	"hierarchical_memory_limit", "hierarchical_memsw_limit",
	"total_cache", "total_rss", "total_rss_huge", "total_mapped_file",
	"total_dirty", "total_writeback", "total_pgpgin", "total_pgpgout",
	"total_pgfault", "total_pgmajfault", "total_inactive_anon",
	"total_active_anon", "total_inactive_file", "total_active_file",
	"total_unevictable",
)

var memKeysV2 = selfMap(
	"anon", "file", "kernel_stack", "slab", "sock", "shmem",
	"file_mapped", "file_dirty", "file_writeback", "anon_thp",
	"inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
	"slab_reclaimable", "slab_unreclaimable", "pgfault", "pgmajfault",
	"workingset_refault", "workingset_activate", "workingset_nodereclaim",
	"pgrefill", "pgscan", "pgsteal", "pgactivate", "pgdeactivate",
	"pglazyfree", "pglazyfreed", "thp_fault_alloc", "thp_collapse_alloc",
)

func selfMap(keys ...string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = k
	}
	return m
}
