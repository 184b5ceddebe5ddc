package hub

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
)

// The hub's share of the streamer's cost: one Engine event fanned out to
// many subscribers, and the once-a-second stats batch of a busy host. The
// subscribers' queues are drained as a write pump would (without the socket
// write), so the numbers include handing the shared bytes over.

func benchSubscribers(b *testing.B, h *Hub, n int, topics ...string) []*Subscriber {
	b.Helper()
	subs := make([]*Subscriber, n)
	for i := range subs {
		s, err := h.Subscribe(stream.Subscription{Protocol: stream.ProtocolVersion, Topics: topics})
		if err != nil {
			b.Fatalf("Subscribe: %v", err)
		}
		subs[i] = s
	}
	benchDrain(b, subs)
	return subs
}

// benchDrain empties every queue; a close means the benchmark let a queue
// overflow, which would make the numbers meaningless.
func benchDrain(b *testing.B, subs []*Subscriber) {
	var buf [][]byte
	for _, s := range subs {
		var code int
		buf, code, _ = s.Take(buf)
		if code != 0 {
			b.Fatalf("subscriber closed with code %d during the benchmark", code)
		}
	}
}

func benchContainer(i int) stream.Container {
	id := fmt.Sprintf("%064x", i+1)
	return stream.Container{
		ID: id, Name: "service-" + strconv.Itoa(i), Image: "registry.example/app:1.2.3", Command: "/app serve",
		Created: time.Unix(1700000000, 0).UTC(), State: "running", Status: "Up 2 hours",
		Labels:  map[string]string{"com.docker.compose.project": "shop", "com.docker.compose.service": "web", "tier": "frontend"},
		Project: "shop",
		Service: "web",
	}
}

func BenchmarkBroadcastEvent(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run("subscribers="+strconv.Itoa(n), func(b *testing.B) {
			h := New(Config{Context: "default", QueueSize: 1024})
			subs := benchSubscribers(b, h, n, stream.TopicEvents)
			ev := events.Message{
				Type: events.ContainerEventType, Action: events.ActionPause, Scope: "local",
				Actor: events.Actor{ID: fmt.Sprintf("%064x", 7), Attributes: map[string]string{
					"image": "registry.example/app:1.2.3", "name": "service-7", "com.docker.compose.project": "shop",
				}},
				Time: 1700000000, TimeNano: 1700000000123456789,
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.Event(ev)
				// Below the queue bound, so no subscriber is ended as slow.
				if i++; i%512 == 0 {
					benchDrain(b, subs)
				}
			}
			benchDrain(b, subs)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
		})
	}
}

// BenchmarkStatsFlush is one second of a 200-container host: a sample per
// container, then the flush that encodes the batch once and offers it to
// every subscriber.
func BenchmarkStatsFlush(b *testing.B) {
	const containers = 200
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("containers=%d/subscribers=%d", containers, n), func(b *testing.B) {
			now := time.Unix(1700000000, 0)
			h := New(Config{Context: "default", Now: func() time.Time { return now }})
			samples := make([]stream.Stats, containers)
			for i := range samples {
				c := benchContainer(i)
				h.Upsert(c)
				samples[i] = stream.Stats{ID: c.ID, CPUPercent: 1.5, MemUsage: 64 << 20, MemLimit: 8 << 30, MemPercent: 0.78,
					NetRx: 123456, NetTx: 654321, NetRxRate: 1500, NetTxRate: 900, BlockRead: 4 << 20, BlockWrite: 1 << 20, PIDs: 12}
			}
			subs := benchSubscribers(b, h, n, stream.TopicStats)
			b.ReportAllocs()
			for b.Loop() {
				// Each flush is a subscriber interval later, so every one is sent.
				now = now.Add(time.Second)
				for i := range samples {
					samples[i].Read = now
					samples[i].CPUPercent += 0.01
					h.Stats(samples[i])
				}
				h.flushStats()
				benchDrain(b, subs)
			}
		})
	}
}
