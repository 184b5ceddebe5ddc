package plugin

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
)

// filterSet is parsed --filter flags: key to accepted values. Values of one
// key are ORed, keys are ANDed, as in docker ps and docker events.
type filterSet map[string][]string

func parseFilters(flags []string, allowed []string) (filterSet, error) {
	fs := filterSet{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid --filter %q: use key=value", f)
		}
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("invalid --filter key %q: use one of %s", k, strings.Join(allowed, ", "))
		}
		fs[k] = append(fs[k], v)
	}
	return fs, nil
}

// watchFilterKeys are docker ps' keys that make sense live, plus project.
var watchFilterKeys = []string{"name", "id", "label", "status", "health", "ancestor", "project"}

var validStatus = []string{"created", "restarting", "running", "removing", "paused", "exited", "dead"}
var validHealth = []string{"starting", "healthy", "unhealthy", "none"}

// watchFilters are watch's parsed --filter flags. The keys the protocol
// shares (name, id, label, project) are prepared once as the streamer's own
// stream.ContainerMatcher, so the CLI and a protocol client mean the same.
type watchFilters struct {
	filterSet
	containers *stream.ContainerMatcher
}

func parseWatchFilters(flags []string) (watchFilters, error) {
	fs, err := parseFilters(flags, watchFilterKeys)
	if err != nil {
		return watchFilters{}, err
	}
	for _, v := range fs["status"] {
		if !slices.Contains(validStatus, v) {
			return watchFilters{}, fmt.Errorf("invalid --filter status=%s: use one of %s", v, strings.Join(validStatus, ", "))
		}
	}
	for _, v := range fs["health"] {
		if !slices.Contains(validHealth, v) {
			return watchFilters{}, fmt.Errorf("invalid --filter health=%s: use one of %s", v, strings.Join(validHealth, ", "))
		}
	}
	containers, err := stream.NewContainerMatcher(fs.containerFilter())
	if err != nil {
		return watchFilters{}, fmt.Errorf("invalid --filter name: %v", err)
	}
	return watchFilters{filterSet: fs, containers: containers}, nil
}

// containerFilter is the part of fs the protocol's filter expresses.
func (fs filterSet) containerFilter() stream.ContainerFilter {
	return stream.ContainerFilter{Names: fs["name"], IDs: fs["id"], Labels: fs["label"], Projects: fs["project"]}
}

// statuses returns the states a status filter names (nil without one).
func (wf watchFilters) statuses() []string { return wf.filterSet["status"] }

// matchContainer applies docker ps' semantics: name, id, label and project
// as the protocol's filter (stream.ContainerMatcher: name a regular
// expression, id a prefix, every label key or key=value); status and health
// the state; ancestor the image name (with or without tag).
func (wf watchFilters) matchContainer(c *stream.Container) bool {
	if !wf.containers.Match(c) {
		return false
	}
	for key, values := range wf.filterSet {
		ok := slices.ContainsFunc(values, func(v string) bool {
			switch key {
			case "name", "id", "label", "project":
				return true // wf.containers
			case "status":
				return c.State == v
			case "health":
				if v == "none" {
					return c.Health == ""
				}
				return c.Health == v
			case "ancestor":
				return c.Image == v || strings.HasPrefix(c.Image, v+":") || strings.HasPrefix(c.Image, v+"@")
			}
			return false
		})
		if !ok {
			return false
		}
	}
	return true
}

func matchLabel(labels map[string]string, v string) bool {
	k, want, hasValue := strings.Cut(v, "=")
	got, ok := labels[k]
	return ok && (!hasValue || got == want)
}

// eventFilterKeys are docker events' keys.
var eventFilterKeys = []string{"type", "event", "container", "image", "label", "network", "volume", "daemon", "plugin", "node", "service", "secret", "config", "scope"}

// matchEvent follows docker events: container, image, network, volume,
// daemon and plugin match the actor's id or name; event matches the action
// with or without its ": detail" suffix.
func (fs filterSet) matchEvent(ev *events.Message) bool {
	for _, v := range fs["label"] {
		// Every label filter must match, as in docker events.
		if !matchLabel(ev.Actor.Attributes, v) {
			return false
		}
	}
	for key, values := range fs {
		if key == "label" {
			continue
		}
		ok := slices.ContainsFunc(values, func(v string) bool {
			switch key {
			case "type":
				return string(ev.Type) == v
			case "event":
				action := string(ev.Action)
				base, _, _ := strings.Cut(action, ":")
				return action == v || base == v
			case "scope":
				return ev.Scope == v
			case "container":
				return ev.Type == events.ContainerEventType && actorIs(ev, v)
			case "image":
				if ev.Type == events.ImageEventType {
					return actorIs(ev, v)
				}
				img := ev.Actor.Attributes["image"]
				return ev.Type == events.ContainerEventType && (img == v || strings.HasPrefix(img, v+":"))
			case "network":
				if ev.Type == events.NetworkEventType {
					return actorIs(ev, v)
				}
				return false
			case "volume":
				return ev.Type == events.VolumeEventType && actorIs(ev, v)
			case "daemon":
				return ev.Type == events.DaemonEventType && actorIs(ev, v)
			case "plugin":
				return ev.Type == events.PluginEventType && actorIs(ev, v)
			default:
				return actorIs(ev, v)
			}
		})
		if !ok {
			return false
		}
	}
	return true
}

func actorIs(ev *events.Message, v string) bool {
	return ev.Actor.ID == v || strings.HasPrefix(ev.Actor.ID, v) || ev.Actor.Attributes["name"] == v
}
