package output

import (
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
)

func pauseEvent() events.Message {
	return events.Message{
		Type:   events.ContainerEventType,
		Action: events.ActionPause,
		Actor: events.Actor{
			ID:         "4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff",
			Attributes: map[string]string{"name": "web", "image": "alpine:3.20", "com.example.tier": "a&b<c>"},
		},
		Scope:    "local",
		Time:     1795701785,
		TimeNano: 1795701785123456789,
	}
}

func appendEvent(t *testing.T, f EventsFormat, ev events.Message) string {
	t.Helper()
	out, err := f.Append(nil, ev)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestEventsDefaultLine(t *testing.T) {
	f, err := ParseEventsFormat("")
	if err != nil {
		t.Fatal(err)
	}
	utc := f.In(time.UTC)
	want := "2026-11-26T14:03:05.123456789Z container pause 4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff" +
		" (com.example.tier=a&b<c>, image=alpine:3.20, name=web)\n"
	if got := appendEvent(t, utc, pauseEvent()); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	zoned := f.In(time.FixedZone("CET", 3600))
	if got := appendEvent(t, zoned, pauseEvent()); !strings.HasPrefix(got, "2026-11-26T15:03:05.123456789+01:00 container pause ") {
		t.Errorf("zoned %q", got)
	}

	// Whole seconds keep their nine digits so lines line up.
	ev := events.Message{Type: events.NetworkEventType, Action: events.ActionConnect, Actor: events.Actor{ID: "n1"}, Time: 1795701785}
	if got := appendEvent(t, utc, ev); got != "2026-11-26T14:03:05.000000000Z network connect n1\n" {
		t.Errorf("seconds only %q", got)
	}
	ev.Time = 0
	if got := appendEvent(t, utc, ev); got != "network connect n1\n" {
		t.Errorf("no time %q", got)
	}
	// The default layout follows the local zone, as docker events does.
	local := time.Unix(0, pauseEvent().TimeNano).Format(rfc3339NanoFixed)
	if got := appendEvent(t, f, pauseEvent()); !strings.HasPrefix(got, local+" container pause") {
		t.Errorf("local %q, want prefix %q", got, local)
	}
}

func TestEventsJSON(t *testing.T) {
	f, err := ParseEventsFormat("json")
	if err != nil {
		t.Fatal(err)
	}
	// What docker events --format json prints for this event (Engine fields
	// status/id/from aside): field order of the type, map keys sorted, no
	// HTML escaping.
	want := `{"Type":"container","Action":"pause","Actor":{"ID":"4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff",` +
		`"Attributes":{"com.example.tier":"a&b<c>","image":"alpine:3.20","name":"web"}},"scope":"local","time":1795701785,"timeNano":1795701785123456789}` + "\n"
	out, err := f.Append([]byte("x"), pauseEvent())
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "x"+want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	// The json template function gives the same bytes.
	tf, err := ParseEventsFormat("{{json .}}")
	if err != nil {
		t.Fatal(err)
	}
	if got := appendEvent(t, tf, pauseEvent()); got != want {
		t.Errorf("{{json .}} got %s", got)
	}
}

func TestEventsTemplate(t *testing.T) {
	for format, want := range map[string]string{
		"{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Scope}} {{.Time}}": "container pause web local 1795701785\n",
		"{{.Status}}|{{.ID}}|{{.From}}":                                         "pause|4f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff|alpine:3.20\n",
		"{{upper (truncate .Actor.ID 12)}}":                                     "4F1E2D3C4B5A\n",
	} {
		f, err := ParseEventsFormat(format)
		if err != nil {
			t.Fatalf("%q: %v", format, err)
		}
		if got := appendEvent(t, f, pauseEvent()); got != want {
			t.Errorf("%q: got %q, want %q", format, got, want)
		}
	}
	net := events.Message{Type: events.NetworkEventType, Action: events.ActionConnect, Actor: events.Actor{ID: "n1", Attributes: map[string]string{"image": "x"}}}
	f, _ := ParseEventsFormat("[{{.Status}}|{{.ID}}|{{.From}}]")
	if got := appendEvent(t, f, net); got != "[||]\n" {
		t.Errorf("legacy fields of a network event %q", got)
	}
}

func TestEventsFormatErrors(t *testing.T) {
	for in, want := range map[string]string{
		"{{.Bogus}}": `invalid --format template: :1:2: executing "" at <.Bogus>: can't evaluate field Bogus in type output.EventData`,
		"{{if}}":     `invalid --format template: :1: missing value for if`,
	} {
		_, err := ParseEventsFormat(in)
		if err == nil || err.Error() != want {
			t.Errorf("%q:\n got %v\nwant %s", in, err, want)
		}
	}
}
