package plugin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
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

// fakeInspectAPI is a unit-test fake of the Engine API client: only
// ContainerInspect and ContainerStop answer.
type fakeInspectAPI struct {
	client.APIClient
	resp    container.InspectResponse
	stopErr error
}

func (f *fakeInspectAPI) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	if id != f.resp.ID {
		return client.ContainerInspectResult{}, errors.New("Error response from daemon: No such container: " + id)
	}
	return client.ContainerInspectResult{Container: f.resp}, nil
}

func (f *fakeInspectAPI) ContainerStop(context.Context, string, client.ContainerStopOptions) (client.ContainerStopResult, error) {
	return client.ContainerStopResult{}, f.stopErr
}

func TestEngineActionsInspect(t *testing.T) {
	api := &fakeInspectAPI{resp: container.InspectResponse{
		ID: "abc", Name: "/web", Path: "/srv", Args: []string{"--port", "80"}, RestartCount: 2,
		Created: "2026-12-02T15:00:00.5Z",
		State: &container.State{Status: "running", StartedAt: "2026-12-02T15:00:01Z", ExitCode: 0,
			Health: &container.Health{Status: "unhealthy", Log: []*container.HealthcheckResult{
				{ExitCode: 0, Output: "ok"}, {ExitCode: 1, Output: "connection refused\n"}}}},
		Config:          &container.Config{Image: "nginx:1.25", Labels: map[string]string{"a": "b"}},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{"z": nil, "a": nil}},
	}}
	idn, err := engineActions{api: api}.Inspect(context.Background(), "abc")
	if err != nil {
		t.Fatal(err)
	}
	if idn.Name != "web" || idn.Command != "/srv --port 80" || idn.Image != "nginx:1.25" || idn.RestartCount != 2 ||
		idn.Health != "unhealthy" || idn.HealthOutput != "connection refused\n" || idn.HealthExit != 1 ||
		strings.Join(idn.Networks, ",") != "a,z" || idn.Started.IsZero() || idn.Created.IsZero() {
		t.Errorf("identity = %+v", idn)
	}
	if _, err := (engineActions{api: api}).Inspect(context.Background(), "gone"); err == nil || !strings.Contains(err.Error(), "No such container") {
		t.Errorf("inspect of a missing container: %v", err)
	}
	api.stopErr = errors.New("Error response from daemon: cannot stop\nsecond line")
	if err := (engineActions{api: api}).Stop(context.Background(), "abc"); err == nil || err.Error() != "Error response from daemon: cannot stop second line" {
		t.Errorf("stop error kept on one line: %v", err)
	}
}

func TestFeedTUIEndsOnAFatalStreamError(t *testing.T) {
	wv, err := newWatchView(watchOptions{sort: "name", interval: time.Second}, "default")
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	fatal := &liveclient.FatalError{Code: 4003, Msg: "streamer refused the subscription: bad version"}
	runErr <- fatal
	done := make(chan error, 1)
	go func() { done <- feedTUI(context.Background(), nil, wv, newWatchState(), &outageNote{}, runErr) }()
	select {
	case err := <-done:
		if !errors.Is(err, fatal) {
			t.Errorf("feedTUI returned %v, want the stream's fatal error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("feedTUI does not end on a fatal stream error")
	}
}
