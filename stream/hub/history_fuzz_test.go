package hub

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// FuzzHistoryEncoder checks the hand-written history encoder against a
// model: whatever samples, gaps and ring size, the frame is valid JSON that
// decodes (through the protocol's own types) to exactly the samples the
// ring should hold, in order, with null where a slot has none. Runs as a
// unit test on the seeds; `make fuzz` explores further.
func FuzzHistoryEncoder(f *testing.F) {
	f.Add(uint8(4), []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 0x81, 9, 9, 9, 9, 9, 9, 9, 9, 2, 0xff, 0xf8, 0, 0, 0, 0, 0, 1})
	f.Add(uint8(0), []byte{0x7f, 0xf0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(19), make([]byte, 9*40))
	f.Fuzz(func(t *testing.T, size uint8, ops []byte) {
		clock := newFakeClock()
		keep := time.Duration(size%20+1) * time.Second
		h := New(Config{History: keep, Now: clock.Now})
		h.Upsert(ctr("a1", "one"))
		model := map[uint32]stream.Stats{} // slot -> the sample recorded there
		var newest uint32
		for ; len(ops) >= 9; ops = ops[9:] {
			op, v := ops[0], binary.BigEndian.Uint64(ops[1:9])
			clock.Advance(time.Duration(1+op%4) * time.Second)
			if op&0x80 != 0 {
				continue // a gap: this flush had no sample
			}
			st := stream.Stats{
				ID:         "a1",
				Read:       clock.Now(),
				CPUPercent: math.Float64frombits(v),
				MemUsage:   v,
				MemLimit:   ^v,
				NetRxRate:  float64(math.Float32frombits(uint32(v))),
				NetTxRate:  float64(math.Float32frombits(uint32(v >> 32))),
				PIDs:       v >> 40,
			}
			h.hist.record(clock.Now(), map[string]stream.Stats{"a1": st})
			newest = h.hist.slotOf(clock.Now())
			model[newest] = st
		}

		s := subscribe(t, h, stream.Subscription{History: stream.HistoryRequest{Want: true}})
		frames, _, _ := s.Take(nil)
		raw := frames[len(frames)-1]
		if !json.Valid(raw) {
			t.Fatalf("history frame is not valid JSON: %s", raw)
		}
		var m stream.Message
		if err := json.Unmarshal(raw, &m); err != nil || m.Type != stream.TypeHistory || m.History == nil {
			t.Fatalf("history frame does not decode: %v: %.300s", err, raw)
		}
		if len(model) == 0 {
			if len(m.History.Containers) != 0 {
				t.Fatalf("no samples, yet history holds %+v", m.History.Containers)
			}
			return
		}
		// The window: the ring's size behind the newest sample, from the
		// first slot in it that holds one.
		first := uint32(max(int64(newest)-int64(h.hist.size)+1, 1))
		for model[first].ID == "" {
			first++
		}
		if len(m.History.Containers) != 1 {
			t.Fatalf("history holds %d containers, want 1", len(m.History.Containers))
		}
		c := m.History.Containers[0]
		if want := h.hist.slotTime(first); !c.Start.Equal(want) {
			t.Errorf("start = %s, want %s", c.Start, want)
		}
		n := int(newest - first + 1)
		for name, series := range map[string]stream.Series{"cpu": c.CPUPercent, "mem": c.MemUsage, "limit": c.MemLimit,
			"rx": c.NetRxRate, "tx": c.NetTxRate, "blkr": c.BlockReadRate, "blkw": c.BlockWriteRate, "pids": c.PIDs} {
			if len(series) != n {
				t.Fatalf("%s has %d values, want %d", name, len(series), n)
			}
		}
		same := func(got, want float64) bool {
			if math.IsNaN(want) || math.IsInf(want, 0) {
				return math.IsNaN(got) // null on the wire
			}
			return got == want
		}
		for i := range n {
			st, ok := model[first+uint32(i)]
			if !ok {
				for _, v := range []float64{c.CPUPercent[i], c.MemUsage[i], c.PIDs[i], c.NetRxRate[i]} {
					if !math.IsNaN(v) {
						t.Fatalf("slot %d had no sample but got %v", i, v)
					}
				}
				continue
			}
			checks := []struct {
				name      string
				got, want float64
			}{
				{"cpu", c.CPUPercent[i], st.CPUPercent},
				{"mem", c.MemUsage[i], float64(st.MemUsage)},
				{"limit", c.MemLimit[i], float64(st.MemLimit)},
				// Rates are kept as 32-bit floats and written as the
				// shortest decimal that reads back as the same float32.
				{"rx", float64(float32(c.NetRxRate[i])), st.NetRxRate},
				{"tx", float64(float32(c.NetTxRate[i])), st.NetTxRate},
				{"pids", c.PIDs[i], float64(min(st.PIDs, 1<<32-1))},
			}
			for _, ck := range checks {
				if !same(ck.got, ck.want) {
					t.Fatalf("slot %d %s = %v, want %v", i, ck.name, ck.got, ck.want)
				}
			}
			if math.IsNaN(c.BlockReadRate[i]) || c.BlockReadRate[i] < 0 {
				t.Fatalf("slot %d block read rate = %v", i, c.BlockReadRate[i])
			}
		}
	})
}
