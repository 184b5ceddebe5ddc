package e2e

// Figure 6 (synthetic): the real streamer against a fake Engine API that
// no real Engine on this machine could match: thousands of containers and
// 10,000 events a second. Named "synthetic" everywhere, since the Engine is
// not real. One normal CLI client, one normal WebSocket client, then one
// WebSocket client that never reads.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/e2e/synthetic"
	"github.com/docker-live/docker-live/stream"
)

var benchTimeNanoKey = []byte(`"timeNano":`)

// benchLineTimeNano reads an event line's timeNano without decoding it all.
func benchLineTimeNano(line []byte) (int64, bool) {
	i := bytes.Index(line, benchTimeNanoKey)
	if i < 0 {
		return 0, false
	}
	rest := line[i+len(benchTimeNanoKey):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	v, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return v, err == nil
}

var benchSeqKey = []byte(`"` + synthetic.SeqAttribute + `":"`)

// benchLineSeq reads a synthetic event's number (its synthetic.seq
// attribute) without decoding the line; -1 when it has none.
func benchLineSeq(line []byte) int64 {
	i := bytes.Index(line, benchSeqKey)
	if i < 0 {
		return -1
	}
	rest := line[i+len(benchSeqKey):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	v, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// benchLagLog collects latencies (and the synthetic events' numbers) from
// one reader while measuring is on.
type benchLagLog struct {
	mu   sync.Mutex
	on   bool
	lags []time.Duration
	seqs []int64
	n    atomic.Int64 // every message counted, measuring or not
}

func (l *benchLagLog) add(d time.Duration) { l.addSeq(d, -1) }

func (l *benchLagLog) addSeq(d time.Duration, seq int64) {
	l.n.Add(1)
	l.mu.Lock()
	if l.on {
		l.lags = append(l.lags, d)
		if seq >= 0 {
			l.seqs = append(l.seqs, seq)
		}
	}
	l.mu.Unlock()
}

// benchSeqCheck says whether the events read while measuring were each
// generated event exactly once: from the first number read to the last,
// none missing and none twice.
type benchSeqCheck struct {
	first, last, read, missing, twice int64
}

func (l *benchLagLog) seqCheck() benchSeqCheck {
	l.mu.Lock()
	s := slices.Clone(l.seqs)
	l.mu.Unlock()
	var c benchSeqCheck
	if len(s) == 0 {
		return c
	}
	slices.Sort(s)
	c.first, c.last, c.read = s[0], s[len(s)-1], int64(len(s))
	for i := 1; i < len(s); i++ {
		switch d := s[i] - s[i-1]; {
		case d == 0:
			c.twice++
		case d > 1:
			c.missing += d - 1
		}
	}
	return c
}

func (c benchSeqCheck) ok() bool { return c.read > 0 && c.missing == 0 && c.twice == 0 }

func (c benchSeqCheck) String() string {
	return fmt.Sprintf("%d events numbered %d to %d: %d missing, %d twice", c.read, c.first, c.last, c.missing, c.twice)
}

func (l *benchLagLog) measure(on bool) {
	l.mu.Lock()
	l.on = on
	l.mu.Unlock()
}

func (l *benchLagLog) sorted() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := slices.Clone(l.lags)
	slices.Sort(s)
	return s
}

// benchSynPhase is one measurement window of the synthetic figure.
type benchSynPhase struct {
	dur                     time.Duration
	generated, cli, wsEvent int64
	streamerCPU, selfCPU    float64
	cliCPU                  float64
	rssPeak, rssLast        benchMem
}

func (b *bench) synthetic(t *testing.T) {
	sec := b.rep.section(figSynthetic, "")
	sc := b.sc
	eng, err := synthetic.Start(synthetic.Config{Containers: sc.synContainers, Running: sc.synRunning, EventRate: sc.synRate})
	if err != nil {
		t.Fatalf("starting the synthetic Engine: %v", err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	config := filepath.Join(tmpRoot, "syn")
	if err := os.MkdirAll(config, 0o700); err != nil {
		t.Fatal(err)
	}
	env := mergeEnv(os.Environ(), []string{"DOCKER_CONFIG=" + config, "DOCKER_HOST=" + eng.Host(), "DOCKER_CONTEXT="})

	// The streamer in the foreground, run as the plugin binary itself.
	// --stats-source api: the synthetic containers have no cgroups to read.
	serve := benchStartTimed(t, env, func(time.Time, []byte) {}, pluginPath, "live", "serve", "--stats-source", "api")
	var socket string
	startAt := time.Now()
	eventually(t, 2*time.Minute, func() error {
		if serve.Exited() {
			t.Fatalf("docker-live live serve against the synthetic Engine exited: %s", serve.Stderr())
		}
		socks, _ := filepath.Glob(filepath.Join(config, "live", "*", "live.sock"))
		if len(socks) == 0 {
			return errors.New("no streamer socket yet")
		}
		socket = socks[0]
		h, err := benchHealth(socket)
		if err != nil {
			return err
		}
		if c, _ := h["containers"].(float64); int(c) < sc.synContainers {
			return fmt.Errorf("streamer holds %v of %d containers", h["containers"], sc.synContainers)
		}
		return nil
	})
	loaded := time.Since(startAt)
	pid := benchPID(serve)

	// Normal client 1: the events command, as a user runs it.
	var cliLag benchLagLog
	cli := benchStartTimed(t, env, func(at time.Time, line []byte) {
		if nano, ok := benchLineTimeNano(line); ok {
			cliLag.addSeq(at.Sub(time.Unix(0, nano)), benchLineSeq(line))
		}
	}, pluginPath, "live", "events", "--format", "json")
	// Normal client 2: a WebSocket client of every topic.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ws, err := benchWSDial(ctx, socket, stream.Subscription{})
	if err != nil {
		t.Fatalf("WebSocket client: %v", err)
	}
	var wsLag benchLagLog
	// The same WebSocket client's events timed from the Engine's stamp:
	// the streamer's whole path, without the CLI's second process.
	var wsEngineLag benchLagLog
	var wsOther, wsLargest atomic.Int64
	var wsDone sync.WaitGroup
	var wsErr error
	var wsEnded atomic.Int64 // unix nanos when the client's stream ended
	wsDone.Go(func() {
		wsErr = benchReadFrames(ws, func(at time.Time, data []byte) {
			typ, sent, ok := benchMsgHead(data)
			if typ == stream.TypeEvent && ok {
				wsLag.addSeq(at.Sub(sent), benchLineSeq(data))
				if nano, ok := benchLineTimeNano(data); ok {
					wsEngineLag.add(at.Sub(time.Unix(0, nano)))
				}
			} else {
				wsOther.Add(1)
				if n := int64(len(data)); n > wsLargest.Load() {
					wsLargest.Store(n)
				}
			}
		})
		wsEnded.Store(time.Now().UnixNano())
	})
	defer func() {
		ws.Close()
		wsDone.Wait()
	}()
	eventually(t, 30*time.Second, func() error {
		if cliLag.n.Load() == 0 || wsLag.n.Load() == 0 {
			return fmt.Errorf("events so far: CLI client %d, WebSocket client %d; stderr: %s", cliLag.n.Load(), wsLag.n.Load(), oneLine(cli.Stderr()))
		}
		return nil
	})
	time.Sleep(2 * time.Second) // settling after the first events, not a condition

	measure := func(d time.Duration, during func()) benchSynPhase {
		p := benchSynPhase{dur: d}
		gen0, cli0, ws0 := eng.EventsGenerated(), cliLag.n.Load(), wsLag.n.Load()
		strm := newBenchCPUMeter([]int{pid}, false)
		cliCPU := newBenchCPUMeter([]int{benchPID(cli)}, false)
		self := benchSelfCPU()
		rss := benchSampleRSS(pid)
		start := time.Now()
		cliLag.measure(true)
		wsLag.measure(true)
		wsEngineLag.measure(true)
		if during != nil {
			during()
		}
		time.Sleep(d - time.Since(start)) // the rest of the measurement window
		cliLag.measure(false)
		wsLag.measure(false)
		wsEngineLag.measure(false)
		p.dur = time.Since(start)
		p.generated, p.cli, p.wsEvent = eng.EventsGenerated()-gen0, cliLag.n.Load()-cli0, wsLag.n.Load()-ws0
		p.streamerCPU = strm.seconds()
		p.cliCPU = cliCPU.seconds()
		p.selfCPU = (benchSelfCPU() - self).Seconds()
		p.rssPeak, p.rssLast = rss.end()
		return p
	}
	half := sc.synWindow / 2
	windowsStart := time.Now()
	loadBefore := benchLoadAvg()
	normal := measure(half, nil)
	loadAfter := benchLoadAvg()
	wsEngineLagsNormal := wsEngineLag.sorted()
	// Checked on the first window only: in the second the slow client may
	// cost the others (the row below says how much).
	cliSeq, wsSeq := cliLag.seqCheck(), wsLag.seqCheck()
	cliLagsNormal, wsLagsNormal := cliLag.sorted(), wsLag.sorted()
	engineSubs, engineReqs, engineDrops := eng.EventSubscribers(), eng.Requests()["events"], eng.EventDrops()

	// The slow client subscribes to everything and never reads.
	slow, err := benchWSDial(ctx, socket, stream.Subscription{})
	if err != nil {
		t.Fatalf("slow client: %v", err)
	}
	defer slow.Close()
	var clientsSeen []string
	var slowGone time.Duration
	var sampler sync.WaitGroup
	slowAt := time.Now()
	// As long as the first, so that the two peaks compare.
	slowWindow := half
	withSlow := measure(slowWindow, func() {
		sampler.Go(func() {
			for time.Since(slowAt) < slowWindow {
				h, err := benchHealth(socket)
				if err == nil {
					c, _ := h["clients"].(float64)
					if n := strconv.Itoa(int(c)); len(clientsSeen) == 0 || !strings.HasPrefix(clientsSeen[len(clientsSeen)-1], n+" ") {
						clientsSeen = append(clientsSeen, fmt.Sprintf("%s from %s", n, time.Since(slowAt).Round(100*time.Millisecond)))
					}
					if int(c) < 3 && slowGone == 0 {
						slowGone = time.Since(slowAt)
					}
				}
				time.Sleep(500 * time.Millisecond) // health sampling period
			}
		})
	})
	sampler.Wait()
	windowsEnd := time.Now()
	// What the slow client would have read: buffered frames, then (if the
	// streamer could still send it) a close frame.
	_ = slow.SetReadDeadline(time.Now().Add(20 * time.Second))
	var closeErr *websocket.CloseError
	slowEnd := "still open after the window"
	for {
		if _, _, err := slow.NextReader(); err != nil {
			switch {
			case errors.As(err, &closeErr):
				slowEnd = fmt.Sprintf("closed by the streamer with code %d (%s)", closeErr.Code, closeErr.Text)
			default:
				slowEnd = "connection cut by the streamer: " + err.Error()
			}
			break
		}
	}

	// Graceful stop, as a user's Ctrl-C.
	stopAt := time.Now()
	serve.Signal(syscall.SIGTERM)
	serve.Wait(t, 15*time.Second)
	stopped := time.Since(stopAt)

	cliLags, wsLags := cliLag.sorted(), wsLag.sorted()
	if len(cliLags) == 0 {
		t.Fatalf("no events reached the CLI client during the windows; stderr: %s", oneLine(cli.Stderr()))
	}
	wsFate := "stayed connected"
	if end := wsEnded.Load(); end != 0 && end < windowsEnd.UnixNano() {
		wsFate = fmt.Sprintf("LOST its connection %s after the windows began: %v", time.Unix(0, end).Sub(windowsStart).Round(100*time.Millisecond), wsErr)
		t.Errorf("the normal WebSocket client %s", wsFate)
	}
	rate := func(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() }
	genRate := rate(normal.generated, normal.dur)
	cliRate := rate(normal.cli, normal.dur)
	sec.ran = true
	genOK := math.Abs(genRate-float64(sc.synRate)) <= 0.01*float64(sc.synRate)
	sec.add(benchRow{Measure: "events generated by the synthetic Engine (each once, however many read it)",
		Ours:    fmt.Sprintf("%.0f/s", genRate),
		Target:  fmt.Sprintf("the paced %d/s, within 1%%", sc.synRate),
		Verdict: benchVerdict(genOK)})
	sec.add(benchRow{
		Measure: "events delivered to `docker-live live events --format json`",
		Ours:    fmt.Sprintf("%.0f/s (%.0f/s with the slow client attached)", cliRate, rate(withSlow.cli, withSlow.dur)),
		Target:  fmt.Sprintf(">= %d/s", sc.synRate),
		Verdict: benchVerdict(cliRate >= 0.99*float64(sc.synRate) && cliRate >= 0.99*genRate),
	})
	sec.add(benchRow{Measure: "each event once, `live events` (first window, by the events' numbers)", Ours: cliSeq.String(),
		Target: "none missing, none twice", Verdict: benchVerdict(cliSeq.ok())})
	sec.add(benchRow{Measure: "each event once, WebSocket client (first window)", Ours: wsSeq.String(),
		Target: "none missing, none twice", Verdict: benchVerdict(wsSeq.ok())})
	sec.add(benchRow{Measure: "events delivered to a WebSocket client of every topic",
		Ours: fmt.Sprintf("%.0f/s (%.0f/s with the slow client)", rate(normal.wsEvent, normal.dur), rate(withSlow.wsEvent, withSlow.dur))})
	if len(cliLagsNormal) == 0 {
		t.Fatalf("no events reached the CLI client during the first window; stderr: %s", oneLine(cli.Stderr()))
	}
	cliP99 := benchPercentile(cliLagsNormal, 0.99)
	sec.add(benchRow{Measure: "Engine event to CLI line, p50 / p99 / max (first window)",
		Ours:    fmt.Sprintf("%s / %s / %s", benchMS(benchPercentile(cliLagsNormal, 0.5)), benchMS(cliP99), benchMS(cliLagsNormal[len(cliLagsNormal)-1])),
		Target:  "p99 <= 5 ms",
		Verdict: benchVerdict(cliP99 <= 5*time.Millisecond)})
	sec.add(benchRow{Measure: "Engine event to CLI line, p50 / p99 / max (both windows, the slow client's included)",
		Ours: fmt.Sprintf("%s / %s / %s", benchMS(benchPercentile(cliLags, 0.5)), benchMS(benchPercentile(cliLags, 0.99)), benchMS(cliLags[len(cliLags)-1]))})
	if len(wsLagsNormal) > 0 {
		sec.add(benchRow{Measure: "hub to WebSocket client, p50 / p99 / max (first window)", Ours: benchTriple(wsLagsNormal)})
	}
	if len(wsLags) > 0 {
		sec.add(benchRow{Measure: "hub to WebSocket client, p50 / p99 / max (both windows)",
			Ours: fmt.Sprintf("%s / %s / %s", benchMS(benchPercentile(wsLags, 0.5)), benchMS(benchPercentile(wsLags, 0.99)), benchMS(wsLags[len(wsLags)-1]))})
	}
	if len(wsEngineLagsNormal) > 0 {
		sec.add(benchRow{Measure: "Engine event to WebSocket client (the streamer's path, no CLI), p50 / p99 / max (first window)",
			Ours: benchTriple(wsEngineLagsNormal)})
	}
	sec.add(benchRow{Measure: "normal WebSocket client", Ours: wsFate})
	sec.add(benchRow{Measure: "streamer CPU", Ours: fmt.Sprintf("%s; with the slow client %s",
		benchCPUStr(normal.streamerCPU, normal.dur), benchCPUStr(withSlow.streamerCPU, withSlow.dur))})
	sec.add(benchRow{Measure: "`live events` CPU (first window)", Ours: benchCPUStr(normal.cliCPU, normal.dur)})
	sec.add(benchRow{Measure: "load average (1, 5, 15 min) before / after the first window", Ours: loadBefore + " / " + loadAfter})
	sec.add(benchRow{Measure: "streamer RSS, peak (at the window's end)",
		Ours: fmt.Sprintf("%s (%s); with the slow client %s (%s)", normal.rssPeak, benchMiB(normal.rssLast.rss),
			withSlow.rssPeak, benchMiB(withSlow.rssLast.rss)),
		Target:  "bounded: the slow client is dropped and RSS ends within 10% of the normal peak",
		Verdict: benchVerdict(slowGone > 0 && float64(withSlow.rssLast.rss) <= 1.1*float64(normal.rssPeak.rss))})
	sec.add(benchRow{Measure: "slow client", Ours: fmt.Sprintf("%s; streamer's client count dropped %s after it attached",
		slowEnd, benchDurOrNever(slowGone))})
	sec.note("A fake Engine API in the test process (e2e/synthetic; API %s over TCP on 127.0.0.1): %d containers (%d running, "+
		"each streaming a constant stats record a second), /events paced at %d/s in 1 ms steps, cycling over all containers "+
		"as health checks do (exec_create, exec_start, exec_die, then health_status alternating healthy/unhealthy: one in four "+
		"events changes a container). The real streamer, `docker-live live serve --stats-source api` with DOCKER_HOST pointing at it and "+
		"its own DOCKER_CONFIG, listed and inspected all %d containers in %s. Two windows: %s with normal clients only, then %s with one more "+
		"WebSocket client (every topic) that never reads. The streamer's client count during the second (from /v1/health): %s. "+
		"The Engine makes each event once and hands the same numbered event to every /events client (it keeps the last 256 for since= queries, "+
		"as the Engine does); during the first window it had %d live /events client(s) (the streamer), had answered %d /events requests in all "+
		"(the streamer's, and the events command's catch-up query, answered from its buffer), and had dropped %d for falling behind. "+
		"The largest message the WebSocket client of every topic received (its snapshot) was %s. "+
		"The test process (synthetic Engine and WebSocket clients) used %s and %s. The streamer stopped %s after SIGTERM.",
		synthetic.APIVersion, sc.synContainers, sc.synRunning, sc.synRate, sc.synContainers, loaded.Round(time.Millisecond), half, slowWindow,
		strings.Join(clientsSeen, ", then "), engineSubs, engineReqs, engineDrops, benchMiB(wsLargest.Load()/1024), benchCPUStr(normal.selfCPU, normal.dur), benchCPUStr(withSlow.selfCPU, withSlow.dur), stopped.Round(time.Millisecond))
}

func benchDurOrNever(d time.Duration) string {
	if d == 0 {
		return "never within the window"
	}
	return d.Round(100 * time.Millisecond).String()
}
