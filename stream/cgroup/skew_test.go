package cgroup

import (
	"math"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/docker-live/docker-live/stream/stats"
)

// fakeClock is a monotonic clock the test moves by hand.
type fakeClock struct{ now time.Duration }

func (c *fakeClock) read() time.Duration { return c.now }

// TestSlowPassCPUIsExact: a pass reads /proc/stat once, then every
// container; under load a container's counters are read tens of
// milliseconds after the system's. A --cpus 0.5 container must still read
// 50 %, not more: the system time is taken at the container's own read.
func TestSlowPassCPUIsExact(t *testing.T) {
	f := copyFixture(t, "v1-systemd")
	cpuacct := filepath.Join(f.cgroup(), "cpu,cpuacct", "system.slice", "docker-"+f.id+".scope", "cpuacct.usage")
	tg := f.probe(t)
	clock := &fakeClock{}
	// A 2-CPU host; /proc/stat counts 100 ticks a second per CPU.
	ticks := uint64(1_000_000)
	setStat := func() {
		writeFile(t, filepath.Join(f.proc(), "stat"),
			"cpu  "+strconv.FormatUint(ticks, 10)+" 0 0 0 0 0 0 0 0 0\ncpu0 1 1 1 1 1 1 1 0 0\ncpu1 1 1 1 1 1 1 1 0 0\nintr 1\n")
	}
	usage := uint64(5_000_000_000)
	setUsage := func() { writeFile(t, cpuacct, strconv.FormatUint(usage, 10)+"\n") }
	// at advances the clock to the given moment, the /proc/stat ticks
	// with it, and the container's usage at exactly half a CPU.
	at := func(d time.Duration) {
		elapsed := d - clock.now
		clock.now = d
		ticks += uint64(elapsed/(10*time.Millisecond)) * 2
		usage += uint64(elapsed / 2)
		setStat()
		setUsage()
	}
	read := func(rec *container.StatsResponse, sys *System) {
		t.Helper()
		if err := tg.Read(rec, sys); err != nil {
			t.Fatal(err)
		}
	}
	system := func() *System {
		t.Helper()
		s, err := readSystem(f.proc(), clock.read)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	var rec container.StatsResponse
	at(0)
	read(&rec, system()) // the first pass: no delay

	cases := []struct {
		name     string
		sysAt    time.Duration // when the pass reads /proc/stat
		targetAt time.Duration // when it reads this container
	}{
		{"slow pass: the container read 50 ms after /proc/stat", time.Second, time.Second + 50*time.Millisecond},
		{"quick pass after a slow one", 2 * time.Second, 2 * time.Second},
		{"slower pass: 120 ms", 3 * time.Second, 3*time.Second + 120*time.Millisecond},
		{"slow again: 30 ms", 4 * time.Second, 4*time.Second + 30*time.Millisecond},
	}
	for _, c := range cases {
		at(c.sysAt)
		sys := system()
		at(c.targetAt)
		read(&rec, sys)
		got := stats.FromAPI(f.id, &rec, nil).CPUPercent
		if math.Abs(got-50) > 1e-9 {
			t.Errorf("%s: CPU %% = %.4f, want 50 (the container's quota)", c.name, got)
		}
	}
}
