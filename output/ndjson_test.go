package output

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestAppendJSONRow(t *testing.T) {
	c := container("web", "running")
	c.Health = "healthy"
	now := time.Date(2026, 11, 26, 14, 3, 5, 123456789, time.UTC)
	got := string(AppendJSONRow(nil, NewRow(c, sample()), "default", now))
	want := `{"time":"2026-11-26T14:03:05.123456789Z","context":"default",` +
		`"id":"4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff","name":"web","image":"alpine:3.20",` +
		`"state":"running","status":"Up 3 minutes","health":"healthy","exit_code":0,` +
		`"cpu_percent":12.3456,"mem_usage":1572864,"mem_limit":8192000000,"mem_percent":0.0196,` +
		`"net_rx":1234567,"net_tx":3000,"net_rx_rate":1200000,"net_tx_rate":250,` +
		`"block_read":45600000,"block_write":0,"pids":7}` + "\n"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}

	exited := container("db", "exited")
	exited.ExitCode = 137
	got = string(AppendJSONRow([]byte("prefix "), NewRow(exited, nil), "prod", now))
	want = `prefix {"time":"2026-11-26T14:03:05.123456789Z","context":"prod",` +
		`"id":"4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff","name":"db","image":"alpine:3.20",` +
		`"state":"exited","status":"Up 3 minutes","health":"","exit_code":137,` +
		`"cpu_percent":null,"mem_usage":null,"mem_limit":null,"mem_percent":null,"net_rx":null,"net_tx":null,"net_rx_rate":null,"net_tx_rate":null,` +
		`"block_read":null,"block_write":null,"pids":null}` + "\n"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// encode is docker's json template function applied to a JSONRow.
func encode(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestAppendJSONRowMatchesEncodingJSON(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600))
	names := []string{
		"", "plain", `quote"back\slash`, "tab\tnl\ncr\r", "\b\f\x00\x01\x1f\x7f",
		"<html>&amp;", "ünïcödé ☃ 🐳", "bad\xffutf8\xc3", "line\u2028sep\u2029", "é\xe2\x80",
	}
	floats := []float64{0, 1, -1, 0.1, 12.3456, 1e-7, 1.5e-9, 123456789.125, 1e20, 1e21, 3.4e38, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1)}
	for _, name := range names {
		for _, f := range floats {
			r := Row{ID: name, Name: name, Image: name, State: "running", Status: name, Health: name, ExitCode: -1,
				HasStats: true, CPUPercent: f, MemPercent: f, NetRxRate: f, NetTxRate: -f,
				MemUsage: math.MaxUint64, MemLimit: 1, NetRx: 2, NetTx: 3, BlockRead: 4, BlockWrite: 5, PIDs: 6}
			got := string(AppendJSONRow(nil, r, name, now))
			if want := encode(t, NewJSONRow(r, name, now)); got != want {
				t.Fatalf("name %q float %v:\n got  %s\n want %s", name, f, got, want)
			}
			noStats := r
			noStats.HasStats = false
			if got, want := string(AppendJSONRow(nil, noStats, name, now)), encode(t, NewJSONRow(noStats, name, now)); got != want {
				t.Fatalf("without stats, name %q:\n got  %s\n want %s", name, got, want)
			}
			var back JSONRow
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatalf("not JSON: %v: %s", err, got)
			}
		}
	}
}

func TestAppendJSONRowAllocs(t *testing.T) {
	r := NewRow(container("web", "running"), sample())
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendJSONRow(buf[:0], r, "default", t0)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per row into a large enough buffer, want 0", allocs)
	}
}
