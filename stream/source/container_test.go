package source

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/docker-live/docker-live/stream"
)

func TestStatusTextMatchesDockerPs(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, tc := range []struct {
		c    stream.Container
		want string
	}{
		{stream.Container{State: "running", StartedAt: ago(5 * time.Second)}, "Up 5 seconds"},
		{stream.Container{State: "running", StartedAt: ago(200 * time.Millisecond)}, "Up Less than a second"},
		{stream.Container{State: "running", StartedAt: ago(5 * time.Second), Health: "healthy"}, "Up 5 seconds (healthy)"},
		{stream.Container{State: "running", StartedAt: ago(90 * time.Second), Health: "unhealthy"}, "Up About a minute (unhealthy)"},
		{stream.Container{State: "running", StartedAt: ago(time.Second), Health: "starting"}, "Up 1 second (health: starting)"},
		{stream.Container{State: "paused", StartedAt: ago(3 * time.Minute), Health: "healthy"}, "Up 3 minutes (Paused)"},
		{stream.Container{State: "exited", ExitCode: 137, StartedAt: ago(time.Hour), FinishedAt: ago(2 * time.Second)}, "Exited (137) 2 seconds ago"},
		{stream.Container{State: "exited", ExitCode: 0, StartedAt: ago(3 * time.Hour), FinishedAt: ago(2 * time.Hour)}, "Exited (0) 2 hours ago"},
		{stream.Container{State: "exited", ExitCode: 127}, "Created"}, // never started
		{stream.Container{State: "created"}, "Created"},
		{stream.Container{State: "restarting", ExitCode: 1, StartedAt: ago(time.Minute), FinishedAt: ago(3 * time.Second)}, "Restarting (1) 3 seconds ago"},
		{stream.Container{State: "removing"}, "Removal In Progress"},
		{stream.Container{State: "dead"}, "Dead"},
	} {
		if got := StatusText(tc.c, now); got != tc.want {
			t.Errorf("StatusText(%+v) = %q, want %q", tc.c, got, tc.want)
		}
	}
}

func TestParsesTheListsStatusText(t *testing.T) {
	for _, tc := range []struct {
		status string
		health string
		exit   int
	}{
		{"Up 5 seconds (healthy)", "healthy", 0},
		{"Up 5 seconds (unhealthy)", "unhealthy", 0},
		{"Up 2 seconds (health: starting)", "starting", 0},
		{"Up 3 minutes (Paused)", "", 0},
		{"Exited (137) 2 seconds ago", "", 137},
		{"Restarting (1) 3 seconds ago", "", 1},
		{"Exited (x) garbage", "", 0},
		{"Created", "", 0},
	} {
		if h := healthFromStatus(tc.status); h != tc.health {
			t.Errorf("health of %q = %q, want %q", tc.status, h, tc.health)
		}
		if e := exitCodeFromStatus(tc.status); e != tc.exit {
			t.Errorf("exit code of %q = %d, want %d", tc.status, e, tc.exit)
		}
	}
}

func TestSummaryPrefersTheHealthField(t *testing.T) {
	c := fromSummary(&container.Summary{
		ID: "abc", Names: []string{"/other/alias", "/web"}, State: "running",
		Status: "Up 5 seconds (healthy)", Health: &container.HealthSummary{Status: container.Unhealthy},
	})
	if c.Name != "web" || c.Health != "unhealthy" {
		t.Errorf("got name %q health %q, want web unhealthy", c.Name, c.Health)
	}
}

func TestInspectTimesAndCommand(t *testing.T) {
	r := &container.InspectResponse{
		ID: "abc", Name: "/x", Path: "sh", Args: []string{"-c", "sleep 5"},
		Created: "2025-01-02T03:04:05.123456789Z",
		State: &container.State{
			Status: container.StateCreated, StartedAt: "0001-01-01T00:00:00Z", FinishedAt: "0001-01-01T00:00:00Z",
			Health: &container.Health{Status: container.NoHealthcheck},
		},
	}
	c := fromInspect(r, time.Now())
	if c.Command != "sh -c 'sleep 5'" || !c.StartedAt.IsZero() || !c.FinishedAt.IsZero() || c.Health != "" ||
		c.Created != time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC) || c.Status != "Created" || c.Image != "" {
		t.Errorf("fromInspect = %+v", c)
	}
}
