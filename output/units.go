// Package output renders what `docker live watch` and `docker live events`
// show: the live container table, NDJSON rows, Go templates, and Engine
// events in the shapes docker stats and docker events print.
package output

import (
	"math"
	"strconv"
	"time"
)

// noValue stands in for a number docker stats cannot show.
const noValue = "--"

// The unit names go-units uses; kept here so sizes can be appended to a
// buffer without fmt, while producing the same strings.
var (
	decimalUnits = [...]string{"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}
	binaryUnits  = [...]string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
)

// finite keeps NaN and infinities (a division by a zero limit upstream) from
// reaching the screen as "NaN%".
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// appendScaled appends size scaled to its unit with prec significant digits.
// It matches go-units' CustomSize with "%.<prec>g%s", which docker stats
// uses, without fmt's allocations (a table redraw formats thousands).
func appendScaled(dst []byte, size, base float64, names []string, prec int) []byte {
	size = finite(size)
	i := 0
	for size >= base && i < len(names)-1 {
		size /= base
		i++
	}
	dst = strconv.AppendFloat(dst, size, 'g', prec, 64)
	return append(dst, names[i]...)
}

// appendBinarySize is go-units' BytesSize: docker stats' memory figures.
func appendBinarySize(dst []byte, size float64) []byte {
	return appendScaled(dst, size, 1024, binaryUnits[:], 4)
}

// appendDecimalSize is go-units' HumanSizeWithPrecision(size, 3): docker
// stats' network and block I/O figures.
func appendDecimalSize(dst []byte, size float64) []byte {
	return appendScaled(dst, size, 1000, decimalUnits[:], 3)
}

func appendPercent(dst []byte, v float64) []byte {
	dst = strconv.AppendFloat(dst, finite(v), 'f', 2, 64)
	return append(dst, '%')
}

func appendRate(dst []byte, bytesPerSec float64) []byte {
	if bytesPerSec < 0 {
		bytesPerSec = 0
	}
	dst = appendDecimalSize(dst, bytesPerSec)
	return append(dst, "/s"...)
}

func appendPair(dst []byte, a, b uint64, size func([]byte, float64) []byte) []byte {
	dst = size(dst, float64(a))
	dst = append(dst, " / "...)
	return size(dst, float64(b))
}

// appendUptime keeps the two most significant units so the column stays
// narrow: 45s, 3m12s, 2h5m, 4d2h. A zero lower unit is left out (3m, 2h).
func appendUptime(dst []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	unit := func(dst []byte, n int64, u byte) []byte {
		return append(strconv.AppendInt(dst, n, 10), u)
	}
	var big, small int64
	var bu, su byte
	switch {
	case s < 60:
		return unit(dst, s, 's')
	case s < 3600:
		big, bu, small, su = s/60, 'm', s%60, 's'
	case s < 86400:
		big, bu, small, su = s/3600, 'h', s%3600/60, 'm'
	default:
		big, bu, small, su = s/86400, 'd', s%86400/3600, 'h'
	}
	dst = unit(dst, big, bu)
	if small > 0 {
		dst = unit(dst, small, su)
	}
	return dst
}

// BinarySize formats bytes in binary units as docker stats prints memory:
// "1.5MiB", "7.629GiB".
func BinarySize(bytes uint64) string { return string(appendBinarySize(nil, float64(bytes))) }

// DecimalSize formats bytes in decimal units as docker stats prints network
// and block I/O: "1.23MB", "3kB".
func DecimalSize(bytes uint64) string { return string(appendDecimalSize(nil, float64(bytes))) }

// Rate formats bytes per second in decimal units: "1.2MB/s".
func Rate(bytesPerSec float64) string { return string(appendRate(nil, bytesPerSec)) }

// Percent formats a percentage as docker stats does: "12.34%".
func Percent(v float64) string { return string(appendPercent(nil, v)) }

// Uptime formats a duration compactly: "45s", "3m12s", "2h5m", "4d2h".
func Uptime(d time.Duration) string { return string(appendUptime(nil, d)) }
