package source

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/docker-live/docker-live/stream"
)

// Compose labels that name a container's project and service.
const (
	labelProject = "com.docker.compose.project"
	labelService = "com.docker.compose.service"
)

// fromInspect builds the full container state from an inspect response.
func fromInspect(r *container.InspectResponse, now time.Time) stream.Container {
	c := stream.Container{
		ID:           r.ID,
		Name:         strings.TrimPrefix(r.Name, "/"),
		Command:      commandLine(r.Path, r.Args),
		Created:      parseTime(r.Created),
		RestartCount: r.RestartCount,
	}
	if r.Config != nil {
		c.Image = r.Config.Image
		c.Labels = maps.Clone(r.Config.Labels)
	}
	if st := r.State; st != nil {
		c.State = string(st.Status)
		c.ExitCode = st.ExitCode
		c.StartedAt = parseTime(st.StartedAt)
		c.FinishedAt = parseTime(st.FinishedAt)
		c.OOMKilled = st.OOMKilled
		if st.Health != nil && st.Health.Status != container.NoHealthcheck {
			c.Health = string(st.Health.Status)
		}
	}
	if ns := r.NetworkSettings; ns != nil {
		c.Ports = portsFromMap(ns.Ports)
		c.Networks = sortedKeys(ns.Networks)
	}
	setCompose(&c)
	c.Status = stream.StatusText(c, now)
	return c
}

// fromSummary builds what a container list entry tells: no start or finish
// times, no restart count, but the Engine's own status text, from which the
// health and exit code are read back.
func fromSummary(s *container.Summary) stream.Container {
	c := stream.Container{
		ID:      s.ID,
		Name:    primaryName(s.Names),
		Image:   s.Image,
		Command: s.Command,
		Created: time.Unix(s.Created, 0).UTC(),
		State:   string(s.State),
		Status:  s.Status,
		Labels:  maps.Clone(s.Labels),
	}
	if s.Health != nil && s.Health.Status != container.NoHealthcheck && s.Health.Status != "" {
		c.Health = string(s.Health.Status)
	} else {
		c.Health = healthFromStatus(s.Status)
	}
	c.ExitCode = exitCodeFromStatus(s.Status)
	for _, p := range s.Ports {
		port := stream.Port{PrivatePort: p.PrivatePort, PublicPort: p.PublicPort, Proto: p.Type}
		if p.IP.IsValid() {
			port.IP = p.IP.String()
		}
		c.Ports = append(c.Ports, port)
	}
	sortPorts(c.Ports)
	if s.NetworkSettings != nil {
		c.Networks = sortedKeys(s.NetworkSettings.Networks)
	}
	setCompose(&c)
	return c
}

// healthFromStatus reads the health back out of the Engine's status text,
// for Engines older than API 1.52 whose list has no Health field.
func healthFromStatus(status string) string {
	switch {
	case strings.HasSuffix(status, "(healthy)"):
		return string(container.Healthy)
	case strings.HasSuffix(status, "(unhealthy)"):
		return string(container.Unhealthy)
	case strings.HasSuffix(status, "(health: starting)"):
		return string(container.Starting)
	}
	return ""
}

// exitCodeFromStatus reads N from "Exited (N) ..." or "Restarting (N) ...".
func exitCodeFromStatus(status string) int {
	var rest string
	switch {
	case strings.HasPrefix(status, "Exited ("):
		rest = status[len("Exited ("):]
	case strings.HasPrefix(status, "Restarting ("):
		rest = status[len("Restarting ("):]
	default:
		return 0
	}
	n, _, ok := strings.Cut(rest, ")")
	if !ok {
		return 0
	}
	code, err := strconv.Atoi(n)
	if err != nil {
		return 0
	}
	return code
}

// primaryName picks the container's own name out of a list entry's names,
// which also holds the aliases links give it ("/other/alias"), as docker ps
// does.
func primaryName(names []string) string {
	for _, n := range names {
		n = strings.TrimPrefix(n, "/")
		if n != "" && !strings.Contains(n, "/") {
			return n
		}
	}
	if len(names) > 0 {
		return strings.TrimPrefix(names[0], "/")
	}
	return ""
}

// commandLine joins path and args as the Engine's container list does,
// quoting arguments that hold a space.
func commandLine(path string, args []string) string {
	if len(args) == 0 {
		return path
	}
	var b strings.Builder
	b.WriteString(path)
	for _, a := range args {
		b.WriteByte(' ')
		if strings.Contains(a, " ") {
			b.WriteString("'" + a + "'")
		} else {
			b.WriteString(a)
		}
	}
	return b.String()
}

// portsFromMap flattens the port map as the Engine's list does: one entry
// per host binding, or one without a public port when nothing is bound.
func portsFromMap(pm network.PortMap) []stream.Port {
	var out []stream.Port
	for p, bindings := range pm {
		proto := string(p.Proto())
		if len(bindings) == 0 {
			out = append(out, stream.Port{PrivatePort: p.Num(), Proto: proto})
			continue
		}
		for _, b := range bindings {
			port := stream.Port{PrivatePort: p.Num(), Proto: proto}
			if b.HostIP.IsValid() {
				port.IP = b.HostIP.String()
			}
			if n, err := strconv.ParseUint(b.HostPort, 10, 16); err == nil {
				port.PublicPort = uint16(n)
			}
			out = append(out, port)
		}
	}
	sortPorts(out)
	return out
}

// sortPorts gives ports a fixed order so that comparing two states of the
// same container does not see a change where only map order differed.
func sortPorts(ps []stream.Port) {
	slices.SortFunc(ps, func(a, b stream.Port) int {
		if a.PrivatePort != b.PrivatePort {
			return int(a.PrivatePort) - int(b.PrivatePort)
		}
		if c := strings.Compare(a.Proto, b.Proto); c != 0 {
			return c
		}
		if c := strings.Compare(a.IP, b.IP); c != 0 {
			return c
		}
		return int(a.PublicPort) - int(b.PublicPort)
	})
}

func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
}

func setCompose(c *stream.Container) {
	c.Project = c.Labels[labelProject]
	c.Service = c.Labels[labelService]
}

// parseTime reads the Engine's RFC 3339 times; its "never" is year 1, which
// becomes the zero time.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
