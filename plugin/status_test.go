package plugin

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli"

	"github.com/docker-live/docker-live/output"
)

func TestWriteStatus(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) // the injected clock
	list := []statusRow{
		{streamerInfo: streamerInfo{Context: "default", Endpoint: "unix:///var/run/docker.sock", PID: 10, Started: now.Add(-2 * time.Minute),
			Clients: 1, Containers: 3, Socket: "/d/live.sock", Version: "v1", StatsSource: "auto: cgroup 3", Engine: "connected"}, State: streamerRunning},
		{streamerInfo: streamerInfo{Context: "stuck", Endpoint: "tcp://x:2376", PID: 11, Started: now.Add(-time.Hour), Clients: 9,
			Socket: "/s/live.sock", Version: "v1", Listen: "127.0.0.1:1"}, State: streamerNotResponding},
	}
	render := func(format string) string {
		t.Helper()
		f, err := output.ParseInfoFormat(format, "table", statusRow{})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := writeStatus(&b, f, list, now); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	table := strings.Split(render("table"), "\n")
	if len(table) != 4 || !strings.HasPrefix(table[0], "CONTEXT") {
		t.Fatalf("table:\n%s", strings.Join(table, "\n"))
	}
	if f := strings.Fields(table[1]); f[0] != "default" || f[1] != "running" || f[3] != "2m0s" || f[4] != "1" || f[5] != "3" || f[6] != "connected" {
		t.Errorf("running row = %q", table[1])
	}
	// A streamer that does not answer shows no counters: they would be stale.
	if f := strings.Fields(table[2]); f[0] != "stuck" || f[4] != "1h0m0s" || f[5] != "--" || f[6] != "--" || !strings.Contains(table[2], "127.0.0.1:1") {
		t.Errorf("not-responding row = %q", table[2])
	}
	if got := render("json"); strings.Count(got, "\n") != 2 || !strings.Contains(got, `"context":"default"`) || !strings.Contains(got, `"state":"not responding"`) ||
		!strings.Contains(got, `"started":"2026-03-04T05:04:07Z"`) {
		t.Errorf("json:\n%s", got)
	}
	if got := render("{{.Context}} {{.State}} {{.PID}}"); got != "default running 10\nstuck not responding 11\n" {
		t.Errorf("template: %q", got)
	}
}

func TestStatusBadFormatIsUsageError(t *testing.T) {
	err := runStatus(context.Background(), newFakeCli(t), statusOptions{format: "{{.Nope}}"})
	var se cli.StatusError
	if !errors.As(err, &se) || se.StatusCode != 125 || !strings.Contains(err.Error(), "invalid --format template") {
		t.Fatalf("runStatus with a bad template = %v, want a usage error (125)", err)
	}
}

// TestVersion runs version against an Engine that is not there: the
// plugin's part prints, the Engine's says why, and the exit is an error.
func TestVersion(t *testing.T) {
	build := BuildInfo{Version: "v9.9.9", Commit: "c0ffee"}
	run := func(format string) (string, error) {
		t.Helper()
		fc := newFakeCli(t)
		err := runVersion(context.Background(), fc, build, versionOptions{format: format})
		return fc.outBuf.String(), err
	}
	text, err := run("")
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach the Docker Engine: ") {
		t.Errorf("version without an Engine: err = %v", err)
	}
	for _, want := range []string{"Plugin:\n Version:\tv9.9.9\n Commit:\tc0ffee\n Go version:\t" + runtime.Version() + "\n",
		"Context:\n Name:\t\ttest\n", "Engine:\n Error:\t\t"} {
		if !strings.Contains(text, want) {
			t.Errorf("version text lacks %q:\n%s", want, text)
		}
	}
	js, _ := run("json")
	if !strings.HasPrefix(js, `{"version":"v9.9.9","commit":"c0ffee",`) || !strings.Contains(js, `"engine_error":`) || strings.Count(js, "\n") != 1 {
		t.Errorf("version json: %q", js)
	}
	if line, _ := run("{{.Version}}/{{.Context}}"); line != "v9.9.9/test\n" {
		t.Errorf("version template: %q", line)
	}
	var se cli.StatusError
	if _, err := run("{{.Nope}}"); !errors.As(err, &se) || se.StatusCode != 125 {
		t.Errorf("version with a bad template = %v, want a usage error (125)", err)
	}
}
