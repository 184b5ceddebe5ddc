package output

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/docker/cli/templates"
	"github.com/moby/moby/api/types/events"
)

// EventsFormat is a parsed events --format: docker events' default line,
// "json", or a Go template over the event.
type EventsFormat struct {
	json   bool
	legacy bool
	tmpl   *template.Template
	loc    *time.Location
	// context, when set, names the Docker context of every event: a
	// "context" field first in json, .Context in templates, and a first
	// column padded to contextWidth on the default line.
	context      string
	contextWidth int
}

// ParseEventsFormat parses events' --format as docker events does: "" is
// the default line, "json" the event as JSON, anything else a Go template
// whose data is the event. The template is tried on an empty event so a
// misspelt field fails at once.
func ParseEventsFormat(s string) (EventsFormat, error) {
	switch s {
	case "":
		return EventsFormat{}, nil
	case "json":
		return EventsFormat{json: true}, nil
	}
	tmpl, err := templates.Parse(s)
	if err != nil {
		return EventsFormat{}, templateError(err)
	}
	if err := tmpl.Execute(io.Discard, EventData{}); err != nil {
		return EventsFormat{}, templateError(err)
	}
	return EventsFormat{tmpl: tmpl}, nil
}

// In returns f printing default-line times in loc instead of the local
// time zone docker events uses.
func (f EventsFormat) In(loc *time.Location) EventsFormat {
	f.loc = loc
	return f
}

// WithContext makes f name the Docker context of each event, for a stream
// merged from several contexts; width pads the default line's first column
// (the longest context name), so that the columns after it line up.
func (f EventsFormat) WithContext(name string, width int) EventsFormat {
	f.context = name
	f.contextWidth = width
	return f
}

// WithLegacyFields makes json output carry status, id and from, as Engines
// before API 1.52 send them and docker events then prints them.
func (f EventsFormat) WithLegacyFields(on bool) EventsFormat {
	f.legacy = on
	return f
}

// legacyMessage is events.Message as docker events prints it against an
// Engine older than API 1.52: the deprecated fields first.
type legacyMessage struct {
	Status   string `json:"status,omitempty"`
	ID       string `json:"id,omitempty"`
	From     string `json:"from,omitempty"`
	Type     events.Type
	Action   events.Action
	Actor    events.Actor
	Scope    string `json:"scope,omitempty"`
	Time     int64  `json:"time,omitempty"`
	TimeNano int64  `json:"timeNano,omitempty"`
}

// EventData is the data of an events template: the event, plus the fields
// Engines before API 1.52 sent and old templates still use.
type EventData struct {
	events.Message
	// Context is the Docker context of the event when events follows
	// several contexts (--contexts), and empty otherwise.
	Context string `json:"context,omitempty"`
}

// Status is the action of a container or image event, as the Engine's
// deprecated status field carried it.
func (d EventData) Status() string {
	if d.Type == events.ContainerEventType || d.Type == events.ImageEventType {
		return string(d.Action)
	}
	return ""
}

// ID is the actor ID of a container or image event, as the Engine's
// deprecated id field carried it.
func (d EventData) ID() string {
	if d.Type == events.ContainerEventType || d.Type == events.ImageEventType {
		return d.Actor.ID
	}
	return ""
}

// From is a container event's image, as the Engine's deprecated from field
// carried it.
func (d EventData) From() string {
	if d.Type == events.ContainerEventType {
		return d.Actor.Attributes["image"]
	}
	return ""
}

// rfc3339NanoFixed is docker events' time layout: nanoseconds padded so
// every line's time has the same width.
const rfc3339NanoFixed = "2006-01-02T15:04:05.000000000Z07:00"

// Append appends ev as one line ending in a newline.
func (f EventsFormat) Append(dst []byte, ev events.Message) ([]byte, error) {
	switch {
	case f.json:
		// docker's json template function: no HTML escaping, one line.
		buf := bytes.NewBuffer(dst)
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		var v any = ev
		if f.legacy {
			d := EventData{Message: ev}
			v = legacyMessage{Status: d.Status(), ID: d.ID(), From: d.From(), Type: ev.Type, Action: ev.Action,
				Actor: ev.Actor, Scope: ev.Scope, Time: ev.Time, TimeNano: ev.TimeNano}
		}
		if f.context != "" {
			// The context goes first, as a watch --format json line has
			// it, ahead of the fields docker events prints.
			buf.WriteString(`{"context":`)
			buf.Write(appendJSONString(nil, f.context))
			buf.WriteByte(',')
			start := buf.Len()
			if err := enc.Encode(v); err != nil {
				return dst, err
			}
			out := buf.Bytes()
			// Drop the encoded object's own '{' (an event is never empty).
			return append(out[:start], out[start+1:]...), nil
		}
		if err := enc.Encode(v); err != nil {
			return dst, err
		}
		return buf.Bytes(), nil
	case f.tmpl != nil:
		w := &appendWriter{b: dst}
		if err := f.tmpl.Execute(w, EventData{Message: escapeEvent(ev), Context: Escape(f.context)}); err != nil {
			return dst, err
		}
		return append(w.b, '\n'), nil
	}
	return f.appendDefault(dst, ev), nil
}

// appendDefault writes docker events' line: time, type, action, actor ID,
// and the attributes sorted by key.
func (f EventsFormat) appendDefault(dst []byte, ev events.Message) []byte {
	loc := f.loc
	if loc == nil {
		loc = time.Local
	}
	if f.context != "" {
		start := len(dst)
		dst = AppendEscaped(dst, f.context)
		for n := utf8.RuneCount(dst[start:]); n <= f.contextWidth; n++ {
			dst = append(dst, ' ')
		}
	}
	switch {
	case ev.TimeNano != 0:
		dst = time.Unix(0, ev.TimeNano).In(loc).AppendFormat(dst, rfc3339NanoFixed)
		dst = append(dst, ' ')
	case ev.Time != 0:
		dst = time.Unix(ev.Time, 0).In(loc).AppendFormat(dst, rfc3339NanoFixed)
		dst = append(dst, ' ')
	}
	// Every string is the Engine's (or a label's author's): escaped.
	dst = AppendEscaped(dst, string(ev.Type))
	dst = append(dst, ' ')
	dst = AppendEscaped(dst, string(ev.Action))
	dst = append(dst, ' ')
	dst = AppendEscaped(dst, ev.Actor.ID)
	if len(ev.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(ev.Actor.Attributes))
		for k := range ev.Actor.Attributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, " ("...)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = AppendEscaped(dst, k)
			dst = append(dst, '=')
			dst = AppendEscaped(dst, ev.Actor.Attributes[k])
		}
		dst = append(dst, ')')
	}
	return append(dst, '\n')
}

// escapeEvent is ev with every string escaped (Escape), for templates: the
// data is escaped rather than the output, so that a template's own tabs
// and newlines still work while a label's cannot forge a line.
func escapeEvent(ev events.Message) events.Message {
	ev.Type = events.Type(Escape(string(ev.Type)))
	ev.Action = events.Action(Escape(string(ev.Action)))
	ev.Scope = Escape(ev.Scope)
	ev.Actor.ID = Escape(ev.Actor.ID)
	if len(ev.Actor.Attributes) > 0 {
		attrs := make(map[string]string, len(ev.Actor.Attributes))
		for k, v := range ev.Actor.Attributes {
			attrs[Escape(k)] = Escape(v)
		}
		ev.Actor.Attributes = attrs
	}
	return ev
}
