package hub

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
)

func TestFilterCapIsRefused(t *testing.T) {
	names := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("name-%d", i)
		}
		return out
	}
	h := New(Config{})
	// At the cap, counting every list together: accepted.
	atCap := stream.ContainerFilter{Names: names(stream.MaxFilterEntries - 3), IDs: []string{"ab"}, Labels: []string{"k=v"}, Projects: []string{"p"}}
	subscribe(t, h, stream.Subscription{Filter: atCap})
	over := atCap
	over.Projects = append(slices.Clone(over.Projects), "q")
	_, err := h.Subscribe(stream.Subscription{Protocol: stream.ProtocolVersion, Filter: over})
	var re *RequestError
	if !errors.As(err, &re) || re.Code != stream.CloseBadRequest || re.Kind != "bad_filter" {
		t.Fatalf("a filter of %d entries: %v, want a bad_filter refusal", stream.MaxFilterEntries+1, err)
	}
	if !strings.Contains(re.Msg, fmt.Sprint(stream.MaxFilterEntries)) {
		t.Errorf("refusal %q does not name the limit", re.Msg)
	}
}

// Equal filters, in any order, share one prepared matcher, and a stats
// batch is filtered and encoded once for all of them; the matcher goes
// when its last subscriber does.
func TestEqualFiltersShareOneMatcher(t *testing.T) {
	clock := newFakeClock()
	h := New(Config{Now: clock.Now})
	h.Reset([]stream.Container{ctr("a1", "web"), ctr("b2", "db"), ctr("c3", "cache")})
	a := subscribe(t, h, stream.Subscription{Filter: stream.ContainerFilter{Names: []string{"web", "db"}}})
	b := subscribe(t, h, stream.Subscription{Filter: stream.ContainerFilter{Names: []string{"db", "/web"}}})
	c := subscribe(t, h, stream.Subscription{Filter: stream.ContainerFilter{Names: []string{"db", "web"}}})
	if a.match == nil || a.match != c.match {
		t.Fatal("equal filters did not share a matcher")
	}
	if b.match == a.match {
		t.Fatal(`"/web" and "web" differ as keys but share a matcher`) // keys are the lists as sent
	}
	for _, s := range []*Subscriber{a, b, c} {
		take(t, s)
	}
	for _, id := range []string{"a1", "b2", "c3"} {
		h.Stats(stream.Stats{ID: id})
	}
	clock.Advance(time.Second)
	h.flushStats()
	fa, _, _ := a.Take(nil)
	fc, _, _ := c.Take(nil)
	if len(fa) != 1 || len(fc) != 1 || &fa[0][0] != &fc[0][0] {
		t.Errorf("subscribers with one filter got separately encoded batches")
	}
	if ms := take(t, b); len(ms) != 1 || len(ms[0].Stats) != 2 {
		t.Errorf("the filtered batch: %+v, want 2 samples", ms)
	}
	h.Unsubscribe(a)
	h.Unsubscribe(b)
	if len(h.filters) != 1 {
		t.Errorf("%d matchers held with one subscriber left, want 1", len(h.filters))
	}
	h.Unsubscribe(c)
	if len(h.filters) != 0 {
		t.Errorf("%d matchers held after every subscriber left", len(h.filters))
	}
}

// BenchmarkStatsFlushFiltered is issue 17's check: 300 subscribers with a
// 1,000-name filter each must cost no more per flush than 300 unfiltered
// ones, within 20 %. The filter names every container plus 800 others
// (so it picks them all, the costliest case for matching). "distinct"
// gives every subscriber a filter of its own, for comparison: each then
// needs its own pick, so it is expected to cost more.
func BenchmarkStatsFlushFiltered(b *testing.B) {
	const containers, subscribers, names = 200, 300, 1000
	filter := func(variant int) stream.ContainerFilter {
		f := stream.ContainerFilter{}
		for i := range containers {
			f.Names = append(f.Names, "service-"+fmt.Sprint(i))
		}
		for i := len(f.Names); i < names; i++ {
			f.Names = append(f.Names, fmt.Sprintf("absent-%d-%d", variant, i))
		}
		return f
	}
	for _, mode := range []string{"unfiltered", "filtered", "distinct"} {
		b.Run(fmt.Sprintf("containers=%d/subscribers=%d/%s", containers, subscribers, mode), func(b *testing.B) {
			now := time.Unix(1700000000, 0)
			h := New(Config{Context: "default", Now: func() time.Time { return now }})
			samples := make([]stream.Stats, containers)
			for i := range samples {
				c := benchContainer(i)
				h.Upsert(c)
				samples[i] = stream.Stats{ID: c.ID, CPUPercent: 1.5, MemUsage: 64 << 20, MemLimit: 8 << 30}
			}
			subs := make([]*Subscriber, subscribers)
			for i := range subs {
				sub := stream.Subscription{Protocol: stream.ProtocolVersion, Topics: []string{stream.TopicStats}}
				switch mode {
				case "filtered":
					sub.Filter = filter(0)
				case "distinct":
					sub.Filter = filter(i)
				}
				s, err := h.Subscribe(sub)
				if err != nil {
					b.Fatal(err)
				}
				subs[i] = s
			}
			benchDrain(b, subs)
			b.ReportAllocs()
			// CPU time, not wall time: on a busy host the benchmark waits
			// for a core, and the question is what a flush costs.
			cpuBefore := cpuTime()
			for b.Loop() {
				now = now.Add(time.Second)
				for i := range samples {
					samples[i].Read = now
					samples[i].CPUPercent += 0.01
					h.Stats(samples[i])
				}
				h.flushStats()
				benchDrain(b, subs)
			}
			b.ReportMetric(float64((cpuTime()-cpuBefore).Nanoseconds())/float64(b.N), "cpu-ns/flush")
		})
	}
}
