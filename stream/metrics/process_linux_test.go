package metrics

import (
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// referenceProcess is client_golang's process collector's families, read
// from this same process.
func referenceProcess(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{ReportErrors: true}))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func refValue(f *dto.MetricFamily) float64 {
	m := f.GetMetric()[0]
	if f.GetType() == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// TestProcessMatchesClientGolang pins the process_* families against
// client_golang's process collector: the same families, help texts and
// types, and values read between two of its reads (counters), equal
// (limits, start time) or close (what moves on its own).
func TestProcessMatchesClientGolang(t *testing.T) {
	before := referenceProcess(t)
	ours := processFamilies()
	after := referenceProcess(t)
	if len(ours) != len(before) {
		var names []string
		for _, f := range ours {
			names = append(names, f.name)
		}
		t.Errorf("%d process families %v, client_golang %d", len(ours), names, len(before))
	}
	for _, f := range ours {
		b, a := before[f.name], after[f.name]
		if b == nil || a == nil {
			t.Errorf("%s: client_golang has no such family", f.name)
			continue
		}
		typ := dto.MetricType_GAUGE
		if f.typ == counter {
			typ = dto.MetricType_COUNTER
		}
		if f.help != b.GetHelp() || typ != b.GetType() {
			t.Errorf("%s: help %q type %v, client_golang %q %v", f.name, f.help, typ, b.GetHelp(), b.GetType())
		}
		if len(f.samples) != 1 || f.samples[0].labels != "" {
			t.Errorf("%s: samples %+v, want one without labels", f.name, f.samples)
			continue
		}
		v, lo, hi := f.samples[0].value, refValue(b), refValue(a)
		switch f.name {
		case "process_cpu_seconds_total", "process_network_receive_bytes_total", "process_network_transmit_bytes_total":
			if v < lo || v > hi {
				t.Errorf("%s = %v, not between client_golang's %v and %v", f.name, v, lo, hi)
			}
		case "process_max_fds", "process_virtual_memory_max_bytes", "process_start_time_seconds":
			if v != lo {
				t.Errorf("%s = %v, client_golang %v", f.name, v, lo)
			}
		default: // memory and descriptors move with the test's own work
			if math.Abs(v-lo) > 0.25*lo {
				t.Errorf("%s = %v, client_golang %v", f.name, v, lo)
			}
		}
	}
}
