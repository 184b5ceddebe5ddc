package output

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	units "github.com/docker/go-units"
)

func TestBinarySize(t *testing.T) {
	for _, tc := range []struct {
		in   uint64
		want string
	}{
		{0, "0B"},
		{1023, "1023B"},
		{1024, "1KiB"},
		{1536 * 1024, "1.5MiB"},
		{8_192_000_000, "7.629GiB"},
		{2 << 40, "2TiB"},
	} {
		if got := BinarySize(tc.in); got != tc.want {
			t.Errorf("BinarySize(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecimalSize(t *testing.T) {
	for _, tc := range []struct {
		in   uint64
		want string
	}{
		{0, "0B"},
		{999, "999B"},
		{3000, "3kB"},
		{1_234_567, "1.23MB"},
		{45_600_000_000, "45.6GB"},
		// docker stats' own rounding quirk, kept so columns match it.
		{999_999, "1e+03kB"},
	} {
		if got := DecimalSize(tc.in); got != tc.want {
			t.Errorf("DecimalSize(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The appenders exist to avoid fmt; they must still print exactly what
// go-units prints for docker stats.
func TestSizesMatchGoUnits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []float64{0, 1, 999, 1000, 1023, 1024, 1025, 9999, 99_999, 999_499, 999_500, 1 << 30, 1 << 62, math.MaxUint64}
	for range 20000 {
		values = append(values, math.Floor(math.Exp(rng.Float64()*44)))
	}
	for _, v := range values {
		if got, want := string(appendBinarySize(nil, v)), units.BytesSize(v); got != want {
			t.Fatalf("binary %v: got %q, go-units %q", v, got, want)
		}
		if got, want := string(appendDecimalSize(nil, v)), units.HumanSizeWithPrecision(v, 3); got != want {
			t.Fatalf("decimal %v: got %q, go-units %q", v, got, want)
		}
	}
}

func TestRatePercent(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Rate(1.2e6), "1.2MB/s"},
		{Rate(0), "0B/s"},
		{Rate(512.4), "512B/s"},
		{Rate(-5), "0B/s"},
		{Percent(12.3449), "12.34%"},
		{Percent(0), "0.00%"},
		{Percent(199.999), "200.00%"},
		{Percent(math.NaN()), "0.00%"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestUptime(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{999 * time.Millisecond, "0s"},
		{45 * time.Second, "45s"},
		{3*time.Minute + 12*time.Second, "3m12s"},
		{3 * time.Minute, "3m"},
		{2*time.Hour + 5*time.Minute + 59*time.Second, "2h5m"},
		{2 * time.Hour, "2h"},
		{4*24*time.Hour + 2*time.Hour + 30*time.Minute, "4d2h"},
		{400 * 24 * time.Hour, "400d"},
	} {
		if got := Uptime(tc.in); got != tc.want {
			t.Errorf("Uptime(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
