// Package metrics exposes the streamer's state to Prometheus at GET
// /metrics, with cAdvisor's metric names, units and labels, so that the
// dashboards and alerts written for cAdvisor work unchanged.
//
// The collector reads the hub's state when scraped: there is no second
// collection loop, and samples carry no timestamps (Prometheus' exporter
// guidelines: the scrape time is the sample time). Counters are the
// cgroup's or the Engine's cumulative totals, never rebuilt from rates.
package metrics

import (
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// State is the hub's read view; *hub.Hub implements it.
type State interface {
	MetricsView() hub.MetricsView
}

// Config sets up a Collector. Zero values mean what each line says.
type Config struct {
	State   State
	Version string // the streamer's build version, for docker_live_build_info
	Context string // the Docker context served, for docker_live_build_info
	// Labels are container label keys (--metrics-labels) reported as
	// container_label_<key> beside the Compose project and service, which
	// are always reported. Empty adds none.
	Labels []string
	// StatsPass reports how long the newest direct stats pass took; ok
	// false (or a nil func) leaves docker_live_stats_pass_duration_seconds
	// out.
	StatsPass func() (d time.Duration, ok bool)
	// Now is the clock of container_last_seen. Nil means time.Now.
	Now func() time.Time
}

// Compose's labels, always reported, as cAdvisor reports every label.
const (
	composeProject = "com.docker.compose.project"
	composeService = "com.docker.compose.service"
)

// Stats sources counted by docker_live_stats_source_containers; both are
// always reported, so that the series exist even at zero.
var statsSources = []string{"api", "cgroup"}

// Collector reads a State at each scrape and renders it for Prometheus.
// It is safe for concurrent scrapes: each reads its own view.
type Collector struct {
	cfg       Config
	labelKeys []string // container label keys, in label order
	// A container sample's labels in label-name order, as Prometheus'
	// client library writes them: labelOrder[i] is the index, in the order
	// id, name, image, then labelKeys, of the i-th name; cpuAt is where
	// cpu="total" goes among them.
	labelNames []string
	labelOrder []int
	cpuAt      int
}

// labelNameChars is what cAdvisor replaces in a label key to make a label
// name: anything but letters, digits and underscores.
var labelNameChars = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// LabelName is the Prometheus label name of a container label key, as
// cAdvisor forms it: container_label_ and the key with every character that
// is not a letter, digit or underscore replaced by an underscore.
func LabelName(key string) string {
	return "container_label_" + labelNameChars.ReplaceAllString(key, "_")
}

// CheckLabels refuses --metrics-labels keys that New would refuse.
func CheckLabels(labels []string) error {
	_, err := labelKeys(labels)
	return err
}

// labelKeys is the Compose keys, then each other key once. Two keys that
// give the same label name are refused: their values would clash.
func labelKeys(labels []string) ([]string, error) {
	keys := []string{composeProject, composeService}
	names := map[string]string{LabelName(composeProject): composeProject, LabelName(composeService): composeService}
	for _, k := range labels {
		k = strings.TrimSpace(k)
		if k == "" || slices.Contains(keys, k) {
			continue
		}
		name := LabelName(k)
		if other, clash := names[name]; clash {
			return nil, fmt.Errorf("invalid --metrics-labels: %q and %q both become the label %s", other, k, name)
		}
		names[name] = k
		keys = append(keys, k)
	}
	return keys, nil
}

// New checks cfg and returns its collector.
func New(cfg Config) (*Collector, error) {
	if cfg.State == nil {
		return nil, fmt.Errorf("metrics: Config.State is nil")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	keys, err := labelKeys(cfg.Labels)
	if err != nil {
		return nil, err
	}
	c := &Collector{cfg: cfg, labelKeys: keys}
	c.labelNames = []string{"id", "name", "image"}
	for _, k := range keys {
		c.labelNames = append(c.labelNames, LabelName(k))
	}
	for i := range c.labelNames {
		c.labelOrder = append(c.labelOrder, i)
	}
	slices.SortFunc(c.labelOrder, func(a, b int) int { return strings.Compare(c.labelNames[a], c.labelNames[b]) })
	for _, i := range c.labelOrder {
		if c.labelNames[i] < "cpu" {
			c.cpuAt++
		}
	}
	return c, nil
}

// Help texts of the container families: cAdvisor's where it has the
// metric, with docker stats' meaning where that differs.
const (
	helpCPU           = "Cumulative cpu time consumed in seconds."
	helpMemUsage      = "Current memory usage in bytes, including all memory regardless of when it was accessed (page cache included)."
	helpMemWorkingSet = "Current working set in bytes: usage minus inactive file cache, what docker stats shows as MEM USAGE."
	helpMemLimit      = "Memory limit for the container in bytes, as docker stats shows it (the host's memory when no limit is set)."
	helpNetRx         = "Cumulative count of bytes received, over every interface."
	helpNetTx         = "Cumulative count of bytes transmitted, over every interface."
	helpFsReads       = "Cumulative count of bytes read, over every block device."
	helpFsWrites      = "Cumulative count of bytes written, over every block device."
	helpThreads       = "Number of threads running inside the container (pids.current, docker stats' PIDS)."
	helpStartTime     = "Start time of the container since unix epoch in seconds."
	helpLastSeen      = "Last time a container was seen by the exporter"
)

// row is one container's labels, rendered once per scrape for all its
// families, and its sample.
type row struct {
	values         []string // label values in label-name order, cpu left out
	plain, withCPU string
	s              hub.MetricsSample
}

// containerRows renders each sampled container's labels and sorts the
// containers by their label values, the order in which Prometheus' client
// library writes a family's series.
func (c *Collector) containerRows(samples []hub.MetricsSample) []row {
	rows := make([]row, len(samples))
	values := make([]string, len(samples)*len(c.labelOrder))
	for i, s := range samples {
		ct := s.Container
		r := &rows[i]
		r.s = s
		r.values = values[i*len(c.labelOrder) : (i+1)*len(c.labelOrder) : (i+1)*len(c.labelOrder)]
		for j, k := range c.labelOrder {
			switch k {
			case 0:
				r.values[j] = "/docker/" + ct.ID
			case 1:
				r.values[j] = ct.Name
			case 2:
				r.values[j] = ct.Image
			default:
				r.values[j] = ct.Labels[c.labelKeys[k-3]]
			}
		}
	}
	slices.SortFunc(rows, func(a, b row) int { return slices.Compare(a.values, b.values) })
	var plain, withCPU []byte
	for i := range rows {
		r := &rows[i]
		plain, withCPU = plain[:0], withCPU[:0]
		for j, k := range c.labelOrder {
			if j == c.cpuAt {
				withCPU = appendLabel(withCPU, "cpu", "total")
			}
			plain = appendLabel(plain, c.labelNames[k], r.values[j])
			withCPU = appendLabel(withCPU, c.labelNames[k], r.values[j])
		}
		if c.cpuAt == len(c.labelOrder) {
			withCPU = appendLabel(withCPU, "cpu", "total")
		}
		r.plain, r.withCPU = string(plain), string(withCPU)
	}
	return rows
}

// families is one scrape: one read of the hub's state, turned into
// samples without timestamps, with the process' own metrics, in name
// order.
func (c *Collector) families(process bool) []family {
	v := c.cfg.State.MetricsView()
	now := float64(c.cfg.Now().Unix())
	rows := c.containerRows(v.Samples)
	perFamily := func(name, help string, typ metricType, cpu bool, value func(st *stream.Stats, ct *stream.Container) (float64, bool)) family {
		f := family{name: name, help: help, typ: typ, samples: make([]sample, 0, len(rows))}
		for i := range rows {
			r := &rows[i]
			if v, ok := value(&r.s.Stats, r.s.Container); ok {
				labels := r.plain
				if cpu {
					labels = r.withCPU
				}
				f.samples = append(f.samples, sample{labels: labels, value: v})
			}
		}
		return f
	}
	stat := func(get func(st *stream.Stats) float64) func(*stream.Stats, *stream.Container) (float64, bool) {
		return func(st *stream.Stats, _ *stream.Container) (float64, bool) { return get(st), true }
	}
	out := []family{
		perFamily("container_cpu_usage_seconds_total", helpCPU, counter, true, stat(func(st *stream.Stats) float64 { return float64(st.CPUTotal) / 1e9 })),
		perFamily("container_memory_usage_bytes", helpMemUsage, gauge, false, stat(func(st *stream.Stats) float64 { return float64(st.MemTotal) })),
		perFamily("container_memory_working_set_bytes", helpMemWorkingSet, gauge, false, stat(func(st *stream.Stats) float64 { return float64(st.MemUsage) })),
		perFamily("container_spec_memory_limit_bytes", helpMemLimit, gauge, false, stat(func(st *stream.Stats) float64 { return float64(st.MemLimit) })),
		perFamily("container_network_receive_bytes_total", helpNetRx, counter, false, stat(func(st *stream.Stats) float64 { return float64(st.NetRx) })),
		perFamily("container_network_transmit_bytes_total", helpNetTx, counter, false, stat(func(st *stream.Stats) float64 { return float64(st.NetTx) })),
		perFamily("container_fs_reads_bytes_total", helpFsReads, counter, false, stat(func(st *stream.Stats) float64 { return float64(st.BlockRead) })),
		perFamily("container_fs_writes_bytes_total", helpFsWrites, counter, false, stat(func(st *stream.Stats) float64 { return float64(st.BlockWrite) })),
		perFamily("container_threads", helpThreads, gauge, false, stat(func(st *stream.Stats) float64 { return float64(st.PIDs) })),
		perFamily("container_start_time_seconds", helpStartTime, gauge, false, func(_ *stream.Stats, ct *stream.Container) (float64, bool) {
			return float64(ct.StartedAt.Unix()), !ct.StartedAt.IsZero()
		}),
		perFamily("container_last_seen", helpLastSeen, gauge, false, stat(func(*stream.Stats) float64 { return now })),
	}

	var info []byte
	info = appendLabel(info, "context", c.cfg.Context)
	info = appendLabel(info, "goversion", runtime.Version())
	info = appendLabel(info, "version", c.cfg.Version)
	up := 0.0
	if v.Engine.State == stream.EngineConnected {
		up = 1
	}
	perSource := map[string]int{}
	for _, s := range v.Samples {
		perSource[s.Stats.Source]++
	}
	sources := family{name: "docker_live_stats_source_containers", help: "Containers whose newest stats sample came from each source.", typ: gauge}
	for _, src := range statsSources { // in label-value order
		sources.samples = append(sources.samples, sample{labels: string(appendLabel(nil, "source", src)), value: float64(perSource[src])})
	}
	out = append(out,
		family{name: "docker_live_build_info", help: "The streamer's build: always 1, labelled with its version, Go version and Docker context.", typ: gauge,
			samples: []sample{{labels: string(info), value: 1}}},
		one("docker_live_engine_up", "1 while the streamer is connected to its Docker Engine, 0 otherwise.", gauge, up),
		one("docker_live_containers", "Containers the streamer knows, in any state.", gauge, float64(v.Containers)),
		one("docker_live_clients", "Stream subscribers attached now.", gauge, float64(v.Subscribers)),
		one("docker_live_slow_subscribers_cut_total", "Subscribers disconnected for being too slow (close code 4001).", counter, float64(v.SlowCuts)),
		one("docker_live_events_relayed_total", "Engine events relayed to subscribers.", counter, float64(v.Events)),
		sources,
	)
	if c.cfg.StatsPass != nil {
		if d, ok := c.cfg.StatsPass(); ok {
			out = append(out, one("docker_live_stats_pass_duration_seconds", "How long the newest direct (cgroup) stats pass over every container took.", gauge, d.Seconds()))
		}
	}
	if process {
		out = append(out, processFamilies()...)
	}
	slices.SortFunc(out, func(a, b family) int { return strings.Compare(a.name, b.name) })
	return out
}

// Handler serves the collector, with the streamer process' own CPU,
// memory and file descriptors (process_*), as Prometheus text or, when the
// scraper asks for it in Accept, OpenMetrics; gzipped when Accept-Encoding
// asks for it. As Prometheus' promhttp, it keeps only the families named
// by name[] query parameters when there are any. GET and HEAD only.
func Handler(c *Collector) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		fams := c.families(true)
		if names := r.URL.Query()["name[]"]; len(names) > 0 {
			fams = slices.DeleteFunc(fams, func(f family) bool { return !slices.Contains(names, f.name) })
		}
		serveExposition(w, r, fams)
	})
}
