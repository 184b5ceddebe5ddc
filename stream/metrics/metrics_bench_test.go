package metrics

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// BenchmarkScrape is one GET /metrics of n containers with stats, from
// the collector's read of a (fake) hub view to the encoded text: what a
// Prometheus scrape costs the streamer, minus the socket.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{200, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			v := hub.MetricsView{Engine: stream.EngineStatus{State: stream.EngineConnected}, Containers: n}
			for i := range n {
				id := fmt.Sprintf("%064x", i)
				c := &stream.Container{ID: id, Name: fmt.Sprintf("app-web-%d", i), Image: "registry.example/app:1.2.3",
					StartedAt: time.Unix(1764700000, 0), Labels: map[string]string{"com.docker.compose.project": "app", "com.docker.compose.service": "web"}}
				v.Samples = append(v.Samples, hub.MetricsSample{Container: c, Stats: stream.Stats{ID: id, CPUTotal: uint64(i) * 1e9,
					MemTotal: 64 << 20, MemUsage: 60 << 20, MemLimit: 8 << 30, NetRx: 1e6, NetTx: 2e6, BlockRead: 4096, BlockWrite: 8192, PIDs: 7, Source: "cgroup"}})
			}
			c, err := New(Config{State: &fakeState{v}})
			if err != nil {
				b.Fatal(err)
			}
			h := Handler(c)
			var size int
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				size = rec.Body.Len()
				_, _ = io.Copy(io.Discard, rec.Body)
			}
			b.ReportMetric(float64(size), "bytes/scrape")
		})
	}
}
