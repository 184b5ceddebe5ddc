package synthetic

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// The fake must satisfy the real moby client, which the streamer uses:
// version negotiation, list, inspect, a stats stream and a paced event
// stream whose events carry the time they were sent.
func TestFakeEngineServesTheStreamersRequests(t *testing.T) {
	e, c := startWithClient(t, Config{Containers: 50, Running: 5, EventRate: 2000, StatsInterval: 50 * time.Millisecond}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	ver, err := c.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	if ver.APIVersion != APIVersion {
		t.Errorf("api version %q, want %q", ver.APIVersion, APIVersion)
	}
	list, err := c.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 50 {
		t.Fatalf("listed %d containers, want 50", len(list.Items))
	}
	running, err := c.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil || len(running.Items) != 5 {
		t.Fatalf("running list: %d items, err %v; want 5", len(running.Items), err)
	}
	ins, err := c.ContainerInspect(ctx, list.Items[0].ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	if ins.Container.State == nil || ins.Container.State.Status != "running" || ins.Container.Name != "/syn-00000" {
		t.Errorf("inspect gave %+v", ins.Container.State)
	}
	if _, err := c.ContainerInspect(ctx, "nope", client.ContainerInspectOptions{}); err == nil {
		t.Errorf("inspect of an unknown container succeeded")
	}

	st, err := c.ContainerStats(ctx, list.Items[0].ID, client.ContainerStatsOptions{Stream: true})
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	buf := make([]byte, 4096)
	n, err := st.Body.Read(buf)
	st.Body.Close()
	if err != nil || !strings.Contains(string(buf[:n]), `"read":"`) || !strings.Contains(string(buf[:n]), `"memory_stats"`) {
		t.Errorf("stats record %q, err %v", buf[:n], err)
	}

	ev := c.Events(ctx, client.EventsListOptions{})
	start := time.Now()
	got := 0
	for got < 1000 {
		select {
		case m := <-ev.Messages:
			if m.Actor.ID == "" || m.TimeNano == 0 {
				t.Fatalf("event without actor or time: %+v", m)
			}
			if lag := time.Since(time.Unix(0, m.TimeNano)); lag > 5*time.Second || lag < 0 {
				t.Fatalf("event stamped %v ago", lag)
			}
			got++
		case err := <-ev.Err:
			t.Fatalf("events: %v", err)
		case <-ctx.Done():
			t.Fatalf("only %d events before the deadline", got)
		}
	}
	// 1000 events at 2000/s take half a second; far more means no pacing
	// at all, far less means the pacer stalls.
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("1000 events at 2000/s took %v", d)
	}
	if e.EventsSent() < 1000 {
		t.Errorf("EventsSent = %d, want >= 1000", e.EventsSent())
	}
}

// A one-shot answer has no previous reading, as the Engine's (API 1.41)
// has none, and its counters grow with time, so that a poller comparing two
// answers an interval apart gets a defined CPU % (1 %).
func TestFakeEngineAnswersOneShotStats(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	e, c := startWithClient(t, Config{Containers: 3, Running: 1, StatsInterval: time.Second}, clock)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	oneShot := func(id string) container.StatsResponse {
		t.Helper()
		res, err := c.ContainerStats(ctx, id, client.ContainerStatsOptions{})
		if err != nil {
			t.Fatalf("one-shot stats: %v", err)
		}
		defer res.Body.Close()
		var rec container.StatsResponse
		if err := json.NewDecoder(res.Body).Decode(&rec); err != nil {
			t.Fatalf("decoding one-shot stats: %v", err)
		}
		return rec
	}
	first := oneShot("syn-00000")
	if first.Read.IsZero() || !first.PreRead.IsZero() || first.PreCPUStats.SystemUsage != 0 || first.PreCPUStats.CPUUsage.TotalUsage != 0 {
		t.Errorf("one-shot answer with a previous reading: read %v preread %v precpu %+v", first.Read, first.PreRead, first.PreCPUStats)
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	second := oneShot("syn-00000")
	cpu := float64(second.CPUStats.CPUUsage.TotalUsage - first.CPUStats.CPUUsage.TotalUsage)
	sys := float64(second.CPUStats.SystemUsage - first.CPUStats.SystemUsage)
	if sys <= 0 || cpu/sys*2*100 != 1 {
		t.Errorf("two one-shot answers 2 s apart: cpu delta %v, system delta %v; want 1 %%", cpu, sys)
	}
	if stopped := oneShot("syn-00001"); !stopped.Read.IsZero() {
		t.Errorf("one-shot answer for an exited container has a reading at %v", stopped.Read)
	}
	if _, streams := e.Streams(); streams != 0 {
		t.Errorf("%d stats streams open after one-shot requests", streams)
	}
}

// startWithClient starts a fake Engine (on clock, without the generator;
// nil: Start, with the real clock and the generator) and a
// moby client of it, both closed when the test ends.
func startWithClient(t *testing.T, cfg Config, clock func() time.Time) (*FakeEngine, *client.Client) {
	t.Helper()
	var e *FakeEngine
	var err error
	if clock == nil {
		e, err = Start(cfg)
	} else {
		e, err = start(cfg, clock)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	c, err := client.New(client.WithHost(e.Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return e, c
}
