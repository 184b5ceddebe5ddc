package cgroup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/docker-live/docker-live/stream/stats"
)

// fixture is a testdata tree: proc/ and sys/fs/cgroup/ laid out as on a
// host, and a "target" file naming the container id and its init pid.
type fixture struct {
	dir string
	id  string
	pid int
}

func loadFixture(tb testing.TB, name string) fixture {
	tb.Helper()
	dir := filepath.Join("testdata", name)
	b, err := os.ReadFile(filepath.Join(dir, "target"))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		tb.Fatalf("%s/target: want \"ID PID\", got %q", dir, b)
	}
	pid, err := strconv.Atoi(f[1])
	if err != nil {
		tb.Fatal(err)
	}
	return fixture{dir: dir, id: f[0], pid: pid}
}

func (f fixture) proc() string   { return filepath.Join(f.dir, "proc") }
func (f fixture) cgroup() string { return filepath.Join(f.dir, "sys", "fs", "cgroup") }

// probe probes the fixture's container; the Target is closed when the test
// ends.
func (f fixture) probe(tb testing.TB) *Target {
	tb.Helper()
	t, err := Probe(f.proc(), f.cgroup(), f.pid, f.id)
	if err != nil {
		tb.Fatalf("Probe: %v", err)
	}
	tb.Cleanup(func() { t.Close() })
	return t
}

// system reads the fixture's /proc on a clock that stands still, so a
// Read reports the fixture's system_cpu_usage as it is, with no time added
// for the moments between the reads (TestSlowPassCPUIsExact tests those).
func (f fixture) system(tb testing.TB) *System {
	tb.Helper()
	s, err := readSystem(f.proc(), func() time.Duration { return 0 })
	if err != nil {
		tb.Fatalf("ReadSystem: %v", err)
	}
	return s
}

// copyFixture copies a fixture into a temporary directory the test may
// change, symlinks included.
func copyFixture(t *testing.T, name string) fixture {
	t.Helper()
	f := loadFixture(t, name)
	dst := t.TempDir()
	err := filepath.WalkDir(f.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(f.dir, p)
		out := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, out)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(out, b, 0o644)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	f.dir = dst
	return f
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRecordedV1MatchesEngine reads files copied from this host's cgroup v1
// while the container was paused, next to the Engine's record of the same
// moment: every field the Engine fills from those files must come out
// identical.
func TestRecordedV1MatchesEngine(t *testing.T) {
	f := loadFixture(t, "v1-cgroupfs")
	b, err := os.ReadFile(filepath.Join(f.dir, "engine.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want container.StatsResponse
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	tg := f.probe(t)
	if tg.Version() != 1 || tg.Pid() != f.pid {
		t.Errorf("Version, Pid = %d, %d; want 1, %d", tg.Version(), tg.Pid(), f.pid)
	}
	sys := f.system(t)
	var got container.StatsResponse
	if err := tg.Read(&got, sys); err != nil {
		t.Fatal(err)
	}

	if got.ID != f.id {
		t.Errorf("ID = %q", got.ID)
	}
	if got.CPUStats.CPUUsage.TotalUsage != want.CPUStats.CPUUsage.TotalUsage {
		t.Errorf("total_usage = %d, Engine %d", got.CPUStats.CPUUsage.TotalUsage, want.CPUStats.CPUUsage.TotalUsage)
	}
	if !reflect.DeepEqual(got.CPUStats.CPUUsage.PercpuUsage, want.CPUStats.CPUUsage.PercpuUsage) {
		t.Errorf("percpu_usage = %v, Engine %v", got.CPUStats.CPUUsage.PercpuUsage, want.CPUStats.CPUUsage.PercpuUsage)
	}
	if got.CPUStats.OnlineCPUs != want.CPUStats.OnlineCPUs {
		t.Errorf("online_cpus = %d, Engine %d", got.CPUStats.OnlineCPUs, want.CPUStats.OnlineCPUs)
	}
	// /proc/stat was copied a few seconds after the Engine's sample.
	if d := int64(got.CPUStats.SystemUsage) - int64(want.CPUStats.SystemUsage); d < 0 || d > 60e9 {
		t.Errorf("system_cpu_usage = %d, Engine %d: not just after it", got.CPUStats.SystemUsage, want.CPUStats.SystemUsage)
	}
	gm, wm := got.MemoryStats, want.MemoryStats
	if gm.Usage != wm.Usage || gm.Limit != wm.Limit {
		t.Errorf("memory usage, limit = %d, %d; Engine %d, %d", gm.Usage, gm.Limit, wm.Usage, wm.Limit)
	}
	if !reflect.DeepEqual(gm.Stats, wm.Stats) {
		t.Errorf("memory stats differ:\n got    %v\n Engine %v", gm.Stats, wm.Stats)
	}
	if !reflect.DeepEqual(got.BlkioStats.IoServiceBytesRecursive, want.BlkioStats.IoServiceBytesRecursive) {
		t.Errorf("io_service_bytes_recursive = %v\nEngine %v", got.BlkioStats.IoServiceBytesRecursive, want.BlkioStats.IoServiceBytesRecursive)
	}
	if got.PidsStats.Current != want.PidsStats.Current {
		t.Errorf("pids = %d, Engine %d", got.PidsStats.Current, want.PidsStats.Current)
	}
	if !reflect.DeepEqual(got.Networks, want.Networks) {
		t.Errorf("networks = %v\nEngine %v", got.Networks, want.Networks)
	}

	// What docker stats shows, CPU % aside (one record has no precpu).
	g, w := stats.FromAPI(f.id, &got, nil), stats.FromAPI(f.id, &want, nil)
	g.Read, g.CPUPercent, w.CPUPercent = w.Read, 0, 0
	if g != w {
		t.Errorf("sample = %+v\nEngine %+v", g, w)
	}
	if w.MemUsage == 0 || w.BlockRead == 0 || w.BlockWrite == 0 || w.NetRx == 0 || w.PIDs == 0 {
		t.Errorf("fixture lacks activity to compare: %+v", w)
	}
}

// TestConstructedV2Systemd: cgroup v2, systemd driver, 8 CPUs, --memory
// 512m, two networks and the kernel's fallback tunnels; values by hand.
func TestConstructedV2Systemd(t *testing.T) {
	f := loadFixture(t, "v2-systemd")
	tg := f.probe(t)
	if tg.Version() != 2 {
		t.Errorf("Version = %d", tg.Version())
	}
	var got container.StatsResponse
	if err := tg.Read(&got, f.system(t)); err != nil {
		t.Fatal(err)
	}
	wantCPU := container.CPUStats{
		CPUUsage: container.CPUUsage{
			TotalUsage:        8123456000,
			UsageInKernelmode: 1123456000,
			UsageInUsermode:   7000000000,
		},
		// cpu line: 1000000+2000+300000+40000000+5000+0+7000 (steal 800
		// left out) = 41314000 ticks of 10 ms.
		SystemUsage:    413140000000000,
		OnlineCPUs:     8,
		ThrottlingData: container.ThrottlingData{Periods: 40, ThrottledPeriods: 3, ThrottledTime: 25000000},
	}
	if !reflect.DeepEqual(got.CPUStats, wantCPU) {
		t.Errorf("cpu_stats = %+v\nwant %+v", got.CPUStats, wantCPU)
	}
	wantMem := map[string]uint64{
		"anon": 52588544, "file": 10485760, "kernel_stack": 147456, "slab": 989024,
		"sock": 4096, "shmem": 0, "file_mapped": 0, "file_dirty": 0, "file_writeback": 0,
		"anon_thp": 0, "inactive_anon": 52551680, "active_anon": 36864,
		"inactive_file": 8388608, "active_file": 2097152, "unevictable": 0,
		"slab_reclaimable": 687672, "slab_unreclaimable": 301352,
		"pgfault": 14623, "pgmajfault": 2,
		// Kernels from 5.9 split these into _anon and _file; the Engine
		// looks for the old names and sends 0.
		"workingset_refault": 0, "workingset_activate": 0,
		"workingset_nodereclaim": 0, "pgrefill": 0, "pgscan": 0, "pgsteal": 0,
		"pgactivate": 9, "pgdeactivate": 0, "pglazyfree": 0, "pglazyfreed": 0,
		"thp_fault_alloc": 0, "thp_collapse_alloc": 0,
	}
	if got.MemoryStats.Usage != 64585728 || got.MemoryStats.Limit != 536870912 {
		t.Errorf("memory usage, limit = %d, %d", got.MemoryStats.Usage, got.MemoryStats.Limit)
	}
	if !reflect.DeepEqual(got.MemoryStats.Stats, wantMem) {
		t.Errorf("memory stats = %v\nwant %v", got.MemoryStats.Stats, wantMem)
	}
	wantIO := []container.BlkioStatEntry{
		{Major: 259, Minor: 0, Op: "read", Value: 4685824},
		{Major: 259, Minor: 0, Op: "write", Value: 8400896},
		{Major: 253, Minor: 0, Op: "read", Value: 1048576},
		{Major: 253, Minor: 0, Op: "write", Value: 0},
	}
	if !reflect.DeepEqual(got.BlkioStats.IoServiceBytesRecursive, wantIO) {
		t.Errorf("io = %v", got.BlkioStats.IoServiceBytesRecursive)
	}
	if got.PidsStats.Current != 5 {
		t.Errorf("pids = %d", got.PidsStats.Current)
	}
	wantNet := map[string]container.NetworkStats{
		"eth0": {RxBytes: 52428800, RxPackets: 36512, RxErrors: 1, RxDropped: 2, TxBytes: 1048576, TxPackets: 9120, TxErrors: 3, TxDropped: 4},
		"eth1": {RxBytes: 20480, RxPackets: 160, TxBytes: 10240, TxPackets: 80},
	}
	if !reflect.DeepEqual(got.Networks, wantNet) {
		t.Errorf("networks = %v", got.Networks)
	}
	s := stats.FromAPI(f.id, &got, nil)
	// used: 64585728 - inactive_file 8388608 = 56197120, of 512 MiB.
	if s.MemUsage != 56197120 || s.MemPercent != 10.467529296875 {
		t.Errorf("mem = %d (%v %%)", s.MemUsage, s.MemPercent)
	}
	if s.NetRx != 52449280 || s.NetTx != 1058816 || s.BlockRead != 5734400 || s.BlockWrite != 8400896 {
		t.Errorf("sample = %+v", s)
	}
}

// TestConstructedV1Systemd: cgroup v1, systemd driver, cpu and cpuacct
// mounted together, a CFQ kernel's blkio files, --memory 256m and
// --network host.
func TestConstructedV1Systemd(t *testing.T) {
	f := loadFixture(t, "v1-systemd")
	tg := f.probe(t)
	var got container.StatsResponse
	if err := tg.Read(&got, f.system(t)); err != nil {
		t.Fatal(err)
	}
	cpu := got.CPUStats
	if cpu.CPUUsage.TotalUsage != 2345678901 ||
		!reflect.DeepEqual(cpu.CPUUsage.PercpuUsage, []uint64{1000000000, 845678901, 300000000, 200000000}) {
		t.Errorf("cpu usage = %+v", cpu.CPUUsage)
	}
	// 2000+10+1000+90000+200+0+40 = 93250 ticks.
	if cpu.SystemUsage != 932500000000 || cpu.OnlineCPUs != 4 {
		t.Errorf("system = %d, online = %d", cpu.SystemUsage, cpu.OnlineCPUs)
	}
	m := got.MemoryStats
	if m.Usage != 104857600 || m.Limit != 268435456 {
		t.Errorf("memory usage, limit = %d, %d", m.Usage, m.Limit)
	}
	if len(m.Stats) != 32 || m.Stats["total_inactive_file"] != 25165824 || m.Stats["hierarchical_memsw_limit"] != 536870912 {
		t.Errorf("memory stats = %v", m.Stats)
	}
	for _, k := range []string{"swap", "shmem", "total_swap", "total_shmem"} {
		if _, ok := m.Stats[k]; ok {
			t.Errorf("memory stats has %q, which the Engine does not send", k)
		}
	}
	// The CFQ recursive counters, not the throttle ones (999).
	wantIO := []container.BlkioStatEntry{
		{Major: 8, Minor: 16, Op: "Read", Value: 65536},
		{Major: 8, Minor: 16, Op: "Write", Value: 0},
		{Major: 8, Minor: 16, Op: "Sync", Value: 65536},
		{Major: 8, Minor: 16, Op: "Async", Value: 0},
		{Major: 8, Minor: 16, Op: "Total", Value: 65536},
		{Major: 8, Minor: 0, Op: "Read", Value: 1232896},
		{Major: 8, Minor: 0, Op: "Write", Value: 2105344},
		{Major: 8, Minor: 0, Op: "Sync", Value: 3338240},
		{Major: 8, Minor: 0, Op: "Async", Value: 0},
		{Major: 8, Minor: 0, Op: "Total", Value: 3338240},
	}
	if !reflect.DeepEqual(got.BlkioStats.IoServiceBytesRecursive, wantIO) {
		t.Errorf("blkio = %v", got.BlkioStats.IoServiceBytesRecursive)
	}
	if got.PidsStats.Current != 3 {
		t.Errorf("pids = %d", got.PidsStats.Current)
	}
	// --network host: libnetwork adds no interface, the Engine reports none.
	if len(got.Networks) != 0 {
		t.Errorf("networks = %v, want none for a host-network container", got.Networks)
	}
	s := stats.FromAPI(f.id, &got, nil)
	if s.MemUsage != 104857600-25165824 || s.BlockRead != 65536+1232896 || s.BlockWrite != 2105344 {
		t.Errorf("sample = %+v", s)
	}
}

// TestCFQEmptyFallsBackToThrottle: when the CFQ files hold no entry the
// Engine reads the throttle counters, and so must we.
func TestCFQEmptyFallsBackToThrottle(t *testing.T) {
	f := copyFixture(t, "v1-systemd")
	dir := filepath.Join(f.cgroup(), "blkio", "system.slice", "docker-"+f.id+".scope")
	writeFile(t, filepath.Join(dir, "blkio.io_service_bytes_recursive"), "Total 0\n")
	var got container.StatsResponse
	if err := f.probe(t).Read(&got, nil); err != nil {
		t.Fatal(err)
	}
	r, w := stats.BlockIO(got.BlkioStats)
	if r != 999 || w != 999 || len(got.BlkioStats.IoServiceBytesRecursive) != 5 {
		t.Errorf("blkio = %v", got.BlkioStats.IoServiceBytesRecursive)
	}
	// No sys: nothing to cap the limit with, no system usage.
	if got.CPUStats.SystemUsage != 0 || got.CPUStats.OnlineCPUs != 0 {
		t.Errorf("cpu = %+v", got.CPUStats)
	}
}

func TestUnlimitedMemoryShowsHostMemory(t *testing.T) {
	f := copyFixture(t, "v2-systemd")
	dir := filepath.Join(f.cgroup(), "system.slice", "docker-"+f.id+".scope")
	writeFile(t, filepath.Join(dir, "memory.max"), "max\n")
	tg := f.probe(t)
	var got container.StatsResponse
	if err := tg.Read(&got, f.system(t)); err != nil {
		t.Fatal(err)
	}
	if got.MemoryStats.Limit != 16303540*1024 {
		t.Errorf("limit = %d, want MemTotal", got.MemoryStats.Limit)
	}
	if err := tg.Read(&got, nil); err != nil {
		t.Fatal(err)
	}
	if got.MemoryStats.Limit != math.MaxUint64 {
		t.Errorf("limit without sys = %d, want max", got.MemoryStats.Limit)
	}
}

// TestReadKeepsPrevious: a second Read moves the first reading into
// precpu, so stats.FromAPI gives CPU % over the interval.
func TestReadKeepsPrevious(t *testing.T) {
	f := copyFixture(t, "v2-systemd")
	dir := filepath.Join(f.cgroup(), "system.slice", "docker-"+f.id+".scope")
	tg := f.probe(t)
	var rec container.StatsResponse
	if err := tg.Read(&rec, f.system(t)); err != nil {
		t.Fatal(err)
	}
	first := rec.Read
	if p := stats.FromAPI(f.id, &rec, nil).CPUPercent; p != 0 {
		t.Errorf("first CPU %% = %v, want 0", p)
	}
	// Half a CPU for 1 s of 8 CPUs: +500000 usec, +100 ticks per CPU.
	writeFile(t, filepath.Join(dir, "cpu.stat"), "usage_usec 8623456\nuser_usec 7400000\nsystem_usec 1223456\n")
	writeFile(t, filepath.Join(f.proc(), "stat"), "cpu  1000600 2000 300200 40000000 5000 0 7000 800 0 0\n"+
		strings.Repeat("cpu0 1 1 1 1 1 1 1 0 0\n", 8)+"intr 1\n")
	if err := tg.Read(&rec, f.system(t)); err != nil {
		t.Fatal(err)
	}
	if !rec.PreRead.Equal(first) || rec.PreCPUStats.CPUUsage.TotalUsage != 8123456000 {
		t.Errorf("pre = %v %+v", rec.PreRead, rec.PreCPUStats)
	}
	if p := stats.FromAPI(f.id, &rec, nil).CPUPercent; p != 50 {
		t.Errorf("CPU %% = %v, want 50", p)
	}

	// A failed Read (here of a closed Target) leaves no CPU reading, so the
	// reading after it starts over like a new stream.
	if err := tg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tg.Read(&rec, f.system(t)); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("Read of a closed target = %v, want closed", err)
	}
	f2 := loadFixture(t, "v2-systemd")
	tg2 := f2.probe(t)
	if err := tg2.Read(&rec, f2.system(t)); err != nil {
		t.Fatal(err)
	}
	if rec.PreCPUStats.SystemUsage != 0 || stats.FromAPI(f.id, &rec, nil).CPUPercent != 0 {
		t.Errorf("after a failed Read precpu = %+v, want empty", rec.PreCPUStats)
	}
}

// TestDeletedFilesStillRead: a Target reads files it holds open, so on an
// ordinary filesystem unlinking them changes nothing: Read goes on
// returning their last contents. Only cgroupfs and /proc make a held file
// fail once its cgroup or process is gone (see TestReadOfExitedProcess and
// TestLiveReadFailsOnceContainerExits); the collector does not rely on it
// and stops reading a container on its die event.
func TestDeletedFilesStillRead(t *testing.T) {
	f := copyFixture(t, "v1-cgroupfs")
	tg := f.probe(t)
	var before, after container.StatsResponse
	if err := tg.Read(&before, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(f.cgroup()); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(f.proc(), strconv.Itoa(f.pid))); err != nil {
		t.Fatal(err)
	}
	if err := tg.Read(&after, nil); err != nil {
		t.Fatalf("Read of unlinked but open files = %v", err)
	}
	if after.MemoryStats.Usage != before.MemoryStats.Usage || len(after.Networks) == 0 ||
		!reflect.DeepEqual(after.Networks, before.Networks) {
		t.Errorf("after unlinking: memory %d, networks %v; before: %d, %v",
			after.MemoryStats.Usage, after.Networks, before.MemoryStats.Usage, before.Networks)
	}
	// A new Probe of the same container sees that it is gone.
	if tg2, err := Probe(f.proc(), f.cgroup(), f.pid, f.id); err == nil {
		tg2.Close()
		t.Error("Probe of a removed container succeeded")
	}
}

// TestReadOfExitedProcess: a held /proc file of a process that exited
// reads ESRCH, which Read reports as fs.ErrNotExist. The fixture's
// pids.current is made a link to a child's oom_score_adj, a number too.
func TestReadOfExitedProcess(t *testing.T) {
	f := copyFixture(t, "v2-systemd")
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Skipf("no child process to watch: %v", err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	pids := filepath.Join(f.cgroup(), "system.slice", "docker-"+f.id+".scope", "pids.current")
	if err := os.Remove(pids); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fmt.Sprintf("/proc/%d/oom_score_adj", child.Process.Pid), pids); err != nil {
		t.Fatal(err)
	}
	tg := f.probe(t)
	var rec container.StatsResponse
	if err := tg.Read(&rec, nil); err != nil {
		t.Fatal(err)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait() // reaped: its /proc entries are gone
	err := tg.Read(&rec, nil)
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("Read after the process exited = %v, want not exist (ESRCH)", err)
	}
	if !strings.Contains(err.Error(), "pids.current") {
		t.Errorf("error %q does not name the file", err)
	}
}

// TestReadAfterClose: Close releases the files once; Read then fails
// cleanly, however often it is called.
func TestReadAfterClose(t *testing.T) {
	for _, name := range []string{"v1-cgroupfs", "v2-systemd"} {
		f := loadFixture(t, name)
		tg := f.probe(t)
		for range 2 {
			if err := tg.Close(); err != nil {
				t.Errorf("%s: Close = %v", name, err)
			}
		}
		var rec container.StatsResponse
		for range 2 {
			err := tg.Read(&rec, f.system(t))
			if !errors.Is(err, fs.ErrClosed) || errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: Read after Close = %v, want closed", name, err)
			}
		}
		if rec.CPUStats.CPUUsage.TotalUsage != 0 {
			t.Errorf("%s: Read after Close filled cpu %+v", name, rec.CPUStats)
		}
	}
	// A Target not made by Probe has nothing to close, stdin least of all.
	var zero Target
	if err := zero.Close(); err != nil {
		t.Errorf("Close of a zero Target = %v", err)
	}
	if _, err := os.Stdin.Stat(); err != nil {
		t.Errorf("stdin after closing a zero Target: %v", err)
	}
}

func TestProbeErrors(t *testing.T) {
	v1 := loadFixture(t, "v1-cgroupfs")
	other := strings.Repeat("ab", 32)
	cases := []struct {
		name    string
		f       fixture
		pid     int
		id      string
		edit    func(t *testing.T, f fixture)
		wantErr string
	}{
		{name: "no pid", f: v1, pid: 0, id: v1.id, wantErr: "is it running"},
		{name: "pid not here", f: v1, pid: 999999, id: v1.id, wantErr: "not visible"},
		{name: "another container", f: v1, pid: v1.pid, id: other, wantErr: "is not in container abababababab"},
		{name: "short id", f: v1, pid: v1.pid, id: v1.id[:12], wantErr: "not a full 64-digit id"},
		{name: "not hex", f: v1, pid: v1.pid, id: strings.Repeat("Z", 64), wantErr: "not lowercase hex"},
		{
			name: "unreadable counter", pid: v1.pid, id: v1.id,
			edit: func(t *testing.T, f fixture) {
				writeFile(t, filepath.Join(f.cgroup(), "memory", "docker", f.id, "memory.usage_in_bytes"), "lots\n")
			},
			wantErr: "memory.usage_in_bytes: not a number",
		},
		{
			name: "missing counter", pid: v1.pid, id: v1.id,
			edit: func(t *testing.T, f fixture) {
				if err := os.Remove(filepath.Join(f.cgroup(), "memory", "docker", f.id, "memory.stat")); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "memory.stat: no such file",
		},
		{
			// A process of ours in a cgroup namespace would see the
			// container's cgroup above its own mount.
			name: "outside the mount", pid: v1.pid, id: v1.id,
			edit: func(t *testing.T, f fixture) {
				p := filepath.Join(f.proc(), "self", "mountinfo")
				b, _ := os.ReadFile(p)
				writeFile(t, p, strings.ReplaceAll(string(b), " / /sys/fs/cgroup/memory ", " /process_api /sys/fs/cgroup/memory "))
			},
			wantErr: "memory cgroup /docker/" + v1.id + " is outside every memory mount",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			if c.edit != nil {
				f = copyFixture(t, "v1-cgroupfs")
				c.edit(t, f)
			}
			tg, err := Probe(f.proc(), f.cgroup(), c.pid, c.id)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Probe = %v, %v; want error with %q", tg, err, c.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has several lines: %q", err)
			}
		})
	}
}

// TestMountRootAndNesting: a mount that shows a subtree (root "/docker")
// and a container whose init moved into a child cgroup (systemd in a
// container goes to init.scope): the Engine reads the container's cgroup.
func TestMountRootAndNesting(t *testing.T) {
	f := copyFixture(t, "v2-systemd")
	old := filepath.Join(f.cgroup(), "system.slice", "docker-"+f.id+".scope")
	// The cgroupfs driver's /docker/<id>, seen through a mount of /docker.
	dir := filepath.Join(f.cgroup(), f.id)
	if err := os.Rename(old, dir); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "init.scope", "cgroup.procs"), "1\n")
	writeFile(t, filepath.Join(f.proc(), strconv.Itoa(f.pid), "cgroup"), "0::/docker/"+f.id+"/init.scope\n")
	writeFile(t, filepath.Join(f.proc(), "self", "mountinfo"),
		"26 24 0:24 /docker /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n")
	var got container.StatsResponse
	if err := f.probe(t).Read(&got, nil); err != nil {
		t.Fatal(err)
	}
	if got.MemoryStats.Usage != 64585728 {
		t.Errorf("usage = %d: read the wrong cgroup", got.MemoryStats.Usage)
	}
}

// TestNoMountinfo: without a readable mountinfo the usual layout under
// cgroupRoot serves, co-mounted v1 controllers included.
func TestNoMountinfo(t *testing.T) {
	for _, name := range []string{"v1-systemd", "v2-systemd", "v1-cgroupfs"} {
		t.Run(name, func(t *testing.T) {
			f := copyFixture(t, name)
			if err := os.Remove(filepath.Join(f.proc(), "self", "mountinfo")); err != nil {
				t.Fatal(err)
			}
			var got container.StatsResponse
			if err := f.probe(t).Read(&got, nil); err != nil {
				t.Fatal(err)
			}
			if got.MemoryStats.Usage == 0 || got.CPUStats.CPUUsage.TotalUsage == 0 {
				t.Errorf("read nothing: %+v", got)
			}
		})
	}
}

func TestParseHelpers(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		path, want string
		ok         bool
	}{
		{"/docker/" + id, "/docker/" + id, true},
		{"/system.slice/docker-" + id + ".scope", "/system.slice/docker-" + id + ".scope", true},
		{"/docker/" + id + "/init.scope", "/docker/" + id, true},
		{"/kubepods/pod1/cri-containerd-" + id + ".scope/sub", "/kubepods/pod1/cri-containerd-" + id + ".scope", true},
		{"/docker/" + id + "ff", "", false},
		{"/docker/ff" + id, "", false},
		{"/", "", false},
	} {
		got, ok := containerPath(c.path, id)
		if got != c.want || ok != c.ok {
			t.Errorf("containerPath(%q) = %q, %v", c.path, got, ok)
		}
	}
	if got := unescape(`/sys/fs/cgroup/with\040space\134x`); got != `/sys/fs/cgroup/with space\x` {
		t.Errorf("unescape = %q", got)
	}
	if got := rebase("/sys/fs/cgroup/cpu,cpuacct", "/t/c"); got != "/t/c/cpu,cpuacct" {
		t.Errorf("rebase = %q", got)
	}
	if got := rebase("/sys/fs/cgroupx", "/t/c"); got != "/sys/fs/cgroupx" {
		t.Errorf("rebase = %q", got)
	}
	for in, want := range map[string]uint64{"0": 0, "18446744073709551615\n": math.MaxUint64, "-1": 0, " 42 ": 42} {
		if v, ok := parseUint([]byte(in)); !ok || v != want {
			t.Errorf("parseUint(%q) = %d, %v", in, v, ok)
		}
	}
	for _, in := range []string{"", "18446744073709551616", "1x", "-"} {
		if _, ok := parseUint([]byte(in)); ok {
			t.Errorf("parseUint(%q) accepted", in)
		}
	}
}

func TestReadSystemErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadSystem(dir); err == nil || !strings.Contains(err.Error(), "stat") {
		t.Errorf("no /proc/stat: %v", err)
	}
	writeFile(t, filepath.Join(dir, "stat"), "cpu  1 2 3\n")
	if _, err := ReadSystem(dir); err == nil || !strings.Contains(err.Error(), "bad cpu line") {
		t.Errorf("short cpu line: %v", err)
	}
	writeFile(t, filepath.Join(dir, "stat"), "cpu  1 2 3 4 5 6 7 8\ncpu0 1 2 3 4 5 6 7 8\nintr 0\n")
	writeFile(t, filepath.Join(dir, "meminfo"), "MemFree: 1 kB\n")
	if _, err := ReadSystem(dir); err == nil || !strings.Contains(err.Error(), "no MemTotal") {
		t.Errorf("no MemTotal: %v", err)
	}
	// A /proc/stat far longer than a read buffer, cpu lines first.
	long := "cpu  1 2 3 4 5 6 7 8\n" + strings.Repeat("cpu0 1 1 1 1 1 1 1 1\n", 3) + "intr" + strings.Repeat(" 0", 40000) + "\n"
	writeFile(t, filepath.Join(dir, "stat"), long)
	writeFile(t, filepath.Join(dir, "meminfo"), "MemTotal:  1000 kB\n")
	s, err := ReadSystem(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUUsage != 28*1e7 || s.OnlineCPUs != 3 || s.MemTotal != 1024000 {
		t.Errorf("system = %+v", *s)
	}
}

// TestReadAllocatesNothing: in steady state a pass must not allocate.
func TestReadAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random")
	}
	for _, name := range []string{"v1-cgroupfs", "v2-systemd"} {
		f := loadFixture(t, name)
		tg := f.probe(t)
		sys := f.system(t)
		var rec container.StatsResponse
		for range 3 {
			if err := tg.Read(&rec, sys); err != nil {
				t.Fatal(err)
			}
		}
		if n := testing.AllocsPerRun(100, func() { _ = tg.Read(&rec, sys) }); n != 0 {
			t.Errorf("%s: Read allocates %v times a call", name, n)
		}
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	e, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(e)
}

// TestFileDescriptors: a Target holds one descriptor per file it reads
// (v1-cgroupfs: cpuacct.usage, cpuacct.usage_percpu, three memory files,
// blkio, pids.current, net/dev) from Probe to Close; a failing Probe
// keeps none, so container churn cannot leak them.
func TestFileDescriptors(t *testing.T) {
	f := copyFixture(t, "v1-cgroupfs")
	before := openFDs(t)
	tg := f.probe(t)
	if n := openFDs(t); n != before+8 {
		t.Errorf("open descriptors %d before Probe, %d after; want 8 more", before, n)
	}
	var rec container.StatsResponse
	for range 100 {
		if err := tg.Read(&rec, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSystem(f.proc()); err != nil {
			t.Fatal(err)
		}
	}
	if n := openFDs(t); n != before+8 {
		t.Errorf("open descriptors %d after reading, want %d", n, before+8)
	}
	if err := tg.Close(); err != nil {
		t.Fatal(err)
	}
	if n := openFDs(t); n != before {
		t.Errorf("open descriptors %d before Probe, %d after Close", before, n)
	}

	for range 50 {
		tg := f.probe(t)
		if err := tg.Read(&rec, nil); err != nil {
			t.Fatal(err)
		}
		tg.Close()
	}
	dir := filepath.Join(f.cgroup(), "memory", "docker", f.id)
	// A Probe that fails reading (after opening every file) and one that
	// fails opening (after opening some).
	writeFile(t, filepath.Join(dir, "memory.usage_in_bytes"), "lots\n")
	if _, err := Probe(f.proc(), f.cgroup(), f.pid, f.id); err == nil {
		t.Fatal("Probe of a bad counter succeeded")
	}
	if err := os.Remove(filepath.Join(dir, "memory.stat")); err != nil {
		t.Fatal(err)
	}
	if _, err := Probe(f.proc(), f.cgroup(), f.pid, f.id); err == nil {
		t.Fatal("Probe without memory.stat succeeded")
	}
	if n := openFDs(t); n != before {
		t.Errorf("open descriptors %d before, %d after churn and failed Probes", before, n)
	}
}

func BenchmarkReadFixtureV1(b *testing.B) { benchRead(b, "v1-cgroupfs") }
func BenchmarkReadFixtureV2(b *testing.B) { benchRead(b, "v2-systemd") }

func benchRead(b *testing.B, name string) {
	f := loadFixture(b, name)
	tg := f.probe(b)
	sys := f.system(b)
	var rec container.StatsResponse
	b.ReportAllocs()
	for b.Loop() {
		if err := tg.Read(&rec, sys); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadSystem(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadSystem(""); err != nil {
			b.Fatal(err)
		}
	}
}
