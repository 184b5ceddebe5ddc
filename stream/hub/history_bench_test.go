package hub

import (
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// BenchmarkHistory measures what five minutes of history costs at 200
// containers: recording one flush (one sample per container, which must not
// allocate), and encoding the whole history frame for a new subscriber
// (held under the hub's lock, so it delays everything else that long).
func BenchmarkHistory(b *testing.B) {
	setup := func(b *testing.B) (*Hub, *fakeClock) {
		clock := newFakeClock()
		h := New(Config{Context: "default", History: 5 * time.Minute, Now: clock.Now})
		for i := range 200 {
			h.Upsert(benchContainer(i))
		}
		for s := range 300 {
			for i := range 200 {
				c := benchContainer(i)
				h.Stats(stream.Stats{ID: c.ID, Read: clock.Now(), CPUPercent: 12.345678 + float64(s%7), MemUsage: 123456789 + uint64(s*4096),
					MemLimit: 25276510208, NetRxRate: 1234.5, NetTxRate: 99, BlockRead: uint64(s) * 8192, PIDs: 12})
			}
			h.hist.record(clock.Now(), h.stats)
			clock.Advance(time.Second)
		}
		return h, clock
	}
	b.Run("record/containers=200", func(b *testing.B) {
		h, clock := setup(b)
		b.ReportAllocs()
		for b.Loop() {
			clock.Advance(time.Second)
			h.hist.record(clock.Now(), h.stats)
		}
	})
	b.Run("encode/containers=200/samples=300", func(b *testing.B) {
		h, clock := setup(b)
		b.ReportAllocs()
		var size int
		for b.Loop() {
			size = len(h.appendHistoryMessage(nil, nil, 1, clock.Now()))
		}
		b.ReportMetric(float64(size), "frame-bytes")
	})
}
