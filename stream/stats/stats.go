// Package stats turns Engine stats records into stream.Stats samples with
// the same numbers `docker stats` shows (docker/cli's stats_helpers.go), so a
// user comparing the two side by side sees no difference. Linux records only:
// Windows containers report different fields.
package stats

import (
	"github.com/moby/moby/api/types/container"

	"github.com/docker-live/docker-live/stream"
)

// FromAPI computes one sample from an Engine stats record. CPU % uses
// cur.CPUStats against cur.PreCPUStats (the Engine fills PreCPUStats on a
// stream; callers that poll set it from their previous record). prev is the
// previous computed sample of the same container, or nil: it gives the
// network rates (bytes/s over Read's difference); rates are 0 without prev,
// when time did not advance, or when a counter went backwards (restart).
func FromAPI(id string, cur *container.StatsResponse, prev *stream.Stats) stream.Stats {
	used := MemUsage(cur.MemoryStats)
	rx, tx := Network(cur.Networks)
	rd, wr := BlockIO(cur.BlkioStats)
	s := stream.Stats{
		ID:         id,
		Read:       cur.Read,
		CPUPercent: CPUPercent(cur.PreCPUStats, cur.CPUStats),
		MemUsage:   used,
		MemLimit:   cur.MemoryStats.Limit,
		MemPercent: MemPercent(used, cur.MemoryStats.Limit),
		NetRx:      rx,
		NetTx:      tx,
		BlockRead:  rd,
		BlockWrite: wr,
		PIDs:       cur.PidsStats.Current,
		CPUTotal:   cur.CPUStats.CPUUsage.TotalUsage,
		MemTotal:   cur.MemoryStats.Usage,
	}
	if prev != nil {
		if dt := s.Read.Sub(prev.Read).Seconds(); dt > 0 {
			s.NetRxRate = Rate(prev.NetRx, rx, dt)
			s.NetTxRate = Rate(prev.NetTx, tx, dt)
		}
	}
	return s
}

// CPUPercent is the container's share of the host's CPU time between two
// readings, scaled so one fully busy CPU is 100 %. It is 0 unless both the
// container's and the system's usage grew.
//
// It is also 0 when pre carries no system usage, that is when there is no
// previous reading (a stream's first record). There docker stats divides
// the usage since the container started by the host's since boot for one
// refresh; that number means nothing, so we show 0 instead.
func CPUPercent(pre, cur container.CPUStats) float64 {
	if pre.SystemUsage == 0 {
		return 0
	}
	// Converted before subtracting, as docker does, so a counter that went
	// backwards gives a negative delta rather than a wrapped huge one.
	cpuDelta := float64(cur.CPUUsage.TotalUsage) - float64(pre.CPUUsage.TotalUsage)
	sysDelta := float64(cur.SystemUsage) - float64(pre.SystemUsage)
	cpus := float64(cur.OnlineCPUs)
	if cpus == 0 {
		// Engines before API 1.27 do not send online_cpus.
		cpus = float64(len(cur.CPUUsage.PercpuUsage))
	}
	if cpuDelta > 0 && sysDelta > 0 {
		return cpuDelta / sysDelta * cpus * 100
	}
	return 0
}

// MemUsage is the memory the container uses, not counting inactive page
// cache the kernel can drop at once: usage minus total_inactive_file
// (cgroup v1) or inactive_file (cgroup v2), each only when smaller than
// usage.
func MemUsage(m container.MemoryStats) uint64 {
	// A v1 record carries both keys; inactive_file there is the cgroup's own
	// share without its children. docker tries it second all the same, and
	// so do we, to show the same number.
	if v, ok := m.Stats["total_inactive_file"]; ok && v < m.Usage {
		return m.Usage - v
	}
	if v := m.Stats["inactive_file"]; v < m.Usage {
		return m.Usage - v
	}
	return m.Usage
}

// MemPercent is used as a percentage of limit; 0 when limit is 0 (the
// Engine sends no limit for a container that is not running).
func MemPercent(used, limit uint64) float64 {
	if limit == 0 {
		return 0
	}
	return float64(used) / float64(limit) * 100
}

// BlockIO sums the bytes read and written over every device in
// io_service_bytes_recursive. Like docker it looks at the first letter of
// the op only, in either case: v1 kernels say Read and Write (next to Sync,
// Async, Discard and Total, which must not count), v2 Engines read and
// write.
func BlockIO(b container.BlkioStats) (read, write uint64) {
	for _, e := range b.IoServiceBytesRecursive {
		if e.Op == "" {
			continue
		}
		switch e.Op[0] {
		case 'r', 'R':
			read += e.Value
		case 'w', 'W':
			write += e.Value
		}
	}
	return read, write
}

// Network sums the bytes received and sent over every interface.
func Network(nets map[string]container.NetworkStats) (rx, tx uint64) {
	for _, n := range nets {
		rx += n.RxBytes
		tx += n.TxBytes
	}
	return rx, tx
}

// Rate is bytes per second from counter before to counter after over
// seconds. It is 0 when seconds is not positive or the counter went
// backwards, which happens when the container restarted and its network
// namespace was made anew.
func Rate(before, after uint64, seconds float64) float64 {
	if seconds <= 0 || after < before {
		return 0
	}
	return float64(after-before) / seconds
}
