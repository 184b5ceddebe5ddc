package output

import (
	"strings"
	"testing"
)

func TestParseWatchFormatKinds(t *testing.T) {
	for _, tc := range []struct {
		in       string
		kind     FormatKind
		template bool
	}{
		{"", FormatTable, false},
		{"table", FormatTable, false},
		{"table   ", FormatTable, false},
		{"json", FormatJSON, false},
		{"table {{.Name}}\t{{.CPUPerc}}", FormatTable, true},
		{"{{.Name}}: {{.CPUPerc}}", FormatTemplate, true},
		{"{{json .}}", FormatTemplate, true},
	} {
		f, err := ParseWatchFormat(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if f.Kind != tc.kind || (f.Template != nil) != tc.template {
			t.Errorf("%q: kind %v template %v", tc.in, f.Kind, f.Template != nil)
		}
	}
}

func TestParseWatchFormatErrors(t *testing.T) {
	for in, want := range map[string]string{
		"{{.Name":              `invalid --format template: :1: unclosed action`,
		"{{.Nope}}":            `invalid --format template: :1:2: executing "" at <.Nope>: can't evaluate field Nope in type output.TemplateRow`,
		"table {{nofunc .ID}}": `invalid --format template: :1: function "nofunc" not defined`,
	} {
		_, err := ParseWatchFormat(in)
		if err == nil {
			t.Fatalf("%q: no error", in)
		}
		if err.Error() != want {
			t.Errorf("%q:\n got %q\nwant %q", in, err, want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error spans lines", in)
		}
	}
}

func TestTemplateRow(t *testing.T) {
	c := container("web", "running")
	c.Health = "healthy"
	f, err := ParseWatchFormat(`{{json .}}`)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRow(c, sample())
	r.Context = "default"
	got, err := f.Template.AppendRow(nil, r, TableOptions{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"BlockIO":"45.6MB / 0B","CPUPerc":"12.35%","Container":"web","Context":"default","Health":"healthy","ID":"4f1e2d3c4b5a",` +
		`"Image":"alpine:3.20","MemPerc":"0.02%","MemUsage":"1.5MiB / 7.629GiB","Name":"web","NetIO":"1.23MB / 3kB",` +
		`"NetRxRate":"1.2MB/s","NetTxRate":"250B/s","PIDs":"7","State":"running","Status":"Up 3 minutes","Uptime":"3m12s"}` + "\n"
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	f, err = ParseWatchFormat(`{{.ID}} {{upper .Name}} {{.MemUsage}} {{.NetIO}} {{.PIDs}}\t{{truncate .Image 6}}`)
	if err != nil {
		t.Fatal(err)
	}
	exited := container("db", "exited")
	got, err = f.Template.AppendRow([]byte("> "), NewRow(exited, nil), TableOptions{NoTrunc: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "> 4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff DB -- / -- -- --\talpine\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRenderTableTemplate(t *testing.T) {
	f, err := ParseWatchFormat(`table {{.Name}}\t{{upper .State}}\t{{.CPUPerc}}\t{{.NetRxRate}}\t{{.ID}}`)
	if err != nil {
		t.Fatal(err)
	}
	rows := tableRows()
	got := string(RenderTable(rows, liveHeader, TableOptions{Now: t0, Template: f.Template}))
	want := "" +
		"● live  context default  3 containers  updated 14:03:05\n" +
		"NAME                                          STATE     CPU %     NET RX/s   CONTAINER ID\n" +
		"web                                           RUNNING   12.35%    1.2MB/s    4f1e2d3c4b5a\n" +
		"a-very-long-container-name-for-the-database   EXITED    --        --         4f1e2d3c4b5a\n" +
		"idle                                          RUNNING   --        --         4f1e2d3c4b5a\n"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	out := RenderTable(rows, Header{}, TableOptions{Now: t0, Template: f.Template, Width: 50})
	assertWidth(t, out, 50)
	if l := lines(out); l[0] != "NAME                                          STAT" {
		t.Errorf("clipped header %q", l[0])
	}
	all := []string{".Name", ".ID", ".Container", ".CPUPerc", ".MemUsage", ".MemPerc", ".NetIO", ".BlockIO", ".PIDs", ".State", ".Health", ".Status", ".NetRxRate", ".NetTxRate", ".Image", ".Uptime"}
	f, err = ParseWatchFormat("table {{" + strings.Join(all, "}}|{{") + "}}")
	if err != nil {
		t.Fatal(err)
	}
	header := lines(RenderTable(nil, Header{}, TableOptions{Template: f.Template}))[0]
	if want := "NAME|CONTAINER ID|CONTAINER|CPU %|MEM USAGE / LIMIT|MEM %|NET I/O|BLOCK I/O|PIDS|STATE|HEALTH|STATUS|NET RX/s|NET TX/s|IMAGE|UPTIME"; header != want {
		t.Errorf("header %q", header)
	}
}
