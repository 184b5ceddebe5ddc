package metrics

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// fakeState is a fixed hub view, named as the fake it is.
type fakeState struct{ view hub.MetricsView }

func (f *fakeState) MetricsView() hub.MetricsView { return f.view }

var (
	clock   = time.Date(2026, 12, 2, 19, 0, 0, 0, time.UTC)
	started = time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
)

func testView() hub.MetricsView {
	web := &stream.Container{ID: "a1b2", Name: "shop-web-1", Image: "nginx:1", StartedAt: started,
		Labels: map[string]string{"com.docker.compose.project": "shop", "com.docker.compose.service": "web", "team": "blue", "secret": "x"}}
	solo := &stream.Container{ID: "c3d4", Name: "solo", Image: "busybox"}
	return hub.MetricsView{
		Engine:      stream.EngineStatus{State: stream.EngineConnected},
		Containers:  3,
		Subscribers: 2,
		SlowCuts:    1,
		Events:      42,
		Samples: []hub.MetricsSample{
			{Container: web, Stats: stream.Stats{ID: "a1b2", CPUTotal: 2_500_000_000, CPUPercent: 99, MemTotal: 300 << 20, MemUsage: 200 << 20,
				MemLimit: 1 << 30, NetRx: 1000, NetTx: 2000, NetRxRate: 5, BlockRead: 4096, BlockWrite: 8192, PIDs: 7, Source: "cgroup"}},
			{Container: solo, Stats: stream.Stats{ID: "c3d4", CPUTotal: 1e9, Source: "api"}},
		},
	}
}

// gather is one scrape without the process' own metrics, read back with
// Prometheus' own parser of the text format.
func gather(t *testing.T, cfg Config) map[string]*dto.MetricFamily {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := writeExposition(&text, offered[len(offered)-1], c.families(false)); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(&text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text.String())
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// sampleOf finds the one sample of family name for container id.
func sampleOf(t *testing.T, fams map[string]*dto.MetricFamily, name, id string) (*dto.Metric, float64) {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
	for _, m := range f.GetMetric() {
		if id == "" || labelsOf(m)["id"] == "/docker/"+id {
			if m.TimestampMs != nil {
				t.Errorf("%s carries a timestamp: the scrape time must be the sample time", name)
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m, m.GetCounter().GetValue()
			default:
				return m, m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no %s sample for %q", name, id)
	return nil, 0
}

func TestCollectorNamesTypesValues(t *testing.T) {
	fams := gather(t, Config{State: &fakeState{testView()}, Version: "v1.2.3", Context: "prod",
		StatsPass: func() (time.Duration, bool) { return 1500 * time.Microsecond, true },
		Now:       func() time.Time { return clock }})
	counter, gauge := dto.MetricType_COUNTER, dto.MetricType_GAUGE
	want := []struct {
		name  string
		typ   dto.MetricType
		value float64 // of container a1b2, or the self metric
	}{
		{"container_cpu_usage_seconds_total", counter, 2.5}, // from the ns total, not from CPU %
		{"container_memory_usage_bytes", gauge, 300 << 20},  // cache included
		{"container_memory_working_set_bytes", gauge, 200 << 20},
		{"container_spec_memory_limit_bytes", gauge, 1 << 30},
		{"container_network_receive_bytes_total", counter, 1000}, // the total, not the rate
		{"container_network_transmit_bytes_total", counter, 2000},
		{"container_fs_reads_bytes_total", counter, 4096},
		{"container_fs_writes_bytes_total", counter, 8192},
		{"container_threads", gauge, 7},
		{"container_start_time_seconds", gauge, float64(started.Unix())},
		{"container_last_seen", gauge, float64(clock.Unix())},
		{"docker_live_build_info", gauge, 1},
		{"docker_live_engine_up", gauge, 1},
		{"docker_live_containers", gauge, 3},
		{"docker_live_clients", gauge, 2},
		{"docker_live_slow_subscribers_cut_total", counter, 1},
		{"docker_live_events_relayed_total", counter, 42},
		{"docker_live_stats_pass_duration_seconds", gauge, 0.0015},
	}
	for _, w := range want {
		id := ""
		if strings.HasPrefix(w.name, "container_") {
			id = "a1b2"
		}
		_, got := sampleOf(t, fams, w.name, id)
		if fams[w.name].GetType() != w.typ {
			t.Errorf("%s is a %s, want %s", w.name, fams[w.name].GetType(), w.typ)
		}
		if got != w.value {
			t.Errorf("%s = %v, want %v", w.name, got, w.value)
		}
	}
	if n := len(fams["container_cpu_usage_seconds_total"].GetMetric()); n != 2 {
		t.Errorf("cpu samples: %d, want one per container with stats (2)", n)
	}
	// A container without a start time has no container_start_time_seconds.
	if n := len(fams["container_start_time_seconds"].GetMetric()); n != 1 {
		t.Errorf("start time samples: %d, want 1", n)
	}
	for _, m := range fams["docker_live_stats_source_containers"].GetMetric() {
		src, v := labelsOf(m)["source"], m.GetGauge().GetValue()
		if (src == "api" || src == "cgroup") && v != 1 {
			t.Errorf("stats source %s: %v containers, want 1", src, v)
		}
	}
	bi, _ := sampleOf(t, fams, "docker_live_build_info", "")
	if l := labelsOf(bi); l["version"] != "v1.2.3" || l["context"] != "prod" || !strings.HasPrefix(l["goversion"], "go") {
		t.Errorf("build info labels %v", l)
	}
}

// TestCollectorLabels: cAdvisor's id, name and image, the Compose project
// and service always, other container labels only when asked for, and
// cpu="total" as cAdvisor without per-CPU usage.
func TestCollectorLabels(t *testing.T) {
	fams := gather(t, Config{State: &fakeState{testView()}, Labels: []string{"team", "com.docker.compose.project"}})
	m, _ := sampleOf(t, fams, "container_cpu_usage_seconds_total", "a1b2")
	got := labelsOf(m)
	want := map[string]string{
		"id": "/docker/a1b2", "name": "shop-web-1", "image": "nginx:1", "cpu": "total",
		"container_label_com_docker_compose_project": "shop",
		"container_label_com_docker_compose_service": "web",
		"container_label_team":                       "blue",
	}
	if len(got) != len(want) {
		t.Errorf("labels %v, want exactly %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("label %s = %q, want %q", k, got[k], v)
		}
	}
	m, _ = sampleOf(t, fams, "container_memory_usage_bytes", "a1b2")
	if _, has := labelsOf(m)["cpu"]; has {
		t.Error("cpu label on a memory metric")
	}

	plain := gather(t, Config{State: &fakeState{testView()}})
	m, _ = sampleOf(t, plain, "container_cpu_usage_seconds_total", "a1b2")
	if _, has := labelsOf(m)["container_label_team"]; has {
		t.Error("a label not asked for with --metrics-labels is reported")
	}
}

func TestLabelName(t *testing.T) {
	for key, want := range map[string]string{
		"com.docker.compose.project": "container_label_com_docker_compose_project",
		"org.opencontainers/x-y":     "container_label_org_opencontainers_x_y",
		"team":                       "container_label_team",
	} {
		if got := LabelName(key); got != want {
			t.Errorf("LabelName(%q) = %q, want %q", key, got, want)
		}
	}
	if _, err := New(Config{State: &fakeState{}, Labels: []string{"a.b", "a-b"}}); err == nil || !strings.Contains(err.Error(), "container_label_a_b") {
		t.Errorf("clashing --metrics-labels: err %v", err)
	}
}

// TestCollectorEngineDownNoPass: the Engine's loss shows as engine_up 0,
// and the API source, which has no passes, reports no pass duration.
func TestCollectorEngineDownNoPass(t *testing.T) {
	v := testView()
	v.Engine = stream.EngineStatus{State: stream.EngineUnavailable}
	fams := gather(t, Config{State: &fakeState{v}, StatsPass: func() (time.Duration, bool) { return 0, false }})
	if _, up := sampleOf(t, fams, "docker_live_engine_up", ""); up != 0 {
		t.Errorf("engine_up %v, want 0", up)
	}
	if fams["docker_live_stats_pass_duration_seconds"] != nil {
		t.Error("a pass duration without a pass")
	}
}

// TestCountersFollowTotals: through a real hub, the counter is the
// cumulative total of the newest sample, whatever the CPU % says.
func TestCountersFollowTotals(t *testing.T) {
	h := hub.New(hub.Config{})
	h.Reset([]stream.Container{{ID: "a1", Name: "x", State: "running"}})
	cfg := Config{State: h}
	h.Stats(stream.Stats{ID: "a1", CPUTotal: 3e9, CPUPercent: 50, NetRx: 10})
	_, first := sampleOf(t, gather(t, cfg), "container_cpu_usage_seconds_total", "a1")
	h.Stats(stream.Stats{ID: "a1", CPUTotal: 3.5e9, CPUPercent: 50, NetRx: 25})
	fams := gather(t, cfg)
	_, second := sampleOf(t, fams, "container_cpu_usage_seconds_total", "a1")
	_, rx := sampleOf(t, fams, "container_network_receive_bytes_total", "a1")
	if first != 3 || second != 3.5 || rx != 25 {
		t.Errorf("cpu %v then %v, rx %v; want 3, 3.5, 25", first, second, rx)
	}
}

func scrape(t *testing.T, h http.Handler, accept string) (string, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	body, _ := io.ReadAll(rec.Body)
	return rec.Header().Get("Content-Type"), string(body)
}

// TestHandlerNegotiates: Prometheus text by default, OpenMetrics when the
// scraper asks for it; POST is refused.
func TestHandlerNegotiates(t *testing.T) {
	c, err := New(Config{State: &fakeState{testView()}})
	if err != nil {
		t.Fatal(err)
	}
	h := Handler(c)
	ct, body := scrape(t, h, "")
	if !strings.HasPrefix(ct, "text/plain") || !strings.Contains(body, "# TYPE container_cpu_usage_seconds_total counter") {
		t.Errorf("default: %s\n%.300s", ct, body)
	}
	if !strings.Contains(body, "process_cpu_seconds_total") {
		t.Error("no process_ metrics of the streamer itself")
	}
	ct, body = scrape(t, h, "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	if !strings.HasPrefix(ct, "application/openmetrics-text") || !strings.HasSuffix(body, "# EOF\n") {
		t.Errorf("OpenMetrics: %s\n...%s", ct, body[max(0, len(body)-200):])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/metrics", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

// TestPromtoolCheckMetrics lints the exposition with Prometheus' own tool
// (Debian's prometheus package). With CI set, a missing promtool fails.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not found (install Debian's prometheus package)")
		}
		t.Skip("promtool not found")
	}
	c, err := New(Config{State: &fakeState{testView()}, Labels: []string{"team"},
		StatsPass: func() (time.Duration, bool) { return time.Millisecond, true }})
	if err != nil {
		t.Fatal(err)
	}
	_, body := scrape(t, Handler(c), "")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
	}
}

// TestHandlerNameFilter: name[] parameters keep only the families named,
// as Prometheus' promhttp does (federation-style partial scrapes).
func TestHandlerNameFilter(t *testing.T) {
	c, err := New(Config{State: &fakeState{testView()}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	Handler(c).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics?name[]=docker_live_clients&name[]=process_cpu_seconds_total", nil))
	var families []string
	for line := range strings.Lines(rec.Body.String()) {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			families = append(families, strings.Fields(name)[0])
		}
	}
	if strings.Join(families, " ") != "docker_live_clients process_cpu_seconds_total" {
		t.Errorf("families %v, want docker_live_clients and process_cpu_seconds_total only", families)
	}
}
