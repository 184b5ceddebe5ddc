package stream

import (
	"testing"
	"time"
)

func TestStatusTextMatchesDockerPs(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, tc := range []struct {
		c    Container
		want string
	}{
		{Container{State: "running", StartedAt: ago(5 * time.Second)}, "Up 5 seconds"},
		{Container{State: "running", StartedAt: ago(200 * time.Millisecond)}, "Up Less than a second"},
		{Container{State: "running", StartedAt: ago(5 * time.Second), Health: "healthy"}, "Up 5 seconds (healthy)"},
		{Container{State: "running", StartedAt: ago(90 * time.Second), Health: "unhealthy"}, "Up About a minute (unhealthy)"},
		{Container{State: "running", StartedAt: ago(time.Second), Health: "starting"}, "Up 1 second (health: starting)"},
		{Container{State: "paused", StartedAt: ago(3 * time.Minute), Health: "healthy"}, "Up 3 minutes (Paused)"},
		{Container{State: "exited", ExitCode: 137, StartedAt: ago(time.Hour), FinishedAt: ago(2 * time.Second)}, "Exited (137) 2 seconds ago"},
		{Container{State: "exited", ExitCode: 0, StartedAt: ago(3 * time.Hour), FinishedAt: ago(2 * time.Hour)}, "Exited (0) 2 hours ago"},
		{Container{State: "exited", ExitCode: 127}, "Created"}, // never started
		{Container{State: "created"}, "Created"},
		{Container{State: "restarting", ExitCode: 1, StartedAt: ago(time.Minute), FinishedAt: ago(3 * time.Second)}, "Restarting (1) 3 seconds ago"},
		{Container{State: "removing"}, "Removal In Progress"},
		{Container{State: "dead"}, "Dead"},
	} {
		if got := StatusText(tc.c, now); got != tc.want {
			t.Errorf("StatusText(%+v) = %q, want %q", tc.c, got, tc.want)
		}
	}
}
