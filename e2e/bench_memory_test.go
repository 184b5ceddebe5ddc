package e2e

// Figure 9: the streamer's memory, as the process a user's `docker live`
// starts (`live serve --detach`): VmRSS, VmHWM, PSS and the anonymous /
// file-backed split, at the medium and the large fleet, for both stats
// sources, with one `live watch` client attached and the 5-minute history
// full.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const figMemory = "9. Streamer memory"

// benchSmaps is /proc/PID/smaps_rollup's proportional set, in KiB.
type benchSmaps struct {
	pss, pssAnon, pssFile int64
}

func benchReadSmaps(pid int) benchSmaps {
	var m benchSmaps
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "Pss:":
			m.pss = v
		case "Pss_Anon:":
			m.pssAnon = v
		case "Pss_File:":
			m.pssFile = v
		}
	}
	return m
}

// memoryFigure measures n containers (the fleet must hold exactly that many).
func (b *bench) memoryFigure(t *testing.T, n int) {
	sec := b.rep.section(figMemory, "")
	ids := b.fleet.ensure(t, n)
	if len(sec.notes) == 0 {
		sec.note("Each streamer is started fresh, the way a user's first `docker live` starts it (the run's previous streamer stopped first): " +
			"`docker live serve --detach --idle-timeout 0 --stats-source SOURCE` (default --history 5m, default GOGC, no GOMEMLIMIT), while the run's " +
			"fleet of idle labelled containers runs. VmHWM at start-up is read as soon as /v1/health counts every container (the list and " +
			"the inspect of each are done, and `live watch --no-stream` shows a sample of every container). Then one `docker live watch --format json --filter label=...` " +
			"attaches; once it has printed the fleet's first table, the streamer's VmRSS is sampled every 200 ms for the window (the peak " +
			"is shown), PSS read from /proc/PID/smaps_rollup at its end, and the streamer's CPU time over the same window (from /proc/PID/stat) recorded beside them. The history is full from the first sample: each container's " +
			"ring is written in full when it is made (stream/hub newHistRing), so its pages are resident at once rather than over 5 minutes; " +
			"figure 8 (above) measures a ring filled by 5 real minutes.")
	}
	for _, source := range []string{"cgroup", "api"} {
		b.memoryOf(t, sec, ids, source)
	}
	sec.ran = true
}

func (b *bench) memoryOf(t *testing.T, sec *benchSection, ids []string, source string) {
	// A fresh streamer, as a user's first `docker live` starts it: the
	// run's current one is stopped first, so that VmHWM holds this
	// streamer's start-up only.
	b.stopStreamer(t)
	info := b.ensureStreamer(t, source)
	defer b.stopStreamer(t)
	var startup benchMem
	eventually(t, time.Minute, func() error {
		h, err := benchHealth(info.socket)
		if err != nil {
			return err
		}
		if c, _ := h["containers"].(float64); int(c) < len(ids) {
			return fmt.Errorf("streamer holds %v of %d containers", h["containers"], len(ids))
		}
		return nil
	})
	// Start-up ends with a sample of every container: the API source
	// counts a container as collected from its first request, before any
	// sample (and may then switch to streams), so its count says too little.
	b.waitWarm(t, ids)
	startup = benchRSS(info.pid)
	held := "?"
	if h, err := benchHealth(info.socket); err == nil {
		c, _ := h["containers"].(float64)
		held = strconv.Itoa(int(c))
	}

	var first benchLineCount
	benchStartTimed(t, dockerEnv(nil), first.onLine, "docker", "live", "watch", "--format", "json", "--filter", "label="+b.fleet.label)
	eventually(t, time.Minute, func() error {
		if n := first.n(); n < len(ids) {
			return fmt.Errorf("live watch printed %d of %d rows", n, len(ids))
		}
		return nil
	})
	window := b.sc.window / 2
	load := benchLoadAvg()
	rss := benchSampleRSS(info.pid)
	cpu0, cpuErr0 := benchReadProcStat(info.pid)
	time.Sleep(window) // the measurement window itself
	cpu1, cpuErr1 := benchReadProcStat(info.pid)
	peak, last := rss.end()
	sm := benchReadSmaps(info.pid)

	limit := int64(10 << 10) // KiB
	if source == "api" {
		limit = 14 << 10
	}
	sec.add(benchRow{
		Measure: fmt.Sprintf("%d containers, --stats-source %s: VmRSS peak in %s (anon + file)", len(ids), source, window),
		Ours:    fmt.Sprintf("%s (last %s)", peak, benchMiB(last.rss)),
		Target:  fmt.Sprintf("<= %s", benchMiB(limit)),
		Verdict: benchVerdict(peak.rss <= limit),
	})
	sec.add(benchRow{
		Measure: fmt.Sprintf("%d containers, --stats-source %s: PSS at the window's end (anon + file)", len(ids), source),
		Ours:    fmt.Sprintf("%s (anon %.1f + file %.1f)", benchMiB(sm.pss), float64(sm.pssAnon)/1024, float64(sm.pssFile)/1024),
	})
	sec.add(benchRow{
		Measure: fmt.Sprintf("%d containers, --stats-source %s: VmHWM at start-up (list + inspect of all)", len(ids), source),
		Ours:    fmt.Sprintf("%s (VmHWM at the window's end %s)", benchMiB(startup.hwm), benchMiB(last.hwm)),
		Target:  "<= 20 MiB",
		Verdict: benchVerdict(startup.hwm <= 20<<10),
	})
	if cpuErr0 == nil && cpuErr1 == nil {
		// Beside the memory, so that a change that saves memory by spending
		// CPU (a lower GOGC, for one) shows in the same run.
		ticks := (cpu1.utime + cpu1.stime) - (cpu0.utime + cpu0.stime)
		sec.add(benchRow{
			Measure: fmt.Sprintf("%d containers, --stats-source %s: streamer CPU in the same %s", len(ids), source, window),
			Ours:    benchCPUStr(float64(ticks)/100, window), // USER_HZ
		})
	}
	sec.note("%d containers, %s: the streamer held %s containers (the fleet's and any others on the Engine); load average %s at the window's start.",
		len(ids), source, held, load)
}
