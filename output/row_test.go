package output

import (
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
)

var t0 = time.Date(2026, 11, 26, 14, 3, 5, 0, time.UTC)

func sample() *stream.Stats {
	return &stream.Stats{
		ID:         "4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff",
		CPUPercent: 12.3456,
		MemUsage:   1536 * 1024,
		MemLimit:   8_192_000_000,
		MemPercent: 0.0196,
		NetRx:      1_234_567,
		NetTx:      3000,
		NetRxRate:  1.2e6,
		NetTxRate:  250,
		BlockRead:  45_600_000,
		BlockWrite: 0,
		PIDs:       7,
	}
}

func container(name, state string) stream.Container {
	return stream.Container{
		ID:        "4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff",
		Name:      name,
		Image:     "alpine:3.20",
		State:     state,
		Status:    "Up 3 minutes",
		StartedAt: t0.Add(-3*time.Minute - 12*time.Second),
	}
}

func TestNewRowRunning(t *testing.T) {
	c := container("/web", "running")
	c.Health = "healthy"
	r := NewRow(c, sample())
	if !r.HasStats || r.Name != "web" || r.PIDs != 7 || r.MemLimit != 8_192_000_000 {
		t.Fatalf("row = %+v", r)
	}
	for _, tc := range []struct{ got, want string }{
		{r.StateText(), "running (healthy)"},
		{r.CPUText(), "12.35%"},
		{r.MemUsageText(), "1.5MiB / 7.629GiB"},
		{r.MemPercentText(), "0.02%"},
		{r.NetIOText(), "1.23MB / 3kB"},
		{r.BlockIOText(), "45.6MB / 0B"},
		{r.NetRxRateText(), "1.2MB/s"},
		{r.NetTxRateText(), "250B/s"},
		{r.PIDsText(), "7"},
		{r.UptimeText(t0), "3m12s"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestNewRowWithoutStats(t *testing.T) {
	exited := container("db", "exited")
	exited.ExitCode = 137
	for name, r := range map[string]Row{
		"running, no sample yet":     NewRow(container("web", "running"), nil),
		"exited with a stale sample": NewRow(exited, sample()),
	} {
		if r.HasStats || r.CPUPercent != 0 || r.MemUsage != 0 || r.PIDs != 0 || r.NetRxRate != 0 {
			t.Errorf("%s: stats kept: %+v", name, r)
		}
		for _, got := range []string{r.CPUText(), r.MemPercentText(), r.NetIOText(), r.BlockIOText(), r.NetRxRateText(), r.NetTxRateText(), r.PIDsText()} {
			if got != "--" {
				t.Errorf("%s: got %q, want --", name, got)
			}
		}
		if got := r.MemUsageText(); got != "-- / --" {
			t.Errorf("%s: mem usage %q", name, got)
		}
	}
	if got := NewRow(exited, nil).UptimeText(t0); got != "--" {
		t.Errorf("exited uptime %q", got)
	}
	if got := NewRow(container("web", "running"), nil).UptimeText(t0); got != "3m12s" {
		t.Errorf("running uptime without stats %q", got)
	}
	// A paused container keeps its memory, and docker stats keeps showing it.
	if r := NewRow(container("p", "paused"), sample()); !r.HasStats || r.StateText() != "paused" {
		t.Errorf("paused: %+v", r)
	}
}

func TestStateText(t *testing.T) {
	for _, tc := range []struct {
		state, health string
		exit          int
		want          string
	}{
		{"running", "", 0, "running"},
		{"running", "healthy", 0, "running (healthy)"},
		{"running", "unhealthy", 0, "running (unhealthy)"},
		{"running", "starting", 0, "running (starting)"},
		{"paused", "healthy", 0, "paused"},
		{"exited", "", 137, "exited (137)"},
		{"exited", "", 0, "exited (0)"},
		{"restarting", "", 1, "restarting"},
		{"created", "", 0, "created"},
		{"dead", "", 0, "dead"},
		{"", "", 0, "--"},
	} {
		r := Row{State: tc.state, Health: tc.health, ExitCode: tc.exit}
		if got := r.StateText(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc, got, tc.want)
		}
	}
}

func TestTruncateID(t *testing.T) {
	for in, want := range map[string]string{
		"4f1e2d3c4b5a69788796":    "4f1e2d3c4b5a",
		"sha256:abcdef0123456789": "abcdef012345",
		"short":                   "short",
	} {
		if got := truncateID(in); got != want {
			t.Errorf("truncateID(%q) = %q, want %q", in, got, want)
		}
	}
}
