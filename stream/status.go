package stream

import (
	"fmt"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
)

// StatusText is the STATUS column of `docker ps` for c at now, computed from
// the state and its times the way the Engine computes it. It goes stale as
// time passes: renderers call it again on each redraw.
func StatusText(c Container, now time.Time) string {
	switch c.State {
	case "running":
		up := "Up " + units.HumanDuration(now.Sub(c.StartedAt))
		if h := healthSuffix(c.Health); h != "" {
			up += " (" + h + ")"
		}
		return up
	case "paused":
		return "Up " + units.HumanDuration(now.Sub(c.StartedAt)) + " (Paused)"
	case "restarting":
		return fmt.Sprintf("Restarting (%d) %s ago", c.ExitCode, units.HumanDuration(now.Sub(c.FinishedAt)))
	case "removing":
		return "Removal In Progress"
	case "dead":
		return "Dead"
	case "created":
		return "Created"
	}
	// exited, or a state this version does not know: the Engine's fallback.
	if c.StartedAt.IsZero() {
		return "Created"
	}
	if c.FinishedAt.IsZero() {
		return ""
	}
	return fmt.Sprintf("Exited (%d) %s ago", c.ExitCode, units.HumanDuration(now.Sub(c.FinishedAt)))
}

func healthSuffix(h string) string {
	if h == string(container.Starting) {
		return "health: starting"
	}
	return h
}
