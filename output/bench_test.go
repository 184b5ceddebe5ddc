package output

import (
	"strconv"
	"testing"
)

func benchRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		state := "running"
		if i%10 == 9 {
			state = "exited"
		}
		c := container("service-"+strconv.Itoa(i)+"-replica", state)
		c.ID = strconv.Itoa(i) + c.ID[len(strconv.Itoa(i)):]
		s := sample()
		s.CPUPercent = float64(i) * 0.37
		s.MemUsage += uint64(i) << 20
		s.NetRxRate = float64(i * 1500)
		rows[i] = NewRow(c, s)
	}
	return rows
}

func BenchmarkRenderTable200(b *testing.B) {
	rows := benchRows(200)
	opts := TableOptions{Now: t0, Width: 160, TTY: true}
	var s Screen
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Frame(RenderTable(rows, liveHeader, opts))
	}
}

func BenchmarkRenderTableTemplate200(b *testing.B) {
	f, err := ParseWatchFormat(`table {{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}`)
	if err != nil {
		b.Fatal(err)
	}
	rows := benchRows(200)
	opts := TableOptions{Now: t0, Width: 160, Template: f.Template}
	b.ReportAllocs()
	for b.Loop() {
		_ = RenderTable(rows, liveHeader, opts)
	}
}

func BenchmarkAppendJSONRow(b *testing.B) {
	rows := benchRows(200)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = AppendJSONRow(buf[:0], rows[i%len(rows)], "default", t0)
		i++
	}
}

func BenchmarkEventsDefault(b *testing.B) {
	f, _ := ParseEventsFormat("")
	ev := pauseEvent()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = f.Append(buf[:0], ev)
	}
}
