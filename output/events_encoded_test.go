package output

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/moby/moby/api/types/events"
)

// AppendEncoded prints, from the event's JSON as the streamer sent it,
// exactly what Append prints from the decoded event, or declines; it
// declines only where the bytes may differ.
func TestAppendEncodedIsAppendByteForByte(t *testing.T) {
	evs := []events.Message{
		{Type: events.ContainerEventType, Action: events.ActionPause, Actor: events.Actor{ID: "0123abcd",
			Attributes: map[string]string{"image": "busybox:latest", "name": "web-1", "com.example.label": "v"}},
			Scope: "local", Time: 1764700000, TimeNano: 1764700000123456789},
		{Type: events.ImageEventType, Action: "pull", Actor: events.Actor{ID: "sha256:ff"}, Scope: "local", Time: 1, TimeNano: 1000000001},
		{Type: events.NetworkEventType, Action: "connect", Actor: events.Actor{ID: "n", Attributes: map[string]string{}}},
		{Type: events.ContainerEventType, Action: "exec_start: sh -c \"echo \\\"hi\\\"\"\t\n\r", Actor: events.Actor{ID: "x",
			Attributes: map[string]string{"image": "i\bm\fg", "uni": "ü€😀"}}},
		{Type: events.ContainerEventType, Action: "health_status: <unhealthy> & more", Actor: events.Actor{ID: "h",
			Attributes: map[string]string{"image": "a<b>&c"}}},
		{Type: events.ContainerEventType, Action: "die", Actor: events.Actor{ID: "bad\xffutf8",
			Attributes: map[string]string{"image": "x\u2028y", "ctl": "\x01\x1f"}}},
		{Type: events.VolumeEventType, Action: "mount"},
		{Type: events.ContainerEventType, Action: "", Actor: events.Actor{ID: ""}},
	}
	hubEncode := func(ev events.Message) []byte {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(ev); err != nil {
			t.Fatal(err)
		}
		return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
	}
	oldStreamerEncode := func(ev events.Message) []byte {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	used := 0
	for _, legacy := range []bool{false, true} {
		f, _ := ParseEventsFormat("json")
		f = f.WithLegacyFields(legacy)
		for i, orig := range evs {
			for _, enc := range [][]byte{hubEncode(orig), oldStreamerEncode(orig)} {
				var ev events.Message
				if err := json.Unmarshal(enc, &ev); err != nil {
					t.Fatal(err)
				}
				want, err := f.Append([]byte("prefix"), ev)
				if err != nil {
					t.Fatal(err)
				}
				got, ok := f.AppendEncoded([]byte("prefix"), ev, enc)
				if !ok {
					if string(got) != "prefix" {
						t.Errorf("legacy %v, event %d: declined but appended %q", legacy, i, got)
					}
					continue
				}
				used++
				if !bytes.Equal(got, want) {
					t.Errorf("legacy %v, event %d:\n got %s\nwant %s", legacy, i, got, want)
				}
			}
		}
		// The events without \u escapes in any form must take the fast path.
		for _, i := range []int{0, 1, 2, 3, 6, 7} {
			var ev events.Message
			enc := hubEncode(evs[i])
			_ = json.Unmarshal(enc, &ev)
			if _, ok := f.AppendEncoded(nil, ev, enc); !ok {
				t.Errorf("legacy %v, event %d: declined %s", legacy, i, enc)
			}
		}
	}
	if used == 0 {
		t.Fatal("the fast path was never taken")
	}
	// Templates, the default line and a context name always decline.
	for _, s := range []string{"", "{{.Action}}"} {
		f, _ := ParseEventsFormat(s)
		if _, ok := f.AppendEncoded(nil, evs[0], hubEncode(evs[0])); ok {
			t.Errorf("format %q took the json fast path", s)
		}
	}
	f, _ := ParseEventsFormat("json")
	if _, ok := f.WithContext("ctx", 3).AppendEncoded(nil, evs[0], hubEncode(evs[0])); ok {
		t.Error("json with a context name took the fast path")
	}
}
