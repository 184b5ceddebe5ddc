package source

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
)

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
