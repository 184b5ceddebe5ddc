package e2e

// Figure 8 of `make bench`: what the stats history (issue 10) costs. The
// streamer's RSS with a full history against history off, the size of the
// history frame, and how long a new subscriber waits for its first complete
// view (hello + snapshot + history), all at the large fleet.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
)

const figHistory = "8. Stats history"

// benchHistorySizes is the figure's fleet and history span: the large
// fleet and the default 5 minutes, unless DOCKER_LIVE_BENCH_HISTORY_N or
// DOCKER_LIVE_BENCH_HISTORY say otherwise (quick runs: 1 minute).
func (b *bench) benchHistorySizes(t *testing.T) (n int, span time.Duration) {
	n, span = b.sc.counts[2], 5*time.Minute
	if b.sc.quick {
		span = time.Minute
	}
	if v := os.Getenv("DOCKER_LIVE_BENCH_HISTORY_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("DOCKER_LIVE_BENCH_HISTORY_N=%q: want a positive number", v)
		}
	}
	if v := os.Getenv("DOCKER_LIVE_BENCH_HISTORY"); v != "" {
		var err error
		if span, err = time.ParseDuration(v); err != nil || span <= 0 {
			t.Fatalf("DOCKER_LIVE_BENCH_HISTORY=%q: want a positive duration", v)
		}
	}
	return n, span
}

// benchSideStreamer is a foreground streamer of the plugin binary with its
// own DOCKER_CONFIG, so that two can run side by side against the Engine.
type benchSideStreamer struct {
	pid    int
	socket string
}

// startSideStreamer runs `docker-live live serve --history span` in the
// foreground under a DOCKER_CONFIG of its own, killed at cleanup.
func (b *bench) startSideStreamer(t *testing.T, name string, span time.Duration) *benchSideStreamer {
	t.Helper()
	config := filepath.Join(tmpRoot, name)
	if err := os.MkdirAll(config, 0o700); err != nil {
		t.Fatal(err)
	}
	env := mergeEnv(os.Environ(), []string{"DOCKER_CONFIG=" + config})
	p := benchStartTimed(t, env, func(time.Time, []byte) {}, pluginPath, "live", "serve", "--stats-source", b.sc.source, "--history", span.String())
	s := &benchSideStreamer{pid: benchPID(p)}
	eventually(t, time.Minute, func() error {
		if p.Exited() {
			t.Fatalf("docker-live live serve --history %s exited: %s", span, p.Stderr())
		}
		socks, _ := filepath.Glob(filepath.Join(config, "live", "*", "live.sock"))
		if len(socks) == 0 {
			return errors.New("no streamer socket yet")
		}
		s.socket = socks[0]
		_, err := benchHealth(s.socket)
		return err
	})
	return s
}

// rssWithClient samples s's RSS for window while one WebSocket client
// follows containers and stats of the fleet, as a live view would.
func (b *bench) rssWithClient(t *testing.T, s *benchSideStreamer, window time.Duration) benchMem {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), window+30*time.Second)
	defer cancel()
	c, err := benchWSDial(ctx, s.socket, stream.Subscription{Topics: []string{stream.TopicContainers, stream.TopicStats},
		Filter: stream.ContainerFilter{Labels: []string{b.fleet.label}}})
	if err != nil {
		t.Fatalf("dialling the streamer: %v", err)
	}
	defer c.Close()
	var batches atomic.Int64
	go func() {
		_ = benchReadFrames(c, func(_ time.Time, data []byte) {
			if typ, _, _ := benchMsgHead(data); typ == stream.TypeStats {
				batches.Add(1)
			}
		})
	}()
	rss := benchSampleRSS(s.pid)
	time.Sleep(window) // the measurement window itself
	peak, _ := rss.end()
	if batches.Load() == 0 {
		t.Errorf("the client got no stats batch in %s", window)
	}
	return peak
}

// benchFirstView is one new subscriber's wait for its first complete view.
type benchFirstView struct {
	took      time.Duration // from dialling to the last frame of the view
	historyB  int           // the history frame's size; 0 without history
	snapshotB int
	samples   int // samples in the history, all containers
}

// firstView dials, subscribes to containers and stats (with history when
// asked) filtered to the fleet, and times the frames up to the complete view.
func (b *bench) firstView(t *testing.T, s *benchSideStreamer, history bool) benchFirstView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub := stream.Subscription{Topics: []string{stream.TopicContainers, stream.TopicStats},
		Filter: stream.ContainerFilter{Labels: []string{b.fleet.label}}}
	if history {
		sub.History = stream.HistoryRequest{Want: true}
	}
	start := time.Now()
	c, err := benchWSDial(ctx, s.socket, sub)
	if err != nil {
		t.Fatalf("dialling the streamer: %v", err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var v benchFirstView
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("reading the first view: %v", err)
		}
		typ, _, _ := benchMsgHead(data)
		switch typ {
		case stream.TypeSnapshot:
			v.snapshotB = len(data)
			if !history {
				v.took = time.Since(start)
				return v
			}
		case stream.TypeHistory:
			v.took = time.Since(start)
			v.historyB = len(data)
			var m stream.Message
			if err := json.Unmarshal(data, &m); err != nil || m.History == nil {
				t.Fatalf("history frame does not decode: %v", err)
			}
			for _, h := range m.History.Containers {
				v.samples += len(h.CPUPercent)
			}
			return v
		case stream.TypeStats:
			if history {
				t.Fatalf("live stats before the history")
			}
		}
	}
}

func (b *bench) history(t *testing.T) {
	sec := b.rep.section(figHistory, "history off")
	n, span := b.benchHistorySizes(t)
	ids := b.fleet.ensure(t, n)
	// The run's own streamer would only add load.
	b.stopStreamer(t)
	const views = 3

	// Side by side, started together, so that both have run as long when
	// measured: heap growth over time is not charged to the history.
	off := b.startSideStreamer(t, "hist-off", 0)
	on := b.startSideStreamer(t, "hist-on", span)
	started := time.Now()
	// The figure is defined at a full history: the rings hold span of
	// samples only once the streamer has run that long. This wait is that
	// definition, not a guess at how long something takes.
	time.Sleep(time.Until(started.Add(span + 2*time.Second)))
	window := b.sc.window / 2
	offRSS := b.rssWithClient(t, off, window)
	onRSS := b.rssWithClient(t, on, window)

	var offViews, onViews, plainViews []time.Duration
	var last benchFirstView
	for range views {
		offViews = append(offViews, b.firstView(t, off, false).took)
		last = b.firstView(t, on, true)
		onViews = append(onViews, last.took)
		plainViews = append(plainViews, b.firstView(t, on, false).took)
	}
	want := len(ids) * int(span/time.Second)
	if last.samples < want*9/10 {
		t.Errorf("the history frame holds %d samples, want about %d (%d containers x %s)", last.samples, want, len(ids), span)
	}
	rings := int64(len(ids) * int(span/time.Second) * 48)

	sec.ran = true
	sec.add(benchRow{
		Measure: fmt.Sprintf("streamer RSS, %d containers, one client, full %s history (peak in %s)", len(ids), span, window),
		Ours:    fmt.Sprintf("%s (+%s over history off; the rings alone: %s)", onRSS, benchMiB(onRSS.rss-offRSS.rss), benchMiB(rings/1024)),
		Anchor:  offRSS.String(),
	})
	sec.add(benchRow{
		Measure: fmt.Sprintf("history frame, %d containers x %s", len(ids), span),
		Ours:    fmt.Sprintf("%.2f MiB (%d samples, %.1f bytes per sample)", float64(last.historyB)/(1<<20), last.samples, float64(last.historyB)/float64(max(last.samples, 1))),
		Anchor:  fmt.Sprintf("snapshot frame %.2f MiB", float64(last.snapshotB)/(1<<20)),
	})
	sec.add(benchRow{
		Measure: fmt.Sprintf("new subscriber's first complete view, %d containers (median of %d)", len(ids), views),
		Ours:    fmt.Sprintf("%s with history (hello + snapshot + history)", benchMS(benchMedian(onViews))),
		Anchor:  fmt.Sprintf("%s without history, same streamer; %s with history off", benchMS(benchMedian(plainViews)), benchMS(benchMedian(offViews))),
	})
	sec.note("Two streamers side by side (`docker-live live serve --stats-source %s --history %s` and `--history 0`, each with its own "+
		"DOCKER_CONFIG), started together with the fleet of %d idle labelled containers running and measured after %s, when the first's "+
		"rings were full. RSS from /proc/PID/status while one WebSocket client in the test process followed the fleet's containers and "+
		"stats. First view: a new WebSocket client dials the Unix socket and subscribes to containers and stats filtered to the fleet's "+
		"label, with `\"history\": true` or without; timed from the dial to the receipt of the history frame (or of the snapshot "+
		"without history).", b.sc.source, span, len(ids), time.Since(started).Round(time.Second))
}
