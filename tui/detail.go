package tui

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
)

// metricInfo names a graphed metric and formats its values.
type metricInfo struct {
	label  string
	format func(float64) string
	floor  float64 // the smallest full scale, so noise does not fill a graph
}

var metrics = [numMetrics]metricInfo{
	metricCPU:        {"CPU %", output.Percent, 1},
	metricMem:        {"MEM", func(v float64) string { return output.BinarySize(uint64(max(v, 0))) }, 1 << 20},
	metricNetRx:      {"NET RX/s", output.Rate, 1000},
	metricNetTx:      {"NET TX/s", output.Rate, 1000},
	metricBlockRead:  {"BLK RD/s", output.Rate, 1000},
	metricBlockWrite: {"BLK WR/s", output.Rate, 1000},
}

const (
	labelWidth = 10
	maxGraph   = 300 // columns: one per second of 5 minutes at most
)

// identity merges what the stream says about the container with the
// inspect's answer (which adds the health probe's output).
func (m *Model) identityOf(id string) Identity {
	var idn Identity
	if c, ok := m.containers[id]; ok {
		idn = identityFromStream(&c)
	}
	if m.identity != nil && m.identity.ID == id {
		from := m.identity
		idn.HealthOutput, idn.HealthExit = from.HealthOutput, from.HealthExit
		if from.Health != "" {
			idn.Health = from.Health
		}
		if from.Command != "" {
			idn.Command = from.Command
		}
		if len(from.Networks) > 0 {
			idn.Networks = from.Networks
		}
		if len(from.Ports) > 0 {
			idn.Ports = from.Ports
		}
		if idn.Name == "" {
			idn = *from
		}
	}
	return idn
}

func identityFromStream(c *stream.Container) Identity {
	idn := Identity{
		ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), Image: c.Image, Command: c.Command,
		Created: c.Created, Started: c.StartedAt, Finished: c.FinishedAt, State: c.State,
		RestartCount: c.RestartCount, ExitCode: c.ExitCode, Health: c.Health,
		Project: c.Project, Service: c.Service, Labels: c.Labels, Networks: c.Networks,
	}
	for _, p := range c.Ports {
		idn.Ports = append(idn.Ports, PortText(p.IP, p.PublicPort, p.PrivatePort, p.Proto))
	}
	return idn
}

// PortText is a port as docker ps shows it: "0.0.0.0:8080->80/tcp" or "80/tcp".
func PortText(ip string, public, private uint16, proto string) string {
	s := strconv.Itoa(int(private)) + "/" + proto
	if public == 0 {
		return s
	}
	host := strconv.Itoa(int(public))
	if ip != "" {
		host = ip + ":" + host
	}
	return host + "->" + s
}

func (m *Model) viewDetail() string {
	var b strings.Builder
	b.Grow(m.width * m.height * 2)
	m.headerLine(&b)
	now := m.now()
	id := m.detailID
	idn := m.identityOf(id)
	lines := 1
	w := m.width
	emit := func(s string) {
		if lines >= m.height-2 {
			return
		}
		b.WriteString(clip(s, w))
		b.WriteByte('\n')
		lines++
	}

	// Title: name, state, uptime.
	var title strings.Builder
	c, known := m.containers[id]
	stateText := "removed"
	var l line
	if known {
		l = line{id: id, state: c.State, row: output.NewRow(c, nil)}
		stateText = l.row.StateText()
	}
	name := output.Escape(idn.Name)
	if name == "" {
		name = shortID(id)
	}
	m.paint(&title, styleBold, clip(name, w))
	title.WriteString("  ")
	st := styleFaint
	if known {
		st = stateStyle(&l)
		if m.highlighted(id, now) {
			st = styleChanged
		}
	}
	m.paint(&title, st, clip(stateText, max(w-utf8Len(name)-2, 0)))
	if known && (c.State == "running" || c.State == "paused") && !c.StartedAt.IsZero() {
		title.WriteString(clip("  up "+output.Uptime(now.Sub(c.StartedAt)), max(w-utf8Len(name)-2-utf8Len(stateText), 0)))
	}
	b.WriteString(title.String())
	b.WriteByte('\n')
	lines++

	field := func(k, v string) string { return pad(k, labelWidth, false) + v }
	pair := func(parts ...string) string {
		var s []string
		for i := 0; i+1 < len(parts); i += 2 {
			if parts[i+1] != "" {
				s = append(s, parts[i]+" "+parts[i+1])
			}
		}
		return strings.Join(s, "   ")
	}
	emit(field("ID", shortID(id)) + "   " + pair("Image", output.Escape(idn.Image)))
	emit(field("Command", output.Escape(idn.Command)))
	emit(field("Created", timeText(idn.Created)) + "   " + pair("Started", timeText(idn.Started)))
	emit(field("Restarts", strconv.Itoa(idn.RestartCount)) + "   " + pair("Exit code", strconv.Itoa(idn.ExitCode)))
	health := "none"
	if idn.Health != "" {
		health = output.Escape(idn.Health)
		if m.identity != nil && m.identity.ID == id && m.identity.HealthOutput != "" {
			health += "; last probe (exit " + strconv.Itoa(idn.HealthExit) + "): " + output.Escape(oneLine(idn.HealthOutput))
		}
	}
	emit(field("Health", health))
	compose := "-"
	if idn.Project != "" {
		compose = output.Escape(idn.Project)
		if idn.Service != "" {
			compose += " / " + output.Escape(idn.Service)
		}
	}
	emit(field("Compose", compose) + "   " + pair("Networks", output.Escape(strings.Join(idn.Networks, ", ")),
		"Ports", output.Escape(strings.Join(idn.Ports, ", "))))
	emit(field("Labels", labelsText(idn.Labels)))
	if m.identErr != "" {
		var e strings.Builder
		m.paint(&e, styleError, clip("inspect: "+output.Escape(m.identErr), w))
		if lines < m.height-2 {
			b.WriteString(e.String())
			b.WriteByte('\n')
			lines++
		}
	}
	emit("")

	// Graphs: one per metric, over the last GraphSpan.
	avail := m.height - 2 - lines
	s := m.hist.byID[id]
	from := now.Add(-m.opts.GraphSpan)
	stacked := avail >= numMetrics*3
	height := 1
	if stacked {
		height = min(avail/numMetrics-1, 4)
	}
	var figuresOf [numMetrics]string
	var tops [numMetrics]float64
	figWidth := 0
	for k := range numMetrics {
		info := metrics[k]
		sum := s.summarize(k, from)
		figures := "no samples yet"
		if sum.ok {
			figures = "now " + info.format(sum.cur) + "  min " + info.format(sum.min) + "  max " + info.format(sum.max)
		}
		if k == metricMem {
			if st, ok := m.stats[id]; ok && st.MemLimit > 0 {
				figures += "  limit " + output.BinarySize(st.MemLimit)
			}
		}
		figuresOf[k], tops[k] = figures, max(sum.max, info.floor)
		figWidth = max(figWidth, utf8Len(figures))
	}
	// Inline graphs share one width, so that their time axes line up.
	inlineWidth := min(max(w-labelWidth-figWidth-2, 0), maxGraph)
	for k := range numMetrics {
		if lines >= m.height-2 {
			break
		}
		info := metrics[k]
		figures, top := figuresOf[k], tops[k]
		if stacked {
			var hdr strings.Builder
			m.paint(&hdr, styleBold, pad(info.label, labelWidth, false))
			hdr.WriteString(clip(figures, max(w-labelWidth, 0)))
			b.WriteString(hdr.String())
			b.WriteByte('\n')
			lines++
			gw := min(max(w-labelWidth, 1), maxGraph)
			cols := s.buckets(k, now, m.opts.GraphSpan, gw)
			fillHoles(cols)
			for _, row := range drawGraph(cols, height, top) {
				if lines >= m.height-2 {
					break
				}
				b.WriteString(strings.Repeat(" ", labelWidth))
				m.paint(&b, graphStyle(k), row)
				b.WriteByte('\n')
				lines++
			}
			continue
		}
		// Inline: label, a one-row graph, figures.
		gw := inlineWidth
		var row strings.Builder
		m.paint(&row, styleBold, pad(info.label, labelWidth, false))
		if gw > 0 {
			cols := s.buckets(k, now, m.opts.GraphSpan, gw)
			fillHoles(cols)
			m.paint(&row, graphStyle(k), drawGraph(cols, 1, top)[0])
			row.WriteString("  ")
		}
		row.WriteString(clip(figures, max(w-labelWidth-gw-2, 0)))
		b.WriteString(row.String())
		b.WriteByte('\n')
		lines++
	}
	// More labels when the screen has room for them.
	for ; lines < m.height-2; lines++ {
		b.WriteByte('\n')
	}
	m.statusLine(&b)
	m.footer(&b, "Esc back  p pause  r restart  x stop  ? help  q quit   graphs: last "+output.Uptime(m.opts.GraphSpan),
		"Esc back  p/r/x pause/restart/stop  ? help  q quit")
	return b.String()
}

func graphStyle(metric int) style {
	switch metric {
	case metricCPU:
		return styleGreen
	case metricMem:
		return styleCyan
	case metricNetRx, metricNetTx:
		return styleYellow
	}
	return styleMagenta
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func labelsText(labels map[string]string) string {
	if len(labels) == 0 {
		return "-"
	}
	keys := slices.Sorted(maps.Keys(labels))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = output.Escape(k) + "=" + output.Escape(labels[k])
	}
	return strings.Join(parts, ", ")
}

func utf8Len(s string) int { return len([]rune(s)) }
