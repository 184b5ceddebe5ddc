package metrics

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// The streamer writes its own exposition (exposition.go) so as not to link
// client_golang and protobuf. These tests pin it against client_golang:
// referenceCollector is the collector /metrics used to be, built on
// client_golang's const metrics, and for the same hub view, Accept and
// Accept-Encoding headers the two handlers must answer the same bytes and
// headers.

// referenceCollector is Collector's families as a prometheus.Collector.
type referenceCollector struct{ c *Collector }

func (r referenceCollector) descs() map[string]*prometheus.Desc {
	base := []string{"id", "name", "image"}
	for _, k := range r.c.labelKeys {
		base = append(base, LabelName(k))
	}
	withCPU := append(append([]string{}, base...), "cpu")
	return map[string]*prometheus.Desc{
		"container_cpu_usage_seconds_total":       prometheus.NewDesc("container_cpu_usage_seconds_total", helpCPU, withCPU, nil),
		"container_memory_usage_bytes":            prometheus.NewDesc("container_memory_usage_bytes", helpMemUsage, base, nil),
		"container_memory_working_set_bytes":      prometheus.NewDesc("container_memory_working_set_bytes", helpMemWorkingSet, base, nil),
		"container_spec_memory_limit_bytes":       prometheus.NewDesc("container_spec_memory_limit_bytes", helpMemLimit, base, nil),
		"container_network_receive_bytes_total":   prometheus.NewDesc("container_network_receive_bytes_total", helpNetRx, base, nil),
		"container_network_transmit_bytes_total":  prometheus.NewDesc("container_network_transmit_bytes_total", helpNetTx, base, nil),
		"container_fs_reads_bytes_total":          prometheus.NewDesc("container_fs_reads_bytes_total", helpFsReads, base, nil),
		"container_fs_writes_bytes_total":         prometheus.NewDesc("container_fs_writes_bytes_total", helpFsWrites, base, nil),
		"container_threads":                       prometheus.NewDesc("container_threads", helpThreads, base, nil),
		"container_start_time_seconds":            prometheus.NewDesc("container_start_time_seconds", helpStartTime, base, nil),
		"container_last_seen":                     prometheus.NewDesc("container_last_seen", helpLastSeen, base, nil),
		"docker_live_build_info":                  prometheus.NewDesc("docker_live_build_info", "The streamer's build: always 1, labelled with its version, Go version and Docker context.", []string{"version", "goversion", "context"}, nil),
		"docker_live_engine_up":                   prometheus.NewDesc("docker_live_engine_up", "1 while the streamer is connected to its Docker Engine, 0 otherwise.", nil, nil),
		"docker_live_containers":                  prometheus.NewDesc("docker_live_containers", "Containers the streamer knows, in any state.", nil, nil),
		"docker_live_clients":                     prometheus.NewDesc("docker_live_clients", "Stream subscribers attached now.", nil, nil),
		"docker_live_slow_subscribers_cut_total":  prometheus.NewDesc("docker_live_slow_subscribers_cut_total", "Subscribers disconnected for being too slow (close code 4001).", nil, nil),
		"docker_live_events_relayed_total":        prometheus.NewDesc("docker_live_events_relayed_total", "Engine events relayed to subscribers.", nil, nil),
		"docker_live_stats_source_containers":     prometheus.NewDesc("docker_live_stats_source_containers", "Containers whose newest stats sample came from each source.", []string{"source"}, nil),
		"docker_live_stats_pass_duration_seconds": prometheus.NewDesc("docker_live_stats_pass_duration_seconds", "How long the newest direct (cgroup) stats pass over every container took.", nil, nil),
	}
}

func (r referenceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range r.descs() {
		ch <- d
	}
}

// Collect is the collector of issue 13, written against client_golang.
func (r referenceCollector) Collect(ch chan<- prometheus.Metric) {
	d := r.descs()
	cfg := r.c.cfg
	v := cfg.State.MetricsView()
	now := float64(cfg.Now().Unix())
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	perSource := map[string]int{}
	for _, s := range v.Samples {
		ct, st := s.Container, s.Stats
		perSource[st.Source]++
		labels := []string{"/docker/" + ct.ID, ct.Name, ct.Image}
		for _, k := range r.c.labelKeys {
			labels = append(labels, ct.Labels[k])
		}
		m := func(name string, t prometheus.ValueType, value float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d[name], t, value, append(labels, extra...)...)
		}
		m("container_cpu_usage_seconds_total", counter, float64(st.CPUTotal)/1e9, "total")
		m("container_memory_usage_bytes", gauge, float64(st.MemTotal))
		m("container_memory_working_set_bytes", gauge, float64(st.MemUsage))
		m("container_spec_memory_limit_bytes", gauge, float64(st.MemLimit))
		m("container_network_receive_bytes_total", counter, float64(st.NetRx))
		m("container_network_transmit_bytes_total", counter, float64(st.NetTx))
		m("container_fs_reads_bytes_total", counter, float64(st.BlockRead))
		m("container_fs_writes_bytes_total", counter, float64(st.BlockWrite))
		m("container_threads", gauge, float64(st.PIDs))
		if !ct.StartedAt.IsZero() {
			m("container_start_time_seconds", gauge, float64(ct.StartedAt.Unix()))
		}
		m("container_last_seen", gauge, now)
	}
	ch <- prometheus.MustNewConstMetric(d["docker_live_build_info"], gauge, 1, cfg.Version, runtime.Version(), cfg.Context)
	up := 0.0
	if v.Engine.State == stream.EngineConnected {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(d["docker_live_engine_up"], gauge, up)
	ch <- prometheus.MustNewConstMetric(d["docker_live_containers"], gauge, float64(v.Containers))
	ch <- prometheus.MustNewConstMetric(d["docker_live_clients"], gauge, float64(v.Subscribers))
	ch <- prometheus.MustNewConstMetric(d["docker_live_slow_subscribers_cut_total"], counter, float64(v.SlowCuts))
	ch <- prometheus.MustNewConstMetric(d["docker_live_events_relayed_total"], counter, float64(v.Events))
	for _, src := range statsSources {
		ch <- prometheus.MustNewConstMetric(d["docker_live_stats_source_containers"], gauge, float64(perSource[src]), src)
	}
	if cfg.StatsPass != nil {
		if p, ok := cfg.StatsPass(); ok {
			ch <- prometheus.MustNewConstMetric(d["docker_live_stats_pass_duration_seconds"], gauge, p.Seconds())
		}
	}
}

// referenceHandler is how /metrics was served with client_golang.
func referenceHandler(t *testing.T, c *Collector) http.Handler {
	reg := prometheus.NewPedanticRegistry() // also checks Describe against Collect
	reg.MustRegister(referenceCollector{c})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.HTTPErrorOnError})
}

// oursWithoutProcess is Handler without the process_* families, whose
// values move between two scrapes (process_linux_test.go pins those).
func oursWithoutProcess(c *Collector) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serveExposition(w, r, c.families(false)) })
}

// awkwardView has label values that need escaping, unicode, empty values,
// containers whose order by id, name and Compose labels differ, values
// that format differently (0, 1, fractions, large and tiny numbers), and
// one stats source only.
func awkwardView() hub.MetricsView {
	v := testView()
	odd := &stream.Container{ID: "0ff1ce", Name: "quote\"back\\slash\nnewline", Image: "ünïcode:✓", StartedAt: started.Add(1500 * time.Millisecond),
		Labels: map[string]string{"com.docker.compose.project": "shop", "com.docker.compose.service": "api", "team": "a\"b", "a-b.c": "x"}}
	zero := &stream.Container{ID: "ffff", Name: "aaa", Image: "", Labels: map[string]string{"com.docker.compose.project": "", "team": ""}}
	v.Samples = append(v.Samples,
		hub.MetricsSample{Container: odd, Stats: stream.Stats{ID: "0ff1ce", CPUTotal: 1, MemTotal: 1, MemUsage: 123456789012345, MemLimit: 1 << 62,
			NetRx: 1e15, NetTx: 1<<64 - 1, BlockRead: 3, BlockWrite: 0, PIDs: 1, Source: "cgroup"}},
		hub.MetricsSample{Container: zero, Stats: stream.Stats{ID: "ffff", CPUTotal: 123_456_789, Source: "cgroup"}})
	return v
}

// TestExpositionMatchesClientGolang pins the exposition against
// client_golang's, byte for byte, for the headers scrapers send.
func TestExpositionMatchesClientGolang(t *testing.T) {
	empty := hub.MetricsView{Engine: stream.EngineStatus{State: stream.EngineUnavailable}}
	configs := map[string]Config{
		"plain":           {State: &fakeState{testView()}, Now: func() time.Time { return clock }},
		"labels, pass":    {State: &fakeState{awkwardView()}, Version: "v1.2.3", Context: "prod\"x", Labels: []string{"team", "a-b.c", "zzz"}, Now: func() time.Time { return clock }, StatsPass: func() (time.Duration, bool) { return 1234567 * time.Nanosecond, true }},
		"no containers":   {State: &fakeState{empty}, Now: func() time.Time { return clock }, StatsPass: func() (time.Duration, bool) { return 0, false }},
		"label sorts 1st": {State: &fakeState{awkwardView()}, Labels: []string{"a-b.c"}, Now: func() time.Time { return clock }},
	}
	accepts := []string{
		"", // curl, and Go's http.Get
		"*/*",
		"text/plain",
		"text/plain;version=0.0.4",
		"text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
		// Prometheus 2's default scrape protocols
		"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
		// Prometheus 3's
		"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1",
		"application/openmetrics-text",
		"application/openmetrics-text; version=0.0.1",
		"application/openmetrics-text;version=2.0.0,text/plain;version=0.0.4;q=0.2",
		"text/plain;version=0.0.4;escaping=dots",
		"text/html, application/xhtml+xml",
	}
	encodings := [][]string{nil, {"gzip"}, {"gzip, deflate, br"}, {"identity"}, {"gzip;q=0.5, identity"}, {"*"}}
	for name, cfg := range configs {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ref, ours := referenceHandler(t, c), oursWithoutProcess(c)
		for _, accept := range accepts {
			for _, enc := range encodings {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				if accept != "" {
					req.Header.Set("Accept", accept)
				}
				req.Header["Accept-Encoding"] = enc
				want, got := httptest.NewRecorder(), httptest.NewRecorder()
				ref.ServeHTTP(want, req)
				ours.ServeHTTP(got, req)
				what := name + ", Accept " + accept + ", Accept-Encoding " + strings.Join(enc, ";")
				for _, h := range []string{"Content-Type", "Content-Encoding"} {
					if got.Header().Get(h) != want.Header().Get(h) {
						t.Errorf("%s: %s %q, client_golang %q", what, h, got.Header().Get(h), want.Header().Get(h))
					}
				}
				if g, w := strings.Join(got.Header().Values("Vary"), ","), strings.Join(want.Header().Values("Vary"), ","); g != w {
					t.Errorf("%s: Vary %q, client_golang %q", what, g, w)
				}
				gb, wb := body(t, got), body(t, want)
				if want.Code != http.StatusOK || got.Code != want.Code || gb != wb {
					t.Errorf("%s: status %d, client_golang %d; body differs:\n%s", what, got.Code, want.Code, firstDiff(gb, wb))
				}
			}
		}
	}
}

// body is a response's body, gunzipped if it is gzipped.
func body(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	b := rec.Body.Bytes()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return string(b)
}

func firstDiff(got, want string) string {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			return "line " + strconv.Itoa(i+1) + ":\n  ours:          " + g + "\n  client_golang: " + w
		}
	}
	return "(same lines)"
}

// TestExpositionValues pins value formatting on its own, including the
// special values no collector here produces today.
func TestExpositionValues(t *testing.T) {
	for _, tc := range []struct {
		v          float64
		text, open string
	}{
		{0, "0", "0.0"}, {1, "1", "1.0"}, {-1, "-1", "-1.0"}, {2, "2", "2.0"}, {0.5, "0.5", "0.5"},
		{1e21, "1e+21", "1e+21"}, {123456789, "1.23456789e+08", "1.23456789e+08"}, {1234567, "1.234567e+06", "1.234567e+06"},
		{12345, "12345", "12345.0"}, {1e-7, "1e-07", "1e-07"},
	} {
		if got := string(appendValue(nil, tc.v, false)); got != tc.text {
			t.Errorf("text %v: %q, want %q", tc.v, got, tc.text)
		}
		if got := string(appendValue(nil, tc.v, true)); got != tc.open {
			t.Errorf("OpenMetrics %v: %q, want %q", tc.v, got, tc.open)
		}
	}
}
