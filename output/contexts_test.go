package output

import (
	"encoding/json"
	"strings"
	"testing"
)

// contextRows are rows of two contexts, as watch --contexts merges them.
func contextRows() []Row {
	web := NewRow(container("web", "running"), sample())
	web.Context = "default"
	db := NewRow(container("db", "running"), nil)
	db.Context = "prod-eu"
	return []Row{web, db}
}

func TestRenderTableContextColumn(t *testing.T) {
	headers := []Header{
		{Mode: ModeLive, Context: "default", Containers: 1, Updated: t0},
		{Mode: ModeEngineUnavailable, Detail: "connection refused", Context: "prod-eu", Containers: 1},
	}
	got := string(RenderTableHeaders(contextRows(), headers, TableOptions{Now: t0, ShowContext: true}))
	want := "" +
		"● default  live  1 container  updated 14:03:05\n" +
		"● prod-eu  engine-unavailable (connection refused)  1 container\n" +
		"CONTEXT   NAME   STATE     CPU %    MEM USAGE / LIMIT   MEM %   NET RX/s   NET TX/s   BLOCK I/O     PIDS   UPTIME\n" +
		"default   web    running   12.35%   1.5MiB / 7.629GiB   0.02%   1.2MB/s    250B/s     45.6MB / 0B   7      3m12s\n" +
		"prod-eu   db     running   --       --                  --      --         --         --            --     3m12s\n"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderTableContextColumnFitsWidth(t *testing.T) {
	// The CONTEXT column is never dropped; the others give way to it.
	out := RenderTableHeaders(contextRows(), nil, TableOptions{Now: t0, ShowContext: true, Width: 60})
	assertWidth(t, out, 60)
	for _, l := range lines(out)[1:] {
		if !strings.HasPrefix(l, "default ") && !strings.HasPrefix(l, "prod-eu ") {
			t.Errorf("row without its context first: %q", l)
		}
	}
	// The height counts every status line.
	headers := []Header{{Mode: ModeLive, Context: "a"}, {Mode: ModeLive, Context: "b"}}
	out = RenderTableHeaders(contextRows(), headers, TableOptions{Now: t0, ShowContext: true, Height: 4})
	if l := lines(out); len(l) != 4 || l[3] != "… 2 more" {
		t.Errorf("height 4 with two status lines: %q", l)
	}
}

func TestTemplateContext(t *testing.T) {
	f, err := ParseWatchFormat("table {{.Context}}\t{{.Name}}")
	if err != nil {
		t.Fatal(err)
	}
	got := string(RenderTable(contextRows(), Header{}, TableOptions{Now: t0, Template: f.Template}))
	want := "CONTEXT   NAME\ndefault   web\nprod-eu   db\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestEventsWithContext(t *testing.T) {
	def, _ := ParseEventsFormat("")
	line := appendEvent(t, def.In(t0.Location()).WithContext("prod", 7), pauseEvent())
	if !strings.HasPrefix(line, "prod    2026-") {
		t.Errorf("default line %q: want the context padded to 7 and a space first", line)
	}

	js, _ := ParseEventsFormat("json")
	out, err := js.WithContext("prod", 4).Append([]byte("x"), pauseEvent())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), `x{"context":"prod","Type":"container",`) {
		t.Errorf("json %s", out)
	}
	var m map[string]any
	if err := json.Unmarshal(out[1:], &m); err != nil || m["context"] != "prod" || m["Action"] != "pause" {
		t.Errorf("json line does not decode with its context: %v %v", m, err)
	}
	// Without a context the line is docker events' own.
	plain, _ := js.Append(nil, pauseEvent())
	if strings.Contains(string(plain), "context") {
		t.Errorf("json without --contexts names a context: %s", plain)
	}

	tf, _ := ParseEventsFormat("{{.Context}} {{.Action}}")
	if got := appendEvent(t, tf.WithContext("prod", 4), pauseEvent()); got != "prod pause\n" {
		t.Errorf("template %q", got)
	}
	jt, _ := ParseEventsFormat("{{json .}}")
	if got := appendEvent(t, jt, pauseEvent()); strings.Contains(got, "context") {
		t.Errorf("{{json .}} without a context names one: %s", got)
	}
}
