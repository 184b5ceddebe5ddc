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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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

// Collector is a prometheus.Collector over a State. It is safe for
// concurrent scrapes: each reads its own view.
type Collector struct {
	cfg       Config
	labelKeys []string // container label keys, in label order
	descs     containerDescs
	self      selfDescs
}

type containerDescs struct {
	cpu, memUsage, memWorkingSet, memLimit, netRx, netTx, fsReads, fsWrites,
	threads, startTime, lastSeen *prometheus.Desc
}

type selfDescs struct {
	buildInfo, engineUp, containers, clients, slowCuts, events, sources, passDuration *prometheus.Desc
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
	base := []string{"id", "name", "image"}
	for _, k := range keys {
		base = append(base, LabelName(k))
	}
	d := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append(slices.Clone(base), extra...), nil)
	}
	c.descs = containerDescs{
		cpu:           d("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", "cpu"),
		memUsage:      d("container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed (page cache included)."),
		memWorkingSet: d("container_memory_working_set_bytes", "Current working set in bytes: usage minus inactive file cache, what docker stats shows as MEM USAGE."),
		memLimit:      d("container_spec_memory_limit_bytes", "Memory limit for the container in bytes, as docker stats shows it (the host's memory when no limit is set)."),
		netRx:         d("container_network_receive_bytes_total", "Cumulative count of bytes received, over every interface."),
		netTx:         d("container_network_transmit_bytes_total", "Cumulative count of bytes transmitted, over every interface."),
		fsReads:       d("container_fs_reads_bytes_total", "Cumulative count of bytes read, over every block device."),
		fsWrites:      d("container_fs_writes_bytes_total", "Cumulative count of bytes written, over every block device."),
		threads:       d("container_threads", "Number of threads running inside the container (pids.current, docker stats' PIDS)."),
		startTime:     d("container_start_time_seconds", "Start time of the container since unix epoch in seconds."),
		lastSeen:      d("container_last_seen", "Last time a container was seen by the exporter"),
	}
	c.self = selfDescs{
		buildInfo:    prometheus.NewDesc("docker_live_build_info", "The streamer's build: always 1, labelled with its version, Go version and Docker context.", []string{"version", "goversion", "context"}, nil),
		engineUp:     prometheus.NewDesc("docker_live_engine_up", "1 while the streamer is connected to its Docker Engine, 0 otherwise.", nil, nil),
		containers:   prometheus.NewDesc("docker_live_containers", "Containers the streamer knows, in any state.", nil, nil),
		clients:      prometheus.NewDesc("docker_live_clients", "Stream subscribers attached now.", nil, nil),
		slowCuts:     prometheus.NewDesc("docker_live_slow_subscribers_cut_total", "Subscribers disconnected for being too slow (close code 4001).", nil, nil),
		events:       prometheus.NewDesc("docker_live_events_relayed_total", "Engine events relayed to subscribers.", nil, nil),
		sources:      prometheus.NewDesc("docker_live_stats_source_containers", "Containers whose newest stats sample came from each source.", []string{"source"}, nil),
		passDuration: prometheus.NewDesc("docker_live_stats_pass_duration_seconds", "How long the newest direct (cgroup) stats pass over every container took.", nil, nil),
	}
	return c, nil
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.descs.cpu, c.descs.memUsage, c.descs.memWorkingSet, c.descs.memLimit, c.descs.netRx, c.descs.netTx,
		c.descs.fsReads, c.descs.fsWrites, c.descs.threads, c.descs.startTime, c.descs.lastSeen,
		c.self.buildInfo, c.self.engineUp, c.self.containers, c.self.clients, c.self.slowCuts,
		c.self.events, c.self.sources, c.self.passDuration,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one read of the hub's state,
// turned into samples without timestamps.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	v := c.cfg.State.MetricsView()
	now := float64(c.cfg.Now().Unix())
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	labels := make([]string, 3+len(c.labelKeys))
	perSource := map[string]int{}
	for _, s := range v.Samples {
		ct, st := s.Container, s.Stats
		perSource[st.Source]++
		labels = labels[:0]
		labels = append(labels, "/docker/"+ct.ID, ct.Name, ct.Image)
		for _, k := range c.labelKeys {
			labels = append(labels, ct.Labels[k])
		}
		m := func(d *prometheus.Desc, t prometheus.ValueType, value float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, t, value, append(labels, extra...)...)
		}
		m(c.descs.cpu, counter, float64(st.CPUTotal)/1e9, "total")
		m(c.descs.memUsage, gauge, float64(st.MemTotal))
		m(c.descs.memWorkingSet, gauge, float64(st.MemUsage))
		m(c.descs.memLimit, gauge, float64(st.MemLimit))
		m(c.descs.netRx, counter, float64(st.NetRx))
		m(c.descs.netTx, counter, float64(st.NetTx))
		m(c.descs.fsReads, counter, float64(st.BlockRead))
		m(c.descs.fsWrites, counter, float64(st.BlockWrite))
		m(c.descs.threads, gauge, float64(st.PIDs))
		if !ct.StartedAt.IsZero() {
			m(c.descs.startTime, gauge, float64(ct.StartedAt.Unix()))
		}
		m(c.descs.lastSeen, gauge, now)
	}

	ch <- prometheus.MustNewConstMetric(c.self.buildInfo, gauge, 1, c.cfg.Version, runtime.Version(), c.cfg.Context)
	up := 0.0
	if v.Engine.State == stream.EngineConnected {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.self.engineUp, gauge, up)
	ch <- prometheus.MustNewConstMetric(c.self.containers, gauge, float64(v.Containers))
	ch <- prometheus.MustNewConstMetric(c.self.clients, gauge, float64(v.Subscribers))
	ch <- prometheus.MustNewConstMetric(c.self.slowCuts, counter, float64(v.SlowCuts))
	ch <- prometheus.MustNewConstMetric(c.self.events, counter, float64(v.Events))
	for _, src := range statsSources {
		ch <- prometheus.MustNewConstMetric(c.self.sources, gauge, float64(perSource[src]), src)
	}
	if c.cfg.StatsPass != nil {
		if d, ok := c.cfg.StatsPass(); ok {
			ch <- prometheus.MustNewConstMetric(c.self.passDuration, gauge, d.Seconds())
		}
	}
}

// Handler serves the collector, with the streamer process' own CPU,
// memory and file descriptors (process_*), as Prometheus text or, when the
// scraper asks for it in Accept, OpenMetrics. GET and HEAD only.
func Handler(c *Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		// A failed metric must not cost the scrape every other one.
		ErrorHandling: promhttp.ContinueOnError,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}
