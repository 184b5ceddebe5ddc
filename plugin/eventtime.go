package plugin

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Layouts docker accepts for --since and --until besides RFC 3339 itself:
// without a zone they are read in the local zone.
const (
	layoutLocalNano  = "2006-01-02T15:04:05.999999999"
	layoutLocal      = "2006-01-02T15:04:05"
	layoutLocalMin   = "2006-01-02T15:04"
	layoutLocalHour  = "2006-01-02T15"
	layoutZoneMin    = "2006-01-02T15:04Z07:00"
	layoutZoneHour   = "2006-01-02T15Z07:00"
	layoutDateLocal  = "2006-01-02"
	layoutDateZone   = "2006-01-02Z07:00"
	errEventTimeHelp = "use Unix seconds (1700000000 or 1700000000.5), an RFC 3339 date or time (2006-01-02, 2006-01-02T15, 2006-01-02T15:04:05Z07:00, ...) or a duration before now (10m)"
)

// parseEventTime reads a --since or --until value by docker events' rules
// (the Docker client's timestamp rules), with now as the reference:
//
//   - a Go duration other than "0" is that long before now ("10m", "1h30m";
//     "-5m" is in the future). Docker counts it in whole seconds; this keeps
//     now's fraction, so "--until 0s" includes events of the current second;
//   - RFC 3339 and its shorter forms: a date, a date with an hour, with
//     minutes, with seconds, with a fraction; with a zone (Z, +01:00,
//     -07:00) or without one, then in now's zone;
//   - otherwise Unix seconds with an optional fraction ("0" is the Unix
//     epoch, the start of the Engine's buffer, not now).
func parseEventTime(value string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(value); value != "0" && err == nil {
		return now.Add(-d), nil
	}
	// Docker's test for "has a zone": a Z, a plus, or the third dash of a
	// negative offset after the date's two.
	local := !strings.ContainsAny(value, "zZ+") && strings.Count(value, "-") != 3
	var layout string
	switch {
	case strings.Contains(value, "."):
		layout = time.RFC3339Nano
		if local {
			layout = layoutLocalNano
		}
	case strings.Contains(value, "T"):
		colons := strings.Count(value, ":")
		if !local && !strings.ContainsAny(value, "zZ") && colons > 0 {
			colons-- // the offset's own colon
		}
		switch {
		case colons == 0 && local:
			layout = layoutLocalHour
		case colons == 0:
			layout = layoutZoneHour
		case colons == 1 && local:
			layout = layoutLocalMin
		case colons == 1:
			layout = layoutZoneMin
		case local:
			layout = layoutLocal
		default:
			layout = time.RFC3339
		}
	case local:
		layout = layoutDateLocal
	default:
		layout = layoutDateZone
	}
	var t time.Time
	var err error
	if local {
		t, err = time.ParseInLocation(layout, value, time.FixedZone(now.Zone()))
	} else {
		t, err = time.Parse(layout, value)
	}
	if err == nil {
		return t, nil
	}
	if strings.Contains(value, "-") {
		// Meant as a date or time; say what is wrong with it.
		return time.Time{}, fmt.Errorf("%v; %s", err, errEventTimeHelp)
	}
	sec, nsec, uerr := parseUnixSeconds(value)
	if uerr != nil {
		return time.Time{}, errors.New(errEventTimeHelp)
	}
	return time.Unix(sec, nsec), nil
}

// parseUnixSeconds reads "seconds[.fraction]"; a fraction longer than
// nanoseconds is cut, as docker cuts it.
func parseUnixSeconds(value string) (sec, nsec int64, err error) {
	s, frac, hasFrac := strings.Cut(value, ".")
	if sec, err = strconv.ParseInt(s, 10, 64); err != nil {
		return 0, 0, err
	}
	if !hasFrac {
		return sec, 0, nil
	}
	if nsec, err = strconv.ParseInt(frac, 10, 64); err != nil || nsec < 0 {
		return 0, 0, errors.New("bad fraction")
	}
	nsec = int64(float64(nsec) * math.Pow(10, float64(9-len(frac))))
	return sec, nsec, nil
}
