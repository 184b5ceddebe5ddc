package plugin

import (
	"strings"
	"testing"
	"time"
)

func TestParseEventTime(t *testing.T) {
	// The reference clock: 2026-12-02 15:04:05.5 in a zone one hour east
	// of UTC, so that "local" and "UTC" readings differ.
	zone := time.FixedZone("CET", 3600)
	now := time.Date(2026, 12, 2, 15, 4, 5, 500_000_000, zone)
	local := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, zone)
	}
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	cases := []struct {
		in   string
		want time.Time
	}{
		// Failed before: "0" was a zero duration (now), docker reads Unix 0;
		// hour-only and zoned short forms were refused.
		{"0", time.Unix(0, 0)},
		{"2026-12-02T15", local(2026, 12, 2, 15, 0, 0, 0)},
		{"2026-12-02T15Z", utc(2026, 12, 2, 15, 0, 0, 0)},
		{"2026-12-02T15+02:00", time.Date(2026, 12, 2, 15, 0, 0, 0, time.FixedZone("", 7200))},
		{"2026-12-02T15:04Z", utc(2026, 12, 2, 15, 4, 0, 0)},
		{"2026-12-02T15:04-07:00", time.Date(2026, 12, 2, 15, 4, 0, 0, time.FixedZone("", -7*3600))},
		{"2026-12-02Z", utc(2026, 12, 2, 0, 0, 0, 0)},
		{"2026-12-02+01:00", local(2026, 12, 2, 0, 0, 0, 0)},
		{"1700000000.123456789", time.Unix(1700000000, 123456789)}, // was read through a float64
		// Worked before and still do.
		{"1700000000", time.Unix(1700000000, 0)},
		{"10m", now.Add(-10 * time.Minute)},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"-5m", now.Add(5 * time.Minute)},
		{"0s", now},
		{"1700000000.5", time.Unix(1700000000, 500_000_000)},
		{"2026-12-02T15:04:05.25", local(2026, 12, 2, 15, 4, 5, 250_000_000)},
		{"2026-12-02", local(2026, 12, 2, 0, 0, 0, 0)},
		{"2026-12-02T15:04", local(2026, 12, 2, 15, 4, 0, 0)},
		{"2026-12-02T15:04:05", local(2026, 12, 2, 15, 4, 5, 0)},
		{"2026-12-02T15:04:05Z", utc(2026, 12, 2, 15, 4, 5, 0)},
		{"2026-12-02T15:04:05.000000001Z", utc(2026, 12, 2, 15, 4, 5, 1)},
		{"2026-12-02T15:04:05+01:00", local(2026, 12, 2, 15, 4, 5, 0)},
		{"2026-12-02T15:04:05-07:00", time.Date(2026, 12, 2, 15, 4, 5, 0, time.FixedZone("", -7*3600))},
	}
	for _, c := range cases {
		got, err := parseEventTime(c.in, now)
		if err != nil {
			t.Errorf("parseEventTime(%q): %v", c.in, err)
			continue
		}
		if !got.Equal(c.want) {
			t.Errorf("parseEventTime(%q) = %s, want %s", c.in, got.Format(time.RFC3339Nano), c.want.Format(time.RFC3339Nano))
		}
	}
}

func TestParseEventTimeRefuses(t *testing.T) {
	now := time.Date(2026, 12, 2, 15, 4, 5, 0, time.UTC)
	for _, in := range []string{"", "yesterday", "1e9", "NaN", "inf", "-5", "1.5.5", "2026-13-01", "2026-12-02T25", "2026-12-02 15:04", "12:00"} {
		if got, err := parseEventTime(in, now); err == nil {
			t.Errorf("parseEventTime(%q) = %s, want an error", in, got)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("parseEventTime(%q): error spans lines: %q", in, err)
		}
	}
}
