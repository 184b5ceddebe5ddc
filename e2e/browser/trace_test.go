package browser

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// pageTrace records a Chromium trace (the DevTools timeline categories) of
// the tab while it runs, for finding where a page's time goes: a task's
// wall time (dur) against its thread time (tdur) tells a long task the page
// made from one the busy host stretched. Tracing costs CPU itself, so a run
// with a trace is for looking, not for quoting.
type pageTrace struct {
	mu     sync.Mutex
	events []json.RawMessage
	done   chan struct{}
	once   sync.Once
}

func startTrace(t testing.TB, ctx context.Context) *pageTrace {
	t.Helper()
	tr := &pageTrace{done: make(chan struct{})}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			tr.mu.Lock()
			for _, v := range e.Value {
				tr.events = append(tr.events, json.RawMessage(v))
			}
			tr.mu.Unlock()
		case *tracing.EventTracingComplete:
			tr.once.Do(func() { close(tr.done) })
		}
	}); err != nil {
		t.Fatal(err)
	}
	_, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{
		TransferMode: tracing.StartTransferModeReportEvents,
		TraceConfig: &tracing.TraceConfig{
			RecordMode: tracing.TraceConfigRecordModeRecordContinuously,
			IncludedCategories: []string{
				"toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline",
				"disabled-by-default-devtools.timeline.frame", "v8.execute", "blink.user_timing",
				"loading", "v8",
				// Add "disabled-by-default-devtools.timeline.invalidationTracking"
				// to learn which node made each layout (it costs much more).
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// stop ends the trace and writes it, in the Trace Event format that
// chrome://tracing and Perfetto read, to path.
func (tr *pageTrace) stop(t testing.TB, ctx context.Context, path string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tr.done:
	case <-time.After(60 * time.Second):
		t.Fatal("the trace did not complete within 60 s")
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	data, err := json.Marshal(map[string]any{"traceEvents": tr.events})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("trace of %d events: %s", len(tr.events), path)
}

// traceEvent is one event of the Trace Event format (the fields used here).
type traceEvent struct {
	Name string          `json:"name"`
	Cat  string          `json:"cat"`
	Ph   string          `json:"ph"`
	Ts   float64         `json:"ts"`  // µs
	Dur  float64         `json:"dur"` // µs, wall
	Tdur float64         `json:"tdur"`
	Pid  int             `json:"pid"`
	Tid  int             `json:"tid"`
	Args json.RawMessage `json:"args"`
}

// summarizeTrace logs, for the window between the marks "bench-start" and
// "bench-end": each renderer thread's busy time (wall and CPU), the work
// of the main thread by kind, and every task over 50 ms with what it did.
func (tr *pageTrace) summarize(t testing.TB) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var evs []traceEvent
	threads := map[[2]int]string{}
	procs := map[int]string{}
	var start, end float64
	for _, raw := range tr.events {
		var e traceEvent
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		switch {
		case e.Ph == "M" && e.Name == "thread_name":
			var a struct{ Name string }
			_ = json.Unmarshal(e.Args, &a)
			threads[[2]int{e.Pid, e.Tid}] = a.Name
		case e.Ph == "M" && e.Name == "process_name":
			var a struct{ Name string }
			_ = json.Unmarshal(e.Args, &a)
			procs[e.Pid] = a.Name
		case e.Name == "bench-start" && start == 0:
			start = e.Ts
		case e.Name == "bench-end":
			end = e.Ts
		case e.Ph == "X":
			evs = append(evs, e)
		}
	}
	if start == 0 || end <= start {
		t.Logf("trace: no bench-start/bench-end marks")
		return
	}
	win := (end - start) / 1e6
	t.Logf("trace: window %.1f s", win)
	type busy struct{ wall, cpu float64 }
	perThread := map[[2]int]*busy{}
	kinds := map[string]float64{}
	var mains [][2]int
	for k, n := range threads {
		if n == "CrRendererMain" {
			mains = append(mains, k)
		}
	}
	isMain := func(e traceEvent) bool {
		for _, k := range mains {
			if k == [2]int{e.Pid, e.Tid} {
				return true
			}
		}
		return false
	}
	topLevel := func(e traceEvent) bool {
		return e.Name == "ThreadControllerImpl::RunTask" || e.Name == "RunTask" || e.Name == "ThreadPool_RunTask"
	}
	var tasks []traceEvent
	slices.SortStableFunc(evs, func(a, b traceEvent) int { return cmp.Compare(a.Ts, b.Ts) })
	taskEnd := map[[2]int]float64{} // a task's kinds nest (RunTask in RunTask): count the outer one
	for _, e := range evs {
		if e.Ts < start || e.Ts > end {
			continue
		}
		k := [2]int{e.Pid, e.Tid}
		if topLevel(e) && e.Ts < taskEnd[k] {
			continue
		}
		if topLevel(e) {
			taskEnd[k] = e.Ts + e.Dur
			b := perThread[k]
			if b == nil {
				b = &busy{}
				perThread[k] = b
			}
			b.wall += e.Dur
			b.cpu += e.Tdur
			if isMain(e) && e.Dur > 50000 {
				tasks = append(tasks, e)
			}
		} else if isMain(e) {
			kinds[e.Name] += e.Dur
		}
	}
	for k, b := range perThread {
		if b.wall/1e6/win < 0.001 {
			continue
		}
		t.Logf("trace:   %-22s %-28s busy %5.2f %% wall, %5.2f %% CPU", procs[k[0]], threads[k], b.wall/1e6/win*100, b.cpu/1e6/win*100)
	}
	type kv struct {
		k string
		v float64
	}
	var ks []kv
	for k, v := range kinds {
		ks = append(ks, kv{k, v})
	}
	slices.SortFunc(ks, func(a, b kv) int { return cmp.Compare(b.v, a.v) })
	for i, x := range ks {
		if i == 25 {
			break
		}
		t.Logf("trace:   main thread %-45s %7.1f ms (%.2f %%)", x.k, x.v/1000, x.v/1e6/win*100)
	}
	for _, task := range tasks {
		inner := map[string]float64{}
		for _, e := range evs {
			if e.Pid == task.Pid && e.Tid == task.Tid && e.Ts >= task.Ts && e.Ts+e.Dur <= task.Ts+task.Dur && !topLevel(e) {
				inner[e.Name] += e.Dur
			}
		}
		var in []kv
		for k, v := range inner {
			in = append(in, kv{k, v})
		}
		slices.SortFunc(in, func(a, b kv) int { return cmp.Compare(b.v, a.v) })
		var parts []string
		for i, x := range in {
			if i == 8 {
				break
			}
			parts = append(parts, fmt.Sprintf("%s %.1f", x.k, x.v/1000))
		}
		t.Logf("trace:   long task at +%.2f s: %.1f ms wall, %.1f ms CPU: %s", (task.Ts-start)/1e6, task.Dur/1000, task.Tdur/1000, strings.Join(parts, ", "))
	}
}
