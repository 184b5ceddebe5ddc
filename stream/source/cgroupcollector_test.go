package source

import (
	"maps"
	"path/filepath"
	"testing"
	"time"
)

// The v2 systemd fixture of package cgroup: pid 4242 in the scope of this id.
const (
	fixtureID  = "3f1c9a7d5e2b4c6a8f0e1d2c3b4a59687f6e5d4c3b2a1908f7e6d5c4b3a29180"
	fixturePID = 4242
)

func useCgroupFixture(t *testing.T, name string) {
	t.Helper()
	root := filepath.Join("..", "cgroup", "testdata", name)
	oldProc, oldCg := procRoot, cgroupRoot
	procRoot, cgroupRoot = filepath.Join(root, "proc"), filepath.Join(root, "sys", "fs", "cgroup")
	t.Cleanup(func() { procRoot, cgroupRoot = oldProc, oldCg })
}

func runModeSource(t *testing.T, fe *fakeEngine, mode StatsMode) (*Source, *recorder) {
	t.Helper()
	rec := newRecorder()
	s, _ := runSource(t, Config{
		Client: fe.client(t), Sink: rec, Stats: mode, Logf: t.Logf,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	return s, rec
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
		return rec.count(func(c call) bool { return c.kind == "stats" && c.id == id && c.stats.MemUsage > 0 }) > 0
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
	if n := rec.count(func(c call) bool { return c.kind == "stats" && c.id == remote }); n != 0 {
		t.Errorf("%d samples for a container that cannot be read directly", n)
	}
}
