package plugin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/docker-live/docker-live/stream/liveclient"
)

func TestTerminalViewWanted(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	xterm := env("TERM", "xterm-256color")
	for _, c := range []struct {
		name          string
		opts          watchOptions
		stdin, stdout bool
		getenv        func(string) string
		want          bool
	}{
		{"terminal both sides", watchOptions{}, true, true, xterm, true},
		{"--plain", watchOptions{plain: true}, true, true, xterm, false},
		{"--format", watchOptions{format: "table"}, true, true, xterm, false},
		{"--no-stream", watchOptions{noStream: true}, true, true, xterm, false},
		{"stdout a pipe", watchOptions{}, true, false, xterm, false},
		{"stdin not a terminal", watchOptions{}, false, true, xterm, false},
		{"TERM=dumb", watchOptions{}, true, true, env("TERM", "dumb"), false},
		{"--poll stays interactive", watchOptions{poll: true}, true, true, xterm, true},
	} {
		if got := terminalViewWanted(c.opts, c.stdin, c.stdout, c.getenv); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if colorWanted(env("TERM", "xterm", "NO_COLOR", "1")) || colorWanted(env("TERM", "dumb")) || !colorWanted(xterm) {
		t.Error("NO_COLOR or TERM=dumb does not turn colour off, or colour is off without them")
	}
}

func TestPlainFlag(t *testing.T) {
	var opts watchOptions
	cmd := &cobra.Command{}
	addWatchFlags(cmd, &opts)
	if err := cmd.ParseFlags([]string{"--plain"}); err != nil || !opts.plain {
		t.Fatalf("--plain: %v, plain=%v", err, opts.plain)
	}
}

func TestOutageNote(t *testing.T) {
	var o outageNote
	t0 := time.Date(2026, 12, 2, 15, 0, 0, 0, time.Local)
	o.record(liveclient.State{Mode: liveclient.ModeConnecting}, t0)
	o.record(liveclient.State{Mode: liveclient.ModeReconnecting}, t0) // before the first live: not an outage
	o.record(liveclient.State{Mode: liveclient.ModeLive}, t0.Add(time.Second))
	if s := o.recent(t0.Add(time.Second)); s != "" {
		t.Errorf("an outage before the first connection is reported: %q", s)
	}
	o.record(liveclient.State{Mode: liveclient.ModeReconnecting, Err: errors.New("EOF")}, t0.Add(2*time.Second))
	o.record(liveclient.State{Mode: liveclient.ModePolling}, t0.Add(3*time.Second))
	o.record(liveclient.State{Mode: liveclient.ModeLive}, t0.Add(4500*time.Millisecond))
	s := o.recent(t0.Add(5 * time.Second))
	if !strings.Contains(s, "after 2.5s polling") || !strings.Contains(s, "15:00:04") {
		t.Errorf("recent = %q, want resumed at 15:00:04 after 2.5s polling", s)
	}
	if s := o.recent(t0.Add(4500*time.Millisecond + outageShownFor + time.Second)); s != "" {
		t.Errorf("the note outlives %s: %q", outageShownFor, s)
	}
}
