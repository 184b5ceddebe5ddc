package e2e

// Issue "watch/events", the events half: `docker live events` against
// `docker events` itself, across a killed streamer, and its filters.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/stream"
)

// cliEvent is the part of a `docker events --format json` line tests use.
type cliEvent struct {
	Type   string `json:"Type"`
	Action string `json:"Action"`
	Actor  struct {
		ID         string            `json:"ID"`
		Attributes map[string]string `json:"Attributes"`
	} `json:"Actor"`
	TimeNano int64 `json:"timeNano"`
}

func (e cliEvent) key() evKey { return evKey{e.TimeNano, e.Action, e.Actor.ID} }

// eventLines gathers the JSON event lines of one Proc, keyed by event.
type eventLines struct {
	p    *Proc
	keys map[evKey]int
	raw  map[evKey]string
	all  []evKey // in output order
}

func newEventLines(p *Proc) *eventLines {
	return &eventLines{p: p, keys: map[evKey]int{}, raw: map[evKey]string{}}
}

// take records one line, failing the test when it is not an event object.
func (l *eventLines) take(t testing.TB, line string) cliEvent {
	t.Helper()
	var ev cliEvent
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.TimeNano == 0 || ev.Action == "" {
		t.Fatalf("docker %s printed a line that is not an event (%v): %q", strings.Join(l.p.args, " "), err, line)
	}
	k := ev.key()
	l.keys[k]++
	l.raw[k] = line
	l.all = append(l.all, k)
	return ev
}

// until reads lines until match accepts an event, failing after timeout.
func (l *eventLines) until(t testing.TB, timeout time.Duration, desc string, match func(cliEvent) bool) cliEvent {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-l.p.Lines:
			if !ok {
				t.Fatalf("waiting for %s: docker %s ended; stderr: %s", desc, strings.Join(l.p.args, " "), l.p.Stderr())
			}
			if ev := l.take(t, line); match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("waiting for %s: not within %v from docker %s; stderr: %s", desc, timeout, strings.Join(l.p.args, " "), l.p.Stderr())
		}
	}
}

// window returns the events with from < timeNano <= to.
func (l *eventLines) window(from, to int64) map[evKey]int {
	out := map[evKey]int{}
	for k, n := range l.keys {
		if k.TimeNano > from && k.TimeNano <= to {
			out[k] = n
		}
	}
	return out
}

// pauseCycles pauses and unpauses each container n times through the
// Engine API. Refusals caused by the Engine's own asynchronous pause state
// (pauseRace) are tolerated: the Engine's event stream, not the calls, is
// the reference.
func pauseCycles(t testing.TB, engine *client.Client, cs []Container, n int) {
	t.Helper()
	ctx := t.Context()
	for range n {
		for _, c := range cs {
			if _, err := engine.ContainerPause(ctx, c.ID, client.ContainerPauseOptions{}); err != nil && !pauseRace(err) {
				t.Fatalf("pause %.12s: %v", c.ID, err)
			}
			if _, err := engine.ContainerUnpause(ctx, c.ID, client.ContainerUnpauseOptions{}); err != nil && !pauseRace(err) {
				t.Fatalf("unpause %.12s: %v", c.ID, err)
			}
		}
	}
}

// attachEvents starts `docker live events` and `docker events` with the
// same args and returns once both demonstrably print live events.
func attachEvents(t testing.TB, c Container, args ...string) (ours, ref *eventLines) {
	t.Helper()
	ref = newEventLines(startDocker(t, append([]string{"events", "--format", "json"}, args...)...))
	ours = newEventLines(startDocker(t, append([]string{"live", "events", "--format", "json"}, args...)...))
	// Neither prints before an event, and neither replays the past without
	// --since: poke until both show one.
	awaitBothListening(t, ref, ours, c.ID, 3*time.Second, func() {
		dockerCmd(t, "pause", c.ID)
		dockerCmd(t, "unpause", c.ID)
	})
	return ours, ref
}

// awaitBothListening calls poke (which pauses and unpauses container id)
// until docker events (ref) and docker live events (ours) have both printed
// its unpause, each within wait of a poke; it fails the test after 5 tries.
// The lines read meanwhile are taken as usual.
func awaitBothListening(t testing.TB, ref, ours *eventLines, id string, wait time.Duration, poke func()) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		poke()
		seen := func(l *eventLines) bool {
			deadline := time.After(wait)
			for {
				select {
				case line, open := <-l.p.Lines:
					if !open {
						t.Fatalf("docker %s ended; stderr: %s", strings.Join(l.p.args, " "), l.p.Stderr())
					}
					if ev := l.take(t, line); ev.Action == "unpause" && ev.Actor.ID == id {
						return true
					}
				case <-deadline:
					return false
				}
			}
		}
		okRef, okOurs := seen(ref), seen(ours)
		if okRef && okOurs {
			return
		}
		if attempt == 5 {
			t.Fatalf("docker events (%v) and docker live events (%v) did not both show an unpause in 5 tries; stderr: %s", okRef, okOurs, ours.p.Stderr())
		}
	}
}

func TestEventsResumeAcrossStreamerKill(t *testing.T) {
	startStreamer(t)
	cs := []Container{runHelper(t, HelperOpts{}), runHelper(t, HelperOpts{})}
	ours, ref := attachEvents(t, cs[0], "--filter", "label="+testLabel(t))
	engine := engineClient(t)
	from := time.Now().UnixNano()

	const cycles = 3
	pauseCycles(t, engine, cs, cycles)
	old := onlyStreamer(t)
	if err := syscall.Kill(old.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the streamer: %v", err)
	}
	killedAt := time.Now()
	// These fall while no streamer runs, or while the client starts one.
	pauseCycles(t, engine, cs, cycles)
	var now streamerStatus
	eventually(t, 20*time.Second, func() error {
		list := liveStatus(t)
		if len(list) != 1 || list[0].PID == old.PID || list[0].Clients < 1 {
			return fmt.Errorf("want one new streamer with docker live events attached; status %+v", list)
		}
		now = list[0]
		return nil
	})
	t.Logf("docker live events started a new streamer (pid %d) and attached within %v of the kill", now.PID, time.Since(killedAt).Round(time.Millisecond))
	pauseCycles(t, engine, cs, cycles)
	to := time.Now().UnixNano()

	// A last event after the window: once both print it, both printed all
	// of the window, as each prints in time order.
	dockerCmd(t, "pause", cs[1].ID)
	for _, l := range []*eventLines{ref, ours} {
		l.until(t, 20*time.Second, "the closing pause", func(ev cliEvent) bool {
			return ev.Action == "pause" && ev.Actor.ID == cs[1].ID && ev.TimeNano > to
		})
	}
	want := ref.window(from, to)
	got := ours.window(from, to)
	counts := map[string]int{}
	for k := range want {
		counts[k.Action]++
	}
	t.Logf("window: docker events printed %d events %v; docker live events %d", len(want), counts, len(got))
	if counts["pause"] < 3*cycles*len(cs)/2 {
		t.Errorf("docker events saw only %v in the window: the load did not happen", counts)
	}
	if diff := compareEvents(got, want); diff != "" {
		t.Errorf("docker live events across a streamer kill (at %d): %s", killedAt.UnixNano(), diff)
		t.Logf("docker events order:      %s", orderDump(ref.all, from, to))
		t.Logf("docker live events order: %s", orderDump(ours.all, from, to))
		first, ring := ringEvents(t, now.Socket)
		for k := range want {
			if got[k] == 0 {
				t.Logf("missing %s: in the new streamer's ring: %v; the ring's first event is at %d (%v after the missing one)",
					k, ring[k], first, time.Duration(first-k.TimeNano))
			}
		}
	}
	if s := ours.p.Stderr(); !strings.Contains(s, "resync") {
		t.Errorf("no resync notice on stderr after the streamer was replaced:\n%s", s)
	}
	t.Logf("docker live events stderr:\n%s", strings.TrimSpace(ours.p.Stderr()))
}

func TestEventsJSONMatchesDockerEvents(t *testing.T) {
	startStreamer(t)
	c := runHelper(t, HelperOpts{})
	ours, ref := attachEvents(t, c, "--filter", "label="+testLabel(t))
	from := time.Now().UnixNano()
	dockerCmd(t, "stop", c.ID)
	var to int64
	for _, l := range []*eventLines{ref, ours} {
		ev := l.until(t, 20*time.Second, "the stop event", func(ev cliEvent) bool { return ev.Action == "stop" && ev.Actor.ID == c.ID })
		to = ev.TimeNano
	}
	want, got := ref.window(from, to), ours.window(from, to)
	if diff := compareEvents(got, want); diff != "" {
		t.Errorf("docker live events vs docker events for a docker stop: %s", diff)
	}
	if len(want) < 3 {
		t.Errorf("docker events printed only %d events for a docker stop", len(want))
	}
	for k := range want {
		mine, ok := ours.raw[k]
		if !ok {
			continue
		}
		var a, b map[string]any
		_ = json.Unmarshal([]byte(ref.raw[k]), &a)
		_ = json.Unmarshal([]byte(mine), &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("event %s differs:\ndocker events:      %s\ndocker live events: %s", k, ref.raw[k], mine)
		}
	}
}

func TestEventsFilters(t *testing.T) {
	startStreamer(t)
	a := runHelper(t, HelperOpts{Name: uniqueName("evA")})
	b := runHelper(t, HelperOpts{})
	since := time.Now()
	// The events happen before the command runs: --since brings them back.
	for _, args := range [][]string{{"pause", b.ID}, {"pause", a.ID}, {"unpause", a.ID}, {"unpause", b.ID}, {"pause", a.ID}} {
		dockerCmd(t, args...)
	}
	p := startDocker(t, "live", "events", "--format", "json", "--since", fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		"--filter", "type=container", "--filter", "event=pause", "--filter", "container="+a.Name)
	l := newEventLines(p)
	for i := 1; i <= 2; i++ {
		ev := l.until(t, 15*time.Second, fmt.Sprintf("pause %d of %s", i, a.Name), func(cliEvent) bool { return true })
		if ev.Action != "pause" || ev.Actor.ID != a.ID || ev.Type != "container" {
			t.Errorf("line %d: %s %s of %.12s, want only pause events of %s", i, ev.Type, ev.Action, ev.Actor.ID, a.Name)
		}
	}

	// A Go template, as docker events takes.
	out := dockerCmd(t, "live", "events", "--since", fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()), "--until", "0s",
		"--filter", "container="+b.ID[:12], "--format", "{{.Action}} {{.Actor.Attributes.name}}")
	want := "pause " + b.Name + "\nunpause " + b.Name
	if out != want {
		t.Errorf("events --since --until with a template printed %q, want %q", out, want)
	}
}

// orderDump lists the window's events in output order, for diagnosis.
func orderDump(keys []evKey, from, to int64) string {
	var b strings.Builder
	for _, k := range keys {
		if k.TimeNano > from && k.TimeNano <= to {
			fmt.Fprintf(&b, "\n  %d %s %.12s", k.TimeNano, k.Action, k.ID)
		}
	}
	return b.String()
}

// ringEvents reads the whole ring of the streamer at socket (a resume from
// seq 0 of its epoch replays all of it) and returns the time of its first
// Engine event and the events it holds: what the streamer has seen.
func ringEvents(t testing.TB, socket string) (first int64, keys map[evKey]bool) {
	t.Helper()
	c := dialStreamer(t, socket)
	defer c.Close()
	c.subscribe(t, stream.Subscription{Topics: []string{stream.TopicEvents}})
	h := c.hello(t)
	c.subscribe(t, stream.Subscription{Topics: []string{stream.TopicEvents}, Since: &stream.Position{Epoch: h.Epoch, Seq: 0}})
	h2 := c.waitMsg(t, 10*time.Second, "the second hello", func(m wsMsg) bool { return m.Type == stream.TypeHello })
	keys = map[evKey]bool{}
	if !h2.Hello.Resumed || h2.Seq == 0 {
		return 0, keys
	}
	c.collect(t, 10*time.Second, "the ring's replay", func(m wsMsg) bool {
		if m.Type == stream.TypeEvent {
			if first == 0 {
				first = m.Event.TimeNano
			}
			keys[evKey{m.Event.TimeNano, string(m.Event.Action), m.Event.Actor.ID}] = true
		}
		return m.Seq >= h2.Seq
	})
	return first, keys
}
