package e2e

// Figures 1 and 2: how long after the Engine stamps an event it is printed
// by `docker live events` (beside `docker events`, listening at the same
// time) and shown as the container's new state by `docker live watch`.
// The test pauses and unpauses the fleet's containers one at a time with
// the docker CLI and waits until every observer has seen each change, so
// that no latency includes a queue of earlier changes.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// benchObserved is one change an observer printed, stamped on receipt.
type benchObserved struct {
	action string // event action, or the watched state
	id     string
	nano   int64 // the event's timeNano; 0 for watch lines
	at     time.Time
}

// benchObserver collects the lines of one docker command. wake is shared by all
// observers of a figure, so that one wait can watch them all.
type benchObserver struct {
	mu    sync.Mutex
	recs  []benchObserved
	lines int
	bad   int
	keep  func(o benchObserved) bool
	wake  chan struct{}
	watch bool // lines are `live watch --format json` rows, not events
}

func newBenchObserver(wake chan struct{}, watch bool, keep func(benchObserved) bool) *benchObserver {
	return &benchObserver{wake: wake, watch: watch, keep: keep}
}

func (o *benchObserver) onLine(at time.Time, line []byte) {
	var rec benchObserved
	if o.watch {
		var r benchWatchRow
		if err := json.Unmarshal(line, &r); err != nil {
			o.count(false)
			return
		}
		rec = benchObserved{action: r.State, id: r.ID, at: at}
	} else {
		var m struct {
			Action   string
			Actor    struct{ ID string }
			TimeNano int64 `json:"timeNano"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			o.count(false)
			return
		}
		rec = benchObserved{action: m.Action, id: m.Actor.ID, nano: m.TimeNano, at: at}
	}
	o.add(rec)
}

// add keeps rec (if wanted) and wakes whoever waits on the observers.
func (o *benchObserver) add(rec benchObserved) {
	o.mu.Lock()
	o.lines++
	if o.keep == nil || o.keep(rec) {
		o.recs = append(o.recs, rec)
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *benchObserver) count(ok bool) {
	o.mu.Lock()
	if !ok {
		o.bad++
	}
	o.mu.Unlock()
}

func (o *benchObserver) lineCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lines
}

// find returns the first record of action for id received after since
// (and, for events, stamped at or after it).
func (o *benchObserver) find(action, id string, since time.Time) (benchObserved, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range o.recs {
		if r.action == action && r.id == id && r.at.After(since) && (r.nano == 0 || r.nano >= since.UnixNano()) {
			return r, true
		}
	}
	return benchObserved{}, false
}

// benchAwait waits until cond holds or timeout passes; it wakes on every line
// any observer sharing wake receives.
func benchAwait(wake <-chan struct{}, timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-wake:
		case <-deadline.C:
			return cond()
		}
	}
	return true
}

func (b *bench) latency(t *testing.T) {
	evSec := b.rep.section(figEvents, "docker events")
	stSec := b.rep.section(figStatus, "")
	ids := b.fleet.ensure(t, b.sc.counts[1])
	s := b.ensureStreamer(t, b.sc.source)
	b.waitWarm(t, ids)

	wake := make(chan struct{}, 1)
	isPause := func(o benchObserved) bool { return o.action == "pause" || o.action == "unpause" }
	dockerObs := newBenchObserver(wake, false, isPause)
	liveObs := newBenchObserver(wake, false, isPause)
	watchObs := newBenchObserver(wake, true, func(o benchObserved) bool { return o.action == "paused" })
	filter := []string{"--filter", "type=container", "--filter", "label=" + b.fleet.label}
	benchStartTimed(t, nil, dockerObs.onLine, append([]string{"docker", "events", "--format", "json"}, filter...)...)
	benchStartTimed(t, nil, liveObs.onLine, append([]string{"docker", "live", "events", "--format", "json"}, filter...)...)
	watch := []string{"docker", "live", "watch", "--format", "json", "--filter", "label=" + b.fleet.label}
	benchStartTimed(t, nil, watchObs.onLine, watch...)
	// The streamer's own output, read straight off its socket, splits each
	// latency into the streamer's part and the CLI client's.
	wsEvents := newBenchObserver(wake, false, isPause)
	wsState := newBenchObserver(wake, true, func(o benchObserved) bool { return o.action == "paused" })
	ws, err := benchWSDial(context.Background(), s.socket, stream.Subscription{Topics: []string{stream.TopicContainers, stream.TopicEvents}})
	if err != nil {
		t.Fatalf("WebSocket client: %v", err)
	}
	var wsDone sync.WaitGroup
	wsDone.Go(func() {
		_ = benchReadFrames(ws, func(at time.Time, data []byte) {
			var m stream.Message
			if json.Unmarshal(data, &m) != nil {
				return
			}
			switch {
			case m.Type == stream.TypeEvent && m.Event != nil:
				wsEvents.add(benchObserved{action: string(m.Event.Action), id: m.Event.Actor.ID, nano: m.Event.TimeNano, at: at})
			case m.Type == stream.TypeContainer && m.Container != nil:
				wsState.add(benchObserved{action: m.Container.State, id: m.Container.ID, at: at})
			}
		})
	})
	defer func() {
		ws.Close()
		wsDone.Wait()
	}()
	if !benchAwait(wake, 30*time.Second, func() bool { return watchObs.lineCount() >= len(ids) }) {
		t.Fatalf("docker live watch printed %d lines, not a first table of %d, within 30 s", watchObs.lineCount(), len(ids))
	}

	seen := func(action, id string, since time.Time, obs ...*benchObserver) bool {
		for _, o := range obs {
			if _, ok := o.find(action, id, since); !ok {
				return false
			}
		}
		return true
	}
	// The event commands print nothing until an event comes: pause and
	// unpause until both show one, so that both are surely subscribed.
	warm := ids[0]
	ready := false
	for range 20 {
		since := time.Now()
		dockerCmd(t, "pause", warm)
		ok := benchAwait(wake, 3*time.Second, func() bool { return seen("pause", warm, since, dockerObs, liveObs) })
		dockerCmd(t, "unpause", warm)
		if ok && benchAwait(wake, 3*time.Second, func() bool { return seen("unpause", warm, since, dockerObs, liveObs) }) {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatalf("docker events and docker live events never both showed a pause of %.12s", warm)
	}

	const wait = 10 * time.Second
	var liveLat, dockerLat, statusLat, statusCmdLat, wsEvLat, wsStateLat []time.Duration
	// Per event, how much later than docker events a line or a message
	// came: the Engine's own delays, common to both, cancel out.
	var liveVsDocker, wsVsDocker []time.Duration
	missed := map[string]int{}
	cycles := b.sc.events / 2
	start := time.Now()
	for i := range cycles {
		// The warm-up container's first events were the readiness probes.
		id := ids[1+i%(len(ids)-1)]
		for _, action := range []string{"pause", "unpause"} {
			issued := time.Now()
			dockerCmd(t, action, id)
			want := []*benchObserver{dockerObs, liveObs, wsEvents}
			ok := benchAwait(wake, wait, func() bool {
				if !seen(action, id, issued, want...) {
					return false
				}
				return action != "pause" || seen("paused", id, issued, watchObs, wsState)
			})
			if we, ok := wsEvents.find(action, id, issued); ok {
				wsEvLat = append(wsEvLat, we.at.Sub(time.Unix(0, we.nano)))
				if d, ok := dockerObs.find(action, id, issued); ok {
					wsVsDocker = append(wsVsDocker, we.at.Sub(d.at))
				}
			}
			d, dok := dockerObs.find(action, id, issued)
			l, lok := liveObs.find(action, id, issued)
			if !dok {
				missed["docker events "+action]++
			}
			if !lok {
				missed["docker live events "+action]++
			}
			if dok {
				dockerLat = append(dockerLat, d.at.Sub(time.Unix(0, d.nano)))
			}
			if lok {
				liveLat = append(liveLat, l.at.Sub(time.Unix(0, l.nano)))
			}
			if dok && lok {
				liveVsDocker = append(liveVsDocker, l.at.Sub(d.at))
			}
			if action == "pause" {
				w, wok := watchObs.find("paused", id, issued)
				switch {
				case !wok:
					missed["docker live watch paused state"]++
				case dok:
					statusLat = append(statusLat, w.at.Sub(time.Unix(0, d.nano)))
					statusCmdLat = append(statusCmdLat, w.at.Sub(issued))
					if ws, ok := wsState.find("paused", id, issued); ok {
						wsStateLat = append(wsStateLat, ws.at.Sub(time.Unix(0, d.nano)))
					}
				}
			}
			if !ok {
				t.Logf("%s of %.12s: not seen by every observer within %v", action, id, wait)
			}
		}
	}
	elapsed := time.Since(start)
	for what, n := range missed {
		t.Errorf("%s: %d changes not printed within %v", what, n, wait)
	}

	if len(liveLat) == 0 || len(dockerLat) == 0 || len(statusLat) == 0 {
		t.Fatalf("nothing measured: %d docker live events, %d docker events, %d watch latencies", len(liveLat), len(dockerLat), len(statusLat))
	}
	for _, ds := range [][]time.Duration{liveLat, dockerLat, statusLat, statusCmdLat, wsEvLat, wsStateLat, liveVsDocker, wsVsDocker} {
		slices.Sort(ds)
	}
	evSec.ran = true
	p99Live, p99Docker := benchPercentile(liveLat, 0.99), benchPercentile(dockerLat, 0.99)
	evSec.add(benchRow{Measure: fmt.Sprintf("p50 (%d events)", len(liveLat)), Ours: benchMS(benchPercentile(liveLat, 0.5)), Anchor: benchMS(benchPercentile(dockerLat, 0.5))})
	evSec.add(benchRow{Measure: "p99", Ours: benchMS(p99Live), Anchor: benchMS(p99Docker),
		Target:  "<= 5 ms and <= docker events' p99 + 3 ms",
		Verdict: benchVerdict(p99Live <= 5*time.Millisecond && p99Live <= p99Docker+3*time.Millisecond)})
	evSec.add(benchRow{Measure: "max", Ours: benchMS(liveLat[len(liveLat)-1]), Anchor: benchMS(dockerLat[len(dockerLat)-1])})
	evSec.add(benchRow{Measure: "events over 5 ms", Ours: benchOver(liveLat, 5*time.Millisecond), Anchor: benchOver(dockerLat, 5*time.Millisecond)})
	evSec.add(benchRow{Measure: fmt.Sprintf("p50 / p99 / max at the streamer's socket, before the CLI (%d events)", len(wsEvLat)),
		Ours: benchTriple(wsEvLat)})
	evSec.add(benchRow{Measure: "later than docker events' line for the same event, p50 / p99 / max: docker live events",
		Ours: benchTriple(liveVsDocker)})
	evSec.add(benchRow{Measure: "later than docker events' line for the same event, p50 / p99 / max: the streamer's socket",
		Ours: benchTriple(wsVsDocker)})
	evSec.note("From the event's timeNano (the Engine's clock, on this host) to the moment the test read the line from the "+
		"command's stdout pipe. Commands: `docker live events --format json %s` and `docker events --format json %s`, "+
		"running side by side; %d pause/unpause pairs of %d idle containers issued one at a time with `docker pause`/`docker unpause` "+
		"in %s; the streamer meanwhile streams stats of all %d. The socket row is a WebSocket client in the test process "+
		"subscribed to containers and events on the streamer's Unix socket: it shows the streamer's share of the latency.",
		benchArgs(filter), benchArgs(filter), cycles, len(ids)-1, elapsed.Round(time.Second), len(ids))

	stSec.ran = true
	stSec.add(benchRow{Measure: fmt.Sprintf("p50 after the Engine's pause event (%d pauses)", len(statusLat)), Ours: benchMS(benchPercentile(statusLat, 0.5))})
	stSec.add(benchRow{Measure: "p99 after the Engine's pause event", Ours: benchMS(benchPercentile(statusLat, 0.99)),
		Target: "<= 10 ms", Verdict: benchVerdict(benchPercentile(statusLat, 0.99) <= 10*time.Millisecond)})
	stSec.add(benchRow{Measure: "max after the Engine's pause event", Ours: benchMS(statusLat[len(statusLat)-1])})
	stSec.add(benchRow{Measure: fmt.Sprintf("p50 / p99 / max of the container message at the streamer's socket (%d)", len(wsStateLat)),
		Ours: benchTriple(wsStateLat)})
	stSec.add(benchRow{Measure: "p50 after `docker pause` was started", Ours: benchMS(benchPercentile(statusCmdLat, 0.5))})
	stSec.add(benchRow{Measure: "p99 after `docker pause` was started", Ours: benchMS(benchPercentile(statusCmdLat, 0.99))})
	stSec.note("Time until `%s` printed the container's row with state \"paused\". The second pair counts from the start "+
		"of the `docker pause` command, so it includes the CLI's start-up and the Engine's pause itself "+
		"(docker stats has no state column to compare with).", benchArgs(watch[1:]))
}

func benchArgs(args []string) string {
	out := ""
	for i, a := range args {
		if i > 0 {
			out += " "
		}
		if a == "" || strings.ContainsAny(a, " \t'\"{}") {
			a = "'" + a + "'"
		}
		out += a
	}
	return out
}

// benchTriple prints p50 / p99 / max of sorted ds.
func benchTriple(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none measured"
	}
	return fmt.Sprintf("%s / %s / %s", benchMS(benchPercentile(ds, 0.5)), benchMS(benchPercentile(ds, 0.99)), benchMS(ds[len(ds)-1]))
}

// benchOver says how many of ds exceed limit, e.g. "4 of 300".
func benchOver(ds []time.Duration, limit time.Duration) string {
	n := 0
	for _, d := range ds {
		if d > limit {
			n++
		}
	}
	return fmt.Sprintf("%d of %d", n, len(ds))
}
