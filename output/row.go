package output

import (
	"strconv"
	"strings"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// Row is one container flattened for display: its state plus its newest
// resource sample. Numbers stay raw so NDJSON can carry them unformatted;
// the Text methods give the strings the table shows.
type Row struct {
	// Context is the Docker context the container belongs to: a row is
	// identified by (Context, ID) when one view shows several contexts.
	Context   string
	ID        string
	Name      string
	Image     string
	State     string
	Status    string
	Health    string
	ExitCode  int
	StartedAt time.Time

	// HasStats is false when the container is not running or no sample has
	// arrived yet; the stats fields are then zero and shown as "--".
	HasStats   bool
	Sampled    time.Time // when the sample was read (zero without one)
	CPUPercent float64
	MemUsage   uint64
	MemLimit   uint64
	MemPercent float64
	NetRx      uint64
	NetTx      uint64
	NetRxRate  float64
	NetTxRate  float64
	BlockRead  uint64
	BlockWrite uint64
	PIDs       uint64
}

// live reports whether the container has processes whose numbers mean
// something now. A paused container still holds its memory, so docker stats
// keeps showing it; a restarting one is between processes.
func live(state string) bool {
	return state == "running" || state == "paused"
}

// NewRow flattens a container and its newest sample (nil when none).
func NewRow(c stream.Container, s *stream.Stats) Row {
	r := Row{
		ID:        c.ID,
		Name:      strings.TrimPrefix(c.Name, "/"),
		Image:     c.Image,
		State:     c.State,
		Status:    c.Status,
		Health:    c.Health,
		ExitCode:  c.ExitCode,
		StartedAt: c.StartedAt,
	}
	if s == nil || !live(c.State) {
		return r
	}
	r.HasStats = true
	r.Sampled = s.Read
	r.CPUPercent = finite(s.CPUPercent)
	r.MemUsage = s.MemUsage
	r.MemLimit = s.MemLimit
	r.MemPercent = finite(s.MemPercent)
	r.NetRx = s.NetRx
	r.NetTx = s.NetTx
	r.NetRxRate = finite(s.NetRxRate)
	r.NetTxRate = finite(s.NetTxRate)
	r.BlockRead = s.BlockRead
	r.BlockWrite = s.BlockWrite
	r.PIDs = s.PIDs
	return r
}

// StateText is the STATE column: the state, with the health of a running
// container or the exit code of an exited one: "running (healthy)",
// "exited (137)".
func (r Row) StateText() string { return string(r.appendState(nil)) }

func (r *Row) appendState(dst []byte) []byte {
	switch {
	case r.State == "":
		return append(dst, noValue...)
	case r.State == "running" && r.Health != "":
		dst = append(dst, r.State...)
		dst = append(dst, " ("...)
		dst = AppendEscaped(dst, r.Health)
		return append(dst, ')')
	case r.State == "exited":
		dst = append(dst, r.State...)
		dst = append(dst, " ("...)
		dst = strconv.AppendInt(dst, int64(r.ExitCode), 10)
		return append(dst, ')')
	}
	return AppendEscaped(dst, r.State)
}

// CPUText is "12.34%", or "--" without a sample.
func (r Row) CPUText() string { return string(r.appendCPU(nil)) }

func (r *Row) appendCPU(dst []byte) []byte {
	if !r.HasStats {
		return append(dst, noValue...)
	}
	return appendPercent(dst, r.CPUPercent)
}

// MemUsageText is "1.5MiB / 7.629GiB", or "-- / --" without a sample, as
// docker stats prints it.
func (r Row) MemUsageText() string { return string(r.appendMemUsage(nil, "-- / --")) }

func (r *Row) appendMemUsage(dst []byte, none string) []byte {
	if !r.HasStats {
		return append(dst, none...)
	}
	return appendPair(dst, r.MemUsage, r.MemLimit, appendBinarySize)
}

// MemPercentText is "3.21%", or "--" without a sample.
func (r Row) MemPercentText() string { return string(r.appendMemPercent(nil)) }

func (r *Row) appendMemPercent(dst []byte) []byte {
	if !r.HasStats {
		return append(dst, noValue...)
	}
	return appendPercent(dst, r.MemPercent)
}

// NetIOText is the received / sent totals: "1.23MB / 3kB", or "--".
func (r Row) NetIOText() string { return string(r.appendNetIO(nil)) }

func (r *Row) appendNetIO(dst []byte) []byte {
	if !r.HasStats {
		return append(dst, noValue...)
	}
	return appendPair(dst, r.NetRx, r.NetTx, appendDecimalSize)
}

// BlockIOText is the read / written totals: "1.23MB / 3kB", or "--".
func (r Row) BlockIOText() string { return string(r.appendBlockIO(nil)) }

func (r *Row) appendBlockIO(dst []byte) []byte {
	if !r.HasStats {
		return append(dst, noValue...)
	}
	return appendPair(dst, r.BlockRead, r.BlockWrite, appendDecimalSize)
}

// NetRxRateText is "1.2MB/s", or "--".
func (r Row) NetRxRateText() string { return string(r.appendRate(nil, r.NetRxRate)) }

// NetTxRateText is "1.2MB/s", or "--".
func (r Row) NetTxRateText() string { return string(r.appendRate(nil, r.NetTxRate)) }

func (r *Row) appendRate(dst []byte, v float64) []byte {
	if !r.HasStats {
		return append(dst, noValue...)
	}
	return appendRate(dst, v)
}

// PIDsText is the process count, or "--".
func (r Row) PIDsText() string { return string(r.appendPIDs(nil)) }

func (r *Row) appendPIDs(dst []byte) []byte {
	if !r.HasStats {
		return append(dst, noValue...)
	}
	return strconv.AppendUint(dst, r.PIDs, 10)
}

// UptimeText is how long a running or paused container has been up at now,
// or "--".
func (r Row) UptimeText(now time.Time) string { return string(r.appendUptime(nil, now)) }

func (r *Row) appendUptime(dst []byte, now time.Time) []byte {
	if !live(r.State) || r.StartedAt.IsZero() {
		return append(dst, noValue...)
	}
	return appendUptime(dst, now.Sub(r.StartedAt))
}

// truncateID shortens an ID the way docker does for display: without any
// algorithm prefix, to 12 characters.
func truncateID(id string) string {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		id = id[i+1:]
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}
