package output

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
)

func TestEscape(t *testing.T) {
	cases := []struct{ in, want string }{
		{"web-1", "web-1"},
		{"", ""},
		{"café ünïcode ✓ 日本", "café ünïcode ✓ 日本"},
		{"\x1b]0;pwned\a\x1b[2J", `\x1b]0;pwned\x07\x1b[2J`},
		{"a\nb\tc\rd", `a\nb\tc\rd`},
		{"nul\x00del\x7f", `nul\x00del\x7f`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bad \x9b utf8 \xff", `bad \x9b utf8 \xff`},
		{"\x1f\x20", `\x1f `},
	}
	for _, c := range cases {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := string(AppendEscaped([]byte("x"), c.in)); got != "x"+c.want {
			t.Errorf("AppendEscaped(%q) = %q, want %q", c.in, got, "x"+c.want)
		}
		if hasControl(Escape(c.in)) {
			t.Errorf("Escape(%q) still holds a control character", c.in)
		}
	}
}

// hasControl reports C0, DEL or C1 characters, or invalid UTF-8.
func hasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || isC1(r) || r == '\uFFFD' {
			return true
		}
	}
	return false
}

func TestEscapeLeavesCleanStringsAlone(t *testing.T) {
	s := "registry.example/app:1.2.3"
	if allocs := testing.AllocsPerRun(100, func() { _ = Escape(s) }); allocs != 0 {
		t.Errorf("Escape of a clean string allocates %v times", allocs)
	}
}

const hostile = "evil\x1b]0;title\a\x1b[2J\u009b"

// Every human-readable output shows control characters escaped: the
// table, plain (no TTY) lines, templates and events' default line.
func TestHumanOutputEscapesControlCharacters(t *testing.T) {
	c := stream.Container{ID: strings.Repeat("a", 64), Name: "/" + hostile, Image: hostile, State: "running", Status: hostile, Health: hostile}
	row := NewRow(c, nil)
	now := time.Unix(1700000000, 0)

	for _, tty := range []bool{true, false} {
		out := RenderTable([]Row{row}, Header{}, TableOptions{Width: 200, Now: now, TTY: tty})
		checkEscaped(t, "table", string(out), tty)
	}
	for _, f := range []string{"{{.Name}} {{.Image}} {{.Status}} {{.State}} {{.Health}}", "table {{.Name}}\t{{.Image}}"} {
		wf, err := ParseWatchFormat(f)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		if wf.Kind == FormatTemplate {
			out, err = wf.Template.AppendRow(nil, row, TableOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
		} else {
			out = RenderTable([]Row{row}, Header{}, TableOptions{Width: 200, Now: now, Template: wf.Template})
		}
		checkEscaped(t, "template "+f, string(out), false)
	}

	ev := events.Message{Type: events.ContainerEventType, Action: "start", Actor: events.Actor{ID: "abc", Attributes: map[string]string{"name": hostile, hostile: "v"}}, TimeNano: 1}
	def, _ := ParseEventsFormat("")
	line, err := def.In(time.UTC).Append(nil, ev)
	if err != nil {
		t.Fatal(err)
	}
	checkEscaped(t, "events default", string(line), false)
	tmpl, err := ParseEventsFormat(`{{.Actor.Attributes.name}} {{.Status}} {{.Action}}`)
	if err != nil {
		t.Fatal(err)
	}
	line, err = tmpl.Append(nil, ev)
	if err != nil {
		t.Fatal(err)
	}
	checkEscaped(t, "events template", string(line), false)

	// JSON stays JSON: the encoder's own escapes, nothing doubled.
	js, _ := ParseEventsFormat("json")
	line, _ = js.Append(nil, ev)
	if !strings.Contains(string(line), `evil\u001b]0;title\u0007`) || strings.Contains(string(line), `\\x1b`) {
		t.Errorf("events json: %s", line)
	}
}

func checkEscaped(t *testing.T, what, out string, tty bool) {
	t.Helper()
	if !strings.Contains(out, `evil\x1b]0;title\x07\x1b[2J\u009b`) {
		t.Errorf("%s: the hostile string is not shown escaped:\n%q", what, out)
	}
	if tty {
		// The table's own escape codes are allowed; the hostile ones are not.
		if strings.Contains(out, "\x1b]0;") || strings.Contains(out, "\a") || strings.Contains(out, "\u009b") {
			t.Errorf("%s: raw control characters of the data reach the terminal:\n%q", what, out)
		}
		return
	}
	if strings.ContainsAny(strings.ReplaceAll(out, "\n", ""), "\x1b\a\x00\x7f\u009b") {
		t.Errorf("%s: raw control characters reach the output:\n%q", what, out)
	}
}
