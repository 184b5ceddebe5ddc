package tui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
)

// bigFixture is n running containers in projects of ten, with stats.
func bigFixture(n int) DataMsg {
	d := DataMsg{Stats: map[string]stream.Stats{}, Header: output.Header{Mode: output.ModeLive, Context: "default", Updated: t0}}
	for i := range n {
		c := stream.Container{ID: fmt.Sprintf("%064x", i+1), Name: fmt.Sprintf("svc-%03d", i), Image: "acme/svc:1", State: "running",
			StartedAt: t0.Add(-time.Hour), Project: fmt.Sprintf("p%02d", i/10)}
		d.Containers = append(d.Containers, c)
		d.Stats[c.ID] = stream.Stats{ID: c.ID, Read: t0, CPUPercent: float64(i % 97), MemUsage: uint64(i) << 20, MemLimit: 8 << 30, PIDs: 3}
	}
	return d
}

func benchModel(b *testing.B, n int) *Model {
	clk := &clock{t: t0}
	m := New(Options{Engine: &fakeEngine{}, Color: true, Now: clk.now})
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	m.Update(bigFixture(n))
	return m
}

// BenchmarkKeyAt200 is one key press at 200 containers: Update and the
// View bubbletea draws after it. A frame at 60 fps is 16.7 ms.
func BenchmarkKeyAt200(b *testing.B) {
	m := benchModel(b, 200)
	down := tea.KeyPressMsg{Code: tea.KeyDown}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(down)
		_ = m.View()
	}
}

// BenchmarkSortKeyAt200 is the costliest key: s re-sorts every row.
func BenchmarkSortKeyAt200(b *testing.B) {
	m := benchModel(b, 200)
	s := tea.KeyPressMsg{Code: 's', Text: "s"}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(s)
		_ = m.View()
	}
}

// BenchmarkDataAt200 is one stats update at 200 containers (once a
// second): rows rebuilt, history extended, the view drawn.
func BenchmarkDataAt200(b *testing.B) {
	m := benchModel(b, 200)
	d := bigFixture(200)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		for id, st := range d.Stats {
			st.Read = t0.Add(time.Duration(i) * time.Second)
			d.Stats[id] = st
		}
		m.Update(d)
		_ = m.View()
	}
}

// BenchmarkDetailAt200 draws the detail view with five minutes of history.
func BenchmarkDetailAt200(b *testing.B) {
	m := benchModel(b, 200)
	m.Update(HistoryMsg{History: fixtureHistory()})
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}
