package stats

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/docker-live/docker-live/stream"
)

// tolerance for float results; the expected values below are worked out by
// hand from the fixture numbers and agree with float64 math to ~1e-13.
const tolerance = 1e-9

func loadRecord(tb testing.TB, name string) *container.StatsResponse {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var r container.StatsResponse
	if err := json.Unmarshal(b, &r); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return &r
}

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func near(a, b float64) bool { return math.Abs(a-b) <= tolerance }

func checkStats(t *testing.T, got, want stream.Stats) {
	t.Helper()
	if got.ID != want.ID || !got.Read.Equal(want.Read) {
		t.Errorf("id/read = %q %v, want %q %v", got.ID, got.Read, want.ID, want.Read)
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{
		{"cpu_percent", got.CPUPercent, want.CPUPercent},
		{"mem_percent", got.MemPercent, want.MemPercent},
		{"net_rx_rate", got.NetRxRate, want.NetRxRate},
		{"net_tx_rate", got.NetTxRate, want.NetTxRate},
	} {
		if !near(f.got, f.want) {
			t.Errorf("%s = %.15g, want %.15g", f.name, f.got, f.want)
		}
	}
	for _, f := range []struct {
		name      string
		got, want uint64
	}{
		{"mem_usage", got.MemUsage, want.MemUsage},
		{"mem_limit", got.MemLimit, want.MemLimit},
		{"net_rx", got.NetRx, want.NetRx},
		{"net_tx", got.NetTx, want.NetTx},
		{"block_read", got.BlockRead, want.BlockRead},
		{"block_write", got.BlockWrite, want.BlockWrite},
		{"pids", got.PIDs, want.PIDs},
	} {
		if f.got != f.want {
			t.Errorf("%s = %d, want %d", f.name, f.got, f.want)
		}
	}
}

// TestFixtures runs each recorded or constructed record through FromAPI,
// with the sample computed from the record before it (if any) as prev.
// testdata/README.md says where each fixture comes from.
func TestFixtures(t *testing.T) {
	const (
		v1Limit = 25276510208 // no memory limit: the host's memory
		v2Limit = 536870912   // 512 MiB
	)
	cases := []struct {
		file, prev string
		want       stream.Stats
	}{
		{
			// First record of a stream: precpu is empty, so CPU is 0.
			// mem: 61702144 - total_inactive_file 8388608 = 53313536;
			//      53313536 / 25276510208 * 100 = 0.21092126864540936.
			// blkio: Read 4194304, Write 8400896 (Sync and Total ignored).
			// --network none: no networks.
			file: "v1_burn_1.json",
			want: stream.Stats{
				Read:       mustTime(t, "2026-11-26T14:53:52.818406769Z"),
				MemUsage:   53313536,
				MemLimit:   v1Limit,
				MemPercent: 0.21092126864540936,
				BlockRead:  4194304,
				BlockWrite: 8400896,
				PIDs:       4,
			},
		},
		{
			// cpu: (3044943339 - 2036952171) / (814860000000 - 812850000000)
			//      = 1007991168 / 2010000000, * 2 online * 100 = 100.29762865671641
			//      (a Go busy loop plus its runtime, on 10 ms system ticks).
			file: "v1_burn_2.json", prev: "v1_burn_1.json",
			want: stream.Stats{
				Read:       mustTime(t, "2026-11-26T14:53:53.821116764Z"),
				CPUPercent: 100.29762865671641,
				MemUsage:   53313536,
				MemLimit:   v1Limit,
				MemPercent: 0.21092126864540936,
				BlockRead:  4194304,
				BlockWrite: 8400896,
				PIDs:       4,
			},
		},
		{
			// cpu: (4048589344 - 3044943339) / (816860000000 - 814860000000)
			//      = 1003646005 / 2000000000 * 2 * 100 = 100.3646005
			file: "v1_burn_3.json", prev: "v1_burn_2.json",
			want: stream.Stats{
				Read:       mustTime(t, "2026-11-26T14:53:54.824414706Z"),
				CPUPercent: 100.3646005,
				MemUsage:   53313536,
				MemLimit:   v1Limit,
				MemPercent: 0.21092126864540936,
				BlockRead:  4194304,
				BlockWrite: 8400896,
				PIDs:       4,
			},
		},
		{
			// mem: total_inactive_file is 0 (< usage), so used = usage 1183744;
			//      1183744 / 25276510208 * 100 = 0.004683178137563253.
			// net: eth0 only. No prev: rates 0.
			file: "v1_net_1.json",
			want: stream.Stats{
				Read:       mustTime(t, "2026-11-26T14:53:56.829880279Z"),
				MemUsage:   1183744,
				MemLimit:   v1Limit,
				MemPercent: 0.004683178137563253,
				NetRx:      263756,
				NetTx:      263646,
				PIDs:       4,
			},
		},
		{
			// cpu: (35427936 - 22595495) / (822800000000 - 820810000000)
			//      = 12832441 / 1990000000 * 2 * 100 = 1.2896925628140703
			// dt:  57.83282203 - 56.829880279 = 1.002941751 s
			// rx:  (6706028 - 263756) / dt = 6442272 / 1.002941751 = 6423376.027148759
			// tx:  (6705578 - 263646) / dt = 6441932 / 1.002941751 = 6423037.024410403
			file: "v1_net_2.json", prev: "v1_net_1.json",
			want: stream.Stats{
				Read:       mustTime(t, "2026-11-26T14:53:57.83282203Z"),
				CPUPercent: 1.2896925628140703,
				MemUsage:   1183744,
				MemLimit:   v1Limit,
				MemPercent: 0.004683178137563253,
				NetRx:      6706028,
				NetTx:      6705578,
				NetRxRate:  6423376.027148759,
				NetTxRate:  6423037.024410403,
				PIDs:       4,
			},
		},
		{
			// cpu: (47892501 - 35427936) / (824800000000 - 822800000000)
			//      = 12464565 / 2000000000 * 2 * 100 = 1.2464565
			// dt:  58.835747797 - 57.83282203 = 1.002925767 s
			// rx:  (13148430 - 6706028) / dt = 6442402 / 1.002925767 = 6423608.019635215
			// tx:  (13147510 - 6705578) / dt = 6441932 / 1.002925767 = 6423139.390734189
			file: "v1_net_3.json", prev: "v1_net_2.json",
			want: stream.Stats{
				Read:       mustTime(t, "2026-11-26T14:53:58.835747797Z"),
				CPUPercent: 1.2464565,
				MemUsage:   1183744,
				MemLimit:   v1Limit,
				MemPercent: 0.004683178137563253,
				NetRx:      13148430,
				NetTx:      13147510,
				NetRxRate:  6423608.019635215,
				NetTxRate:  6423139.390734189,
				PIDs:       4,
			},
		},
		{
			// First record: CPU 0.
			// mem: 157286400 - inactive_file 41943040 = 115343360 (110 MiB);
			//      110 MiB / 512 MiB * 100 = 21.484375.
			// blkio: read 7798784 + 1048576 = 8847360; write 53248 + 4096 = 57344.
			// net: eth0 + eth1: rx 1000000 + 20000, tx 500000 + 10000.
			file: "v2_web_1.json",
			want: stream.Stats{
				Read:       mustTime(t, "2025-03-04T10:15:30.104512345Z"),
				MemUsage:   115343360,
				MemLimit:   v2Limit,
				MemPercent: 21.484375,
				NetRx:      1020000,
				NetTx:      510000,
				BlockRead:  8847360,
				BlockWrite: 57344,
				PIDs:       12,
			},
		},
		{
			// cpu: no percpu_usage on v2; online_cpus 8.
			//      (9104321000 - 8754321000) / (1234575890000000 - 1234567890000000)
			//      = 350000000 / 8000000000 * 8 * 100 = 35
			// mem: 158334976 - 41943040 = 116391936 (111 MiB); 111/512*100 = 21.6796875
			// blkio: read 8847360; write 61440 + 4096 = 65536.
			// dt:  31.105335801 - 30.104512345 = 1.000823456 s
			// rx:  (1250000 + 20500 - 1020000) / dt = 250500 / 1.000823456 = 250293.89399122956
			// tx:  (600000 + 10250 - 510000) / dt = 100250 / 1.000823456 = 100167.51645756792
			file: "v2_web_2.json", prev: "v2_web_1.json",
			want: stream.Stats{
				Read:       mustTime(t, "2025-03-04T10:15:31.105335801Z"),
				CPUPercent: 35,
				MemUsage:   116391936,
				MemLimit:   v2Limit,
				MemPercent: 21.6796875,
				NetRx:      1270500,
				NetTx:      610250,
				NetRxRate:  250293.89399122956,
				NetTxRate:  100167.51645756792,
				BlockRead:  8847360,
				BlockWrite: 65536,
				PIDs:       13,
			},
		},
		{
			// cpu: (10304321000 - 9104321000) / (1234583900000000 - 1234575890000000)
			//      = 1200000000 / 8010000000 * 8 * 100 = 119.85018726591761
			// mem: 160432128 - 42467328 = 117964800 (112.5 MiB); 112.5/512*100 = 21.97265625
			// blkio: read 8323072 + 1048576 = 9371648; write 126976 + 8192 = 135168.
			// dt:  32.104101233 - 31.105335801 = 0.998765432 s
			// rx:  (1600000 + 20500 - 1270500) / dt = 350000 / 0.998765432 = 350432.6329147523
			// tx:  (720000 + 10250 - 610250) / dt = 120000 / 0.998765432 = 120148.33128505792
			file: "v2_web_3.json", prev: "v2_web_2.json",
			want: stream.Stats{
				Read:       mustTime(t, "2025-03-04T10:15:32.104101233Z"),
				CPUPercent: 119.85018726591761,
				MemUsage:   117964800,
				MemLimit:   v2Limit,
				MemPercent: 21.97265625,
				NetRx:      1620500,
				NetTx:      730250,
				NetRxRate:  350432.6329147523,
				NetTxRate:  120148.33128505792,
				BlockRead:  9371648,
				BlockWrite: 135168,
				PIDs:       13,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			var prev *stream.Stats
			if tc.prev != "" {
				p := FromAPI("c1", loadRecord(t, tc.prev), nil)
				prev = &p
			}
			tc.want.ID = "c1"
			got := FromAPI("c1", loadRecord(t, tc.file), prev)
			// The raw totals have their own test below.
			got.CPUTotal, got.MemTotal = 0, 0
			checkStats(t, got, tc.want)
		})
	}
}

// TestFromAPIRawTotals: /metrics' counters come from the record's
// cumulative CPU time and its raw memory usage (page cache included), not
// from the docker stats numbers, which are rates and usage minus cache.
func TestFromAPIRawTotals(t *testing.T) {
	cases := []struct {
		file          string
		cpuNs, memRaw uint64
	}{
		{"v1_burn_2.json", 3044943339, 61702144}, // used 53313536 = usage - total_inactive_file
		{"v2_web_2.json", 9104321000, 158334976}, // used 116391936 = usage - inactive_file
	}
	for _, tc := range cases {
		got := FromAPI("c1", loadRecord(t, tc.file), nil)
		if got.CPUTotal != tc.cpuNs || got.MemTotal != tc.memRaw {
			t.Errorf("%s: CPUTotal, MemTotal = %d, %d; want %d, %d", tc.file, got.CPUTotal, got.MemTotal, tc.cpuNs, tc.memRaw)
		}
		if got.MemUsage >= got.MemTotal {
			t.Errorf("%s: MemUsage %d should be below the raw usage %d (cache subtracted)", tc.file, got.MemUsage, got.MemTotal)
		}
	}
}

func cpuStats(total, system uint64, online uint32, percpu ...uint64) container.CPUStats {
	return container.CPUStats{
		CPUUsage:    container.CPUUsage{TotalUsage: total, PercpuUsage: percpu},
		SystemUsage: system,
		OnlineCPUs:  online,
	}
}

func TestCPUPercent(t *testing.T) {
	cases := []struct {
		name     string
		pre, cur container.CPUStats
		want     float64
	}{
		{
			name: "empty precpu of a first record",
			cur:  cpuStats(2e9, 800e9, 2),
			want: 0,
		},
		{
			name: "online",
			pre:  cpuStats(1e9, 100e9, 4), cur: cpuStats(1.5e9, 104e9, 4),
			want: 0.5 / 4 * 4 * 100, // 50
		},
		{
			name: "online_cpus 0 falls back to len(percpu_usage)",
			pre:  cpuStats(1e9, 100e9, 0, 1, 1, 1), cur: cpuStats(1.5e9, 104e9, 0, 1, 1, 1),
			want: 0.5 / 4 * 3 * 100, // 37.5
		},
		{
			name: "online_cpus wins over percpu_usage",
			pre:  cpuStats(1e9, 100e9, 2, 1, 1, 1, 1), cur: cpuStats(1.5e9, 104e9, 2, 1, 1, 1, 1),
			want: 0.5 / 4 * 2 * 100, // 25
		},
		{
			name: "no cpu count at all",
			pre:  cpuStats(1e9, 100e9, 0), cur: cpuStats(1.5e9, 104e9, 0),
			want: 0,
		},
		{
			name: "idle container",
			pre:  cpuStats(1e9, 100e9, 2), cur: cpuStats(1e9, 102e9, 2),
			want: 0,
		},
		{
			name: "system usage did not advance",
			pre:  cpuStats(1e9, 100e9, 2), cur: cpuStats(2e9, 100e9, 2),
			want: 0,
		},
		{
			name: "usage went backwards (restart between polls)",
			pre:  cpuStats(5e9, 100e9, 2), cur: cpuStats(1e9, 102e9, 2),
			want: 0,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CPUPercent(tc.pre, tc.cur); !near(got, tc.want) {
				t.Errorf("CPUPercent = %.15g, want %.15g", got, tc.want)
			}
		})
	}
}

func TestMemUsage(t *testing.T) {
	cases := []struct {
		name  string
		usage uint64
		stats map[string]uint64
		want  uint64
	}{
		{"v1", 1000, map[string]uint64{"total_inactive_file": 300, "inactive_file": 100}, 700},
		// docker then tries the v2 key, which v1 also has (the cgroup's own
		// pages without its children's).
		{"v1 total_inactive_file not below usage", 1000, map[string]uint64{"total_inactive_file": 1000, "inactive_file": 100}, 900},
		{"v1 neither below usage", 1000, map[string]uint64{"total_inactive_file": 1200, "inactive_file": 1100}, 1000},
		{"v2", 1000, map[string]uint64{"inactive_file": 250, "active_file": 400}, 750},
		{"v2 inactive_file equal to usage", 1000, map[string]uint64{"inactive_file": 1000}, 1000},
		{"missing inactive_file", 1000, map[string]uint64{"anon": 600}, 1000},
		{"no stats", 1000, nil, 1000},
		{"nothing", 0, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := MemUsage(container.MemoryStats{Usage: tc.usage, Stats: tc.stats})
			if got != tc.want {
				t.Errorf("MemUsage = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestMemPercent(t *testing.T) {
	if got := MemPercent(100, 0); got != 0 {
		t.Errorf("limit 0: MemPercent = %g, want 0", got)
	}
	if got := MemPercent(1<<20, 4<<20); !near(got, 25) {
		t.Errorf("MemPercent = %g, want 25", got)
	}
}

func TestFromAPIMemLimitZero(t *testing.T) {
	// A stopped container's record: no limit, no usage.
	r := loadRecord(t, "v2_web_2.json")
	r.MemoryStats = container.MemoryStats{}
	s := FromAPI("c1", r, nil)
	if s.MemUsage != 0 || s.MemLimit != 0 || s.MemPercent != 0 {
		t.Errorf("mem = %d/%d %g%%, want all 0", s.MemUsage, s.MemLimit, s.MemPercent)
	}
}

func TestBlockIO(t *testing.T) {
	b := container.BlkioStats{IoServiceBytesRecursive: []container.BlkioStatEntry{
		{Major: 8, Op: "Read", Value: 1},
		{Major: 8, Op: "Write", Value: 10},
		{Major: 8, Op: "Sync", Value: 100},
		{Major: 8, Op: "Async", Value: 1000},
		{Major: 8, Op: "Discard", Value: 10000},
		{Major: 8, Op: "Total", Value: 100000},
		{Major: 9, Op: "read", Value: 2},
		{Major: 9, Op: "write", Value: 20},
		{Major: 9, Op: "READ", Value: 4},
		{Major: 9, Op: "", Value: 1000000},
	}}
	rd, wr := BlockIO(b)
	if rd != 7 || wr != 30 {
		t.Errorf("BlockIO = %d, %d, want 7, 30", rd, wr)
	}
	if rd, wr := BlockIO(container.BlkioStats{}); rd != 0 || wr != 0 {
		t.Errorf("empty BlockIO = %d, %d, want 0, 0", rd, wr)
	}
}

func TestNetwork(t *testing.T) {
	rx, tx := Network(map[string]container.NetworkStats{
		"eth0": {RxBytes: 1, TxBytes: 10},
		"eth1": {RxBytes: 100, TxBytes: 1000},
		"eth2": {RxBytes: 10000},
	})
	if rx != 10101 || tx != 1010 {
		t.Errorf("Network = %d, %d, want 10101, 1010", rx, tx)
	}
	if rx, tx := Network(nil); rx != 0 || tx != 0 {
		t.Errorf("Network(nil) = %d, %d, want 0, 0", rx, tx)
	}
}

func TestFromAPIRates(t *testing.T) {
	base := mustTime(t, "2025-03-04T10:15:30Z")
	rec := func(at time.Time, rx, tx uint64) *container.StatsResponse {
		return &container.StatsResponse{
			Read:     at,
			Networks: map[string]container.NetworkStats{"eth0": {RxBytes: rx, TxBytes: tx}},
		}
	}
	cases := []struct {
		name         string
		prev         *stream.Stats
		cur          *container.StatsResponse
		wantRx, want float64
	}{
		{"no prev", nil, rec(base.Add(time.Second), 5000, 5000), 0, 0},
		{
			"half a second",
			&stream.Stats{Read: base, NetRx: 1000, NetTx: 2000},
			rec(base.Add(500*time.Millisecond), 1500, 2250),
			1000, 500, // 500 B / 0.5 s, 250 B / 0.5 s
		},
		{
			"rx counter reset by a restart, tx still counts",
			&stream.Stats{Read: base, NetRx: 9000, NetTx: 100},
			rec(base.Add(2*time.Second), 300, 700),
			0, 300, // tx: 600 B / 2 s
		},
		{
			"time did not advance",
			&stream.Stats{Read: base, NetRx: 1000, NetTx: 1000},
			rec(base, 2000, 2000),
			0, 0,
		},
		{
			"time went backwards",
			&stream.Stats{Read: base, NetRx: 1000, NetTx: 1000},
			rec(base.Add(-time.Second), 2000, 2000),
			0, 0,
		},
		{
			"network removed (container left its last network)",
			&stream.Stats{Read: base, NetRx: 1000, NetTx: 1000},
			&container.StatsResponse{Read: base.Add(time.Second)},
			0, 0,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := FromAPI("c1", tc.cur, tc.prev)
			if !near(s.NetRxRate, tc.wantRx) || !near(s.NetTxRate, tc.want) {
				t.Errorf("rates = %g, %g, want %g, %g", s.NetRxRate, s.NetTxRate, tc.wantRx, tc.want)
			}
		})
	}
}

func TestFromAPIIDAndRead(t *testing.T) {
	r := loadRecord(t, "v1_burn_2.json")
	s := FromAPI("given", r, nil)
	if s.ID != "given" {
		t.Errorf("ID = %q, want the caller's id, not the record's %q", s.ID, r.ID)
	}
	if !s.Read.Equal(r.Read) {
		t.Errorf("Read = %v, want %v", s.Read, r.Read)
	}
}

func TestFromAPIDoesNotAllocate(t *testing.T) {
	for _, name := range []string{"v1_net_3.json", "v2_web_3.json"} {
		cur := loadRecord(t, name)
		prev := FromAPI("c1", cur, nil)
		prev.Read = prev.Read.Add(-time.Second)
		if n := testing.AllocsPerRun(100, func() { _ = FromAPI("c1", cur, &prev) }); n != 0 {
			t.Errorf("%s: FromAPI allocates %g times per call, want 0", name, n)
		}
	}
}

func BenchmarkFromAPI(b *testing.B) {
	for _, bc := range []struct{ name, prev, cur string }{
		{"v1", "v1_net_2.json", "v1_net_3.json"},
		{"v2", "v2_web_2.json", "v2_web_3.json"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			prev := FromAPI("c1", loadRecord(b, bc.prev), nil)
			cur := loadRecord(b, bc.cur)
			b.ReportAllocs()
			var s stream.Stats
			for b.Loop() {
				s = FromAPI("c1", cur, &prev)
			}
			if s.CPUPercent == 0 {
				b.Fatal("benchmark computed no CPU %")
			}
		})
	}
}
