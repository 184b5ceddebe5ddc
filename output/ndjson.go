package output

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// JSONRow is one NDJSON line of `docker live watch --format json`: raw
// numbers for scripts. Unknown is not zero: a container without a sample
// (not running, or no reading with a delta yet) has null in every stats
// field, never 0.
type JSONRow struct {
	Time       string   `json:"time"` // time.RFC3339Nano
	Context    string   `json:"context"`
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Image      string   `json:"image"`
	State      string   `json:"state"`
	Status     string   `json:"status"`
	Health     string   `json:"health"`
	ExitCode   int      `json:"exit_code"`
	CPUPercent *float64 `json:"cpu_percent"`
	MemUsage   *uint64  `json:"mem_usage"`
	MemLimit   *uint64  `json:"mem_limit"`
	MemPercent *float64 `json:"mem_percent"`
	NetRx      *uint64  `json:"net_rx"`
	NetTx      *uint64  `json:"net_tx"`
	NetRxRate  *float64 `json:"net_rx_rate"`
	NetTxRate  *float64 `json:"net_tx_rate"`
	BlockRead  *uint64  `json:"block_read"`
	BlockWrite *uint64  `json:"block_write"`
	PIDs       *uint64  `json:"pids"`
}

// NewJSONRow is the JSONRow for r at t.
func NewJSONRow(r Row, context string, t time.Time) JSONRow {
	j := JSONRow{
		Time:     t.Format(time.RFC3339Nano),
		Context:  context,
		ID:       r.ID,
		Name:     r.Name,
		Image:    r.Image,
		State:    r.State,
		Status:   r.Status,
		Health:   r.Health,
		ExitCode: r.ExitCode,
	}
	if !r.HasStats {
		return j
	}
	f := func(v float64) *float64 { v = finite(v); return &v }
	u := func(v uint64) *uint64 { return &v }
	j.CPUPercent, j.MemUsage, j.MemLimit, j.MemPercent = f(r.CPUPercent), u(r.MemUsage), u(r.MemLimit), f(r.MemPercent)
	j.NetRx, j.NetTx, j.NetRxRate, j.NetTxRate = u(r.NetRx), u(r.NetTx), f(r.NetRxRate), f(r.NetTxRate)
	j.BlockRead, j.BlockWrite, j.PIDs = u(r.BlockRead), u(r.BlockWrite), u(r.PIDs)
	return j
}

// AppendJSONRow appends r as one JSON line ending in a newline, with time
// t (the caller passes the sample's time for a line written because of a
// new sample). The bytes equal encoding/json's encoding of
// NewJSONRow(r, context, t) with HTML
// escaping off (as docker's json template function does), but are written
// straight into dst: a busy host emits hundreds of rows a second.
func AppendJSONRow(dst []byte, r Row, context string, t time.Time) []byte {
	dst = append(dst, `{"time":"`...)
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","context":`...)
	dst = appendJSONString(dst, context)
	dst = append(dst, `,"id":`...)
	dst = appendJSONString(dst, r.ID)
	dst = append(dst, `,"name":`...)
	dst = appendJSONString(dst, r.Name)
	dst = append(dst, `,"image":`...)
	dst = appendJSONString(dst, r.Image)
	dst = append(dst, `,"state":`...)
	dst = appendJSONString(dst, r.State)
	dst = append(dst, `,"status":`...)
	dst = appendJSONString(dst, r.Status)
	dst = append(dst, `,"health":`...)
	dst = appendJSONString(dst, r.Health)
	dst = append(dst, `,"exit_code":`...)
	dst = strconv.AppendInt(dst, int64(r.ExitCode), 10)
	if !r.HasStats {
		return append(dst, `,"cpu_percent":null,"mem_usage":null,"mem_limit":null,"mem_percent":null,`+
			`"net_rx":null,"net_tx":null,"net_rx_rate":null,"net_tx_rate":null,`+
			`"block_read":null,"block_write":null,"pids":null}`+"\n"...)
	}
	dst = append(dst, `,"cpu_percent":`...)
	dst = appendJSONFloat(dst, r.CPUPercent)
	dst = append(dst, `,"mem_usage":`...)
	dst = strconv.AppendUint(dst, r.MemUsage, 10)
	dst = append(dst, `,"mem_limit":`...)
	dst = strconv.AppendUint(dst, r.MemLimit, 10)
	dst = append(dst, `,"mem_percent":`...)
	dst = appendJSONFloat(dst, r.MemPercent)
	dst = append(dst, `,"net_rx":`...)
	dst = strconv.AppendUint(dst, r.NetRx, 10)
	dst = append(dst, `,"net_tx":`...)
	dst = strconv.AppendUint(dst, r.NetTx, 10)
	dst = append(dst, `,"net_rx_rate":`...)
	dst = appendJSONFloat(dst, r.NetRxRate)
	dst = append(dst, `,"net_tx_rate":`...)
	dst = appendJSONFloat(dst, r.NetTxRate)
	dst = append(dst, `,"block_read":`...)
	dst = strconv.AppendUint(dst, r.BlockRead, 10)
	dst = append(dst, `,"block_write":`...)
	dst = strconv.AppendUint(dst, r.BlockWrite, 10)
	dst = append(dst, `,"pids":`...)
	dst = strconv.AppendUint(dst, r.PIDs, 10)
	return append(dst, "}\n"...)
}

// appendJSONFloat formats like encoding/json: the shortest representation,
// in exponent form only for very small or very large magnitudes. NaN and
// infinities, which JSON cannot carry, become 0.
func appendJSONFloat(dst []byte, f float64) []byte {
	f = finite(f)
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-07 → e-7, as JavaScript and encoding/json write it.
		if n := len(dst) - start; n >= 4 && dst[len(dst)-4] == 'e' && dst[len(dst)-3] == '-' && dst[len(dst)-2] == '0' {
			dst[len(dst)-2] = dst[len(dst)-1]
			dst = dst[:len(dst)-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping off:
// invalid UTF-8 becomes U+FFFD, and U+2028/U+2029 are escaped because
// JavaScript treats them as line ends.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
