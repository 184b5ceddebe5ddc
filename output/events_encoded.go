package output

import (
	"bytes"

	"github.com/moby/moby/api/types/events"
)

// AppendEncoded appends ev as f prints it, copying enc, ev's JSON as the
// streamer sent it, instead of encoding ev again: at 10,000 events a
// second the re-encoding was a quarter of `live events`' CPU. It reports
// false, appending nothing, when f is not plain json or enc may differ
// from what Append writes; the caller then calls Append.
//
// enc must be encoding/json's encoding of events.Message without HTML
// escaping (the hub's; stream/hub/event_encode.go). encoding/json writes
// a decoded event back the same, byte for byte, except where it wrote a
// \u escape: invalid UTF-8 comes back as the replacement character
// itself, and an older streamer escaped <, > and &. So enc is used only
// without one.
func (f EventsFormat) AppendEncoded(dst []byte, ev events.Message, enc []byte) ([]byte, bool) {
	if !f.json || f.context != "" || len(enc) < 2 || enc[0] != '{' || enc[len(enc)-1] != '}' ||
		bytes.Contains(enc, []byte(`\u`)) {
		return dst, false
	}
	if !f.legacy {
		dst = append(dst, enc...)
		return append(dst, '\n'), true
	}
	// legacyMessage: status, id and from (each when not empty) ahead of
	// the fields events.Message has, in its order.
	start := len(dst)
	dst = append(dst, '{')
	d := EventData{Message: ev}
	for _, field := range [...]struct{ key, value string }{{"status", d.Status()}, {"id", d.ID()}, {"from", d.From()}} {
		if field.value == "" {
			continue
		}
		dst = append(dst, '"')
		dst = append(dst, field.key...)
		dst = append(dst, '"', ':')
		dst = appendJSONString(dst, field.value)
		dst = append(dst, ',')
	}
	if bytes.Contains(dst[start:], []byte(`\u`)) {
		return dst[:start], false
	}
	if len(dst) == start+1 {
		dst = append(dst[:start], enc...)
	} else {
		// An event is never empty: Type, Action and Actor are always there.
		dst = append(dst, enc[1:]...)
	}
	return append(dst, '\n'), true
}
