package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/stream"
)

// The v2 systemd fixture of package cgroup: pid 4242 in the scope of this id.
const (
	fixtureID  = "3f1c9a7d5e2b4c6a8f0e1d2c3b4a59687f6e5d4c3b2a1908f7e6d5c4b3a29180"
	fixturePID = 4242
)

// useCgroupFixture points the direct source at a fixture of package cgroup
// and returns its absolute root.
func useCgroupFixture(t *testing.T, name string) string {
	t.Helper()
	return useCgroupTree(t, filepath.Join("..", "cgroup", "testdata", name))
}

func useCgroupTree(t *testing.T, root string) string {
	t.Helper()
	root, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	oldProc, oldCg := procRoot, cgroupRoot
	procRoot, cgroupRoot = filepath.Join(root, "proc"), filepath.Join(root, "sys", "fs", "cgroup")
	t.Cleanup(func() { procRoot, cgroupRoot = oldProc, oldCg })
	return root
}

func runModeSource(t *testing.T, fe *fakeEngine, mode StatsMode) (*Source, *recorder) {
	s, rec, _ := runModeSourceStop(t, fe, mode)
	return s, rec
}

func runModeSourceStop(t *testing.T, fe *fakeEngine, mode StatsMode) (*Source, *recorder, func()) {
	t.Helper()
	rec := newRecorder()
	s, stop := runSource(t, Config{
		Client: fe.client(t), Sink: rec, Stats: mode, Logf: t.Logf,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	return s, rec, stop
}

// openFiles counts this process's descriptors of files, and those of them
// in the fixture's cgroup tree under root. Left out: sockets, pipes and the
// like (the Engine client's connections come and go) and the fixture's
// proc files, which a pass opens for a moment to read the system's totals.
func openFiles(t *testing.T, root string) (files, held int) {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil || !strings.HasPrefix(target, "/") {
			continue // closed meanwhile (ReadDir's own), or not a file
		}
		if strings.HasPrefix(target, root+"/proc/") {
			continue
		}
		files++
		if strings.HasPrefix(target, root+"/sys/fs/cgroup/") {
			held++
		}
	}
	return files, held
}

// v2Files is how many files a Target of the v2-systemd fixture holds open:
// cpu.stat, memory.current, memory.max, memory.stat, io.stat, pids.current
// (host network: no net/dev).
const v2Files = 6

// Starting and stopping a container over and over leaks no descriptor:
// each die closes the files its start opened.
func TestCgroupChurnReleasesFiles(t *testing.T) {
	leakCheck(t)
	root := useCgroupFixture(t, "v2-systemd")
	fe := newFakeEngine(t)
	id := fe.create(fakeSpec{name: "web", id: fixtureID, pid: fixturePID})
	s, _, stop := runModeSourceStop(t, fe, StatsCgroup)
	baseline, held := openFiles(t, root)
	if held != 0 {
		t.Fatalf("%d fixture files open before any start", held)
	}
	for i := range 50 {
		fe.start(id)
		waitFor(t, "read directly", func() bool {
			return maps.Equal(s.StatsSources(), map[string]string{id: "cgroup"})
		})
		if _, held := openFiles(t, root); held != v2Files {
			t.Fatalf("start %d: %d fixture files open, want %d", i+1, held, v2Files)
		}
		fe.die(id, 0)
		waitFor(t, "dropped from the pass", func() bool { return len(s.StatsSources()) == 0 })
		if _, held := openFiles(t, root); held != 0 {
			t.Fatalf("die %d: %d fixture files still open", i+1, held)
		}
	}
	if files, _ := openFiles(t, root); files != baseline {
		t.Errorf("%d files open after 50 starts and dies, %d before", files, baseline)
	}

	// Closing the source closes what it still reads.
	fe.start(id)
	waitFor(t, "read directly", func() bool { return len(s.StatsSources()) == 1 })
	stop()
	if files, held := openFiles(t, root); held != 0 || files != baseline {
		t.Errorf("after the source ended: %d files open (%d of the fixture), %d before", files, held, baseline)
	}
}

// A container whose process is gone before its die event arrives is
// dropped from the pass and its files closed at the first failing read.
// Here the fixture's pids.current links to a child process's
// oom_score_adj, which reads ESRCH once the child is reaped, as a held
// file of a removed cgroup reads ENODEV.
func TestCgroupGoneDropsTarget(t *testing.T) {
	leakCheck(t)
	root := copyTree(t, filepath.Join("..", "cgroup", "testdata", "v2-systemd"))
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Skipf("no child process to watch: %v", err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	pids := filepath.Join(root, "sys", "fs", "cgroup", "system.slice", "docker-"+fixtureID+".scope", "pids.current")
	if err := os.Remove(pids); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fmt.Sprintf("/proc/%d/oom_score_adj", child.Process.Pid), pids); err != nil {
		t.Fatal(err)
	}
	root = useCgroupTree(t, root)
	baseline, _ := openFiles(t, root)
	fe := newFakeEngine(t)
	id := fe.create(fakeSpec{name: "web", id: fixtureID, pid: fixturePID})
	fe.start(id)
	s, rec := runModeSource(t, fe, StatsCgroup)
	waitFor(t, "a direct sample", func() bool {
		return rec.count(func(c call) bool { return c.kind == "stats" && c.id == id }) > 0
	})
	// pids.current is open as the child's file, outside the tree.
	if files, held := openFiles(t, root); held != v2Files-1 || files != baseline+v2Files {
		t.Fatalf("%d files open, %d of the fixture; want %d, %d", files, held, baseline+v2Files, v2Files-1)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	waitFor(t, "dropped without a die event", func() bool { return len(s.StatsSources()) == 0 })
	if files, _ := openFiles(t, root); files != baseline {
		t.Errorf("%d files open after the drop, %d before", files, baseline)
	}
	// The die event that follows finds nothing to stop.
	n := rec.count(func(c call) bool { return c.kind == "stats" && c.id == id })
	fe.die(id, 137)
	waitFor(t, "the die event seen", func() bool {
		c, ok := rec.get(id)
		return ok && c.State == "exited"
	})
	if m := rec.count(func(c call) bool { return c.kind == "stats" && c.id == id }); m != n {
		t.Errorf("%d samples after the container was dropped", m-n)
	}
}

// copyTree copies a fixture directory, symlinks included, into a
// temporary one and returns it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
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
	return dst
}

// In auto mode a container whose cgroup checks out is read directly, and
// the Engine is asked for no stats stream for it.
func TestAutoReadsCgroupWhenItChecksOut(t *testing.T) {
	leakCheck(t)
	useCgroupFixture(t, "v2-systemd")
	fe := newFakeEngine(t)
	id := fe.create(fakeSpec{name: "web", id: fixtureID, pid: fixturePID})
	fe.start(id)
	s, rec := runModeSource(t, fe, StatsAuto)
	waitFor(t, "cgroup source chosen", func() bool {
		return maps.Equal(s.StatsSources(), map[string]string{id: "cgroup"})
	})
	waitFor(t, "a direct sample", func() bool {
		return rec.count(func(c call) bool {
			return c.kind == "stats" && c.id == id && c.stats.MemUsage > 0 && c.stats.Source == "cgroup"
		}) > 0
	})
	if n := fe.statsOpen.Load(); n != 0 {
		t.Errorf("%d Engine stats streams open; the direct source needs none", n)
	}
	// die drops it from the pass at once.
	fe.die(id, 0)
	waitFor(t, "dropped from the pass", func() bool { return len(s.StatsSources()) == 0 })
}

// When the pid the Engine reports is not visible here (a remote Engine, a
// VM), auto mode falls back to the stats API without any user action.
func TestAutoFallsBackToAPIWhenCgroupUnreadable(t *testing.T) {
	leakCheck(t)
	useCgroupFixture(t, "v2-systemd")
	fe := newFakeEngine(t)
	remote := fe.create(fakeSpec{name: "remote", pid: 999999}) // no such pid in the fixture
	fe.start(remote)
	wrong := fe.create(fakeSpec{name: "wrong", pid: fixturePID}) // pid of another container
	fe.start(wrong)
	s, rec := runModeSource(t, fe, StatsAuto)
	waitFor(t, "both on the API", func() bool {
		return maps.Equal(s.StatsSources(), map[string]string{remote: "api", wrong: "api"})
	})
	waitFor(t, "API samples", func() bool {
		return rec.count(func(c call) bool { return c.kind == "stats" && c.id == remote }) > 0
	})
}

// Forced cgroup mode never uses the API: an unreadable container gets no
// stats rather than silently costing the Engine a stream.
func TestForcedCgroupNeverUsesAPI(t *testing.T) {
	leakCheck(t)
	useCgroupFixture(t, "v2-systemd")
	fe := newFakeEngine(t)
	remote := fe.create(fakeSpec{name: "remote", pid: 999999})
	fe.start(remote)
	local := fe.create(fakeSpec{name: "web", id: fixtureID, pid: fixturePID})
	fe.start(local)
	s, rec := runModeSource(t, fe, StatsCgroup)
	waitFor(t, "local read directly", func() bool {
		return rec.count(func(c call) bool { return c.kind == "stats" && c.id == local }) > 1
	})
	if got := s.StatsSources(); !maps.Equal(got, map[string]string{local: "cgroup"}) {
		t.Errorf("StatsSources = %v", got)
	}
	if n := fe.statsOpen.Load(); n != 0 {
		t.Errorf("%d Engine stats streams open in forced cgroup mode", n)
	}
	if n := fe.askedOneShot(remote) + fe.askedOneShot(local); n != 0 {
		t.Errorf("%d one-shot stats requests in forced cgroup mode", n)
	}
	if n := rec.count(func(c call) bool { return c.kind == "stats" && c.id == remote }); n != 0 {
		t.Errorf("%d samples for a container that cannot be read directly", n)
	}
}

// blockingInspects is a fake Engine for the probes: each inspect waits
// until release is closed, and they are counted. Only ContainerInspect is
// implemented (the embedded nil EngineAPI panics on anything else).
type blockingInspects struct {
	EngineAPI
	release chan struct{}

	mu            sync.Mutex
	running, most int
	asked         map[string]int
}

func (b *blockingInspects) ContainerInspect(ctx context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	b.mu.Lock()
	b.running++
	b.most = max(b.most, b.running)
	b.asked[id]++
	b.mu.Unlock()
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	b.mu.Lock()
	b.running--
	b.mu.Unlock()
	return client.ContainerInspectResult{}, errors.New("fake engine: no such container")
}

// TestCgroupProbesQueue: however many containers start at once, at most
// maxProbes goroutines probe them, the rest wait in the queue; a container
// stopped while queued is never inspected, and one stopped and started
// again while queued is inspected once, for its new start.
func TestCgroupProbesQueue(t *testing.T) {
	fe := &blockingInspects{release: make(chan struct{}), asked: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cc := newCgroupCollector(ctx, fe, newRecorder(), t.Logf, nil)
	defer cc.close()
	goroutines := runtime.NumGoroutine()
	const n = 50
	for i := range n {
		cc.start(fmt.Sprintf("c%02d", i), stream.Container{})
	}
	waitFor(t, "maxProbes inspects running", func() bool {
		fe.mu.Lock()
		defer fe.mu.Unlock()
		return fe.running == maxProbes
	})
	cc.mu.Lock()
	probers, queued := cc.probers, len(cc.queue)
	cc.mu.Unlock()
	if probers != maxProbes || queued != n-maxProbes {
		t.Errorf("%d probers and %d queued, want %d and %d", probers, queued, maxProbes, n-maxProbes)
	}
	if extra := runtime.NumGoroutine() - goroutines; extra > maxProbes+2 {
		t.Errorf("%d more goroutines for %d probes, want about %d", extra, n, maxProbes)
	}
	cc.stop("c20")
	cc.stop("c30")
	cc.start("c30", stream.Container{})
	close(fe.release)
	waitFor(t, "every probe done", func() bool {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		return cc.probers == 0 && len(cc.probing) == 0
	})
	fe.mu.Lock()
	defer fe.mu.Unlock()
	if fe.most > maxProbes {
		t.Errorf("%d inspects at once, want at most %d", fe.most, maxProbes)
	}
	for i := range n {
		id, want := fmt.Sprintf("c%02d", i), 1
		if id == "c20" {
			want = 0
		}
		if fe.asked[id] != want {
			t.Errorf("%s inspected %d times, want %d", id, fe.asked[id], want)
		}
	}
}
