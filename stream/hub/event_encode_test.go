package hub

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
)

func encodeTestEvents() []events.Message {
	return []events.Message{
		{Type: events.ContainerEventType, Action: events.ActionStart, Actor: events.Actor{ID: "abc",
			Attributes: map[string]string{"image": "busybox", "name": "web", "z": "1", "a": "2"}},
			Scope: "local", Time: 1764700000, TimeNano: 1764700000123456789},
		{Type: events.NetworkEventType, Action: "connect"},
		{Type: events.ContainerEventType, Action: "exec_start: sh -c \"echo hi\"\n", Actor: events.Actor{ID: "x",
			Attributes: map[string]string{"label": "tab\there", "uni": "ü€ \u2028", "empty": ""}}},
		{Type: events.ContainerEventType, Action: "die", Actor: events.Actor{ID: "y", Attributes: map[string]string{}}},
	}
}

// The event message built around the event's JSON is json.Marshal's, byte
// for byte, for events without HTML characters (which json.Marshal
// escapes and docker events does not), and decodes to the same message
// for those with them.
func TestAppendEventMessageIsMarshalsMessage(t *testing.T) {
	at := time.Date(2026, 12, 2, 23, 0, 0, 120, time.UTC)
	epoch := "ep-1"
	epochJSON, _ := json.Marshal(epoch)
	enc := getEventEncoder()
	defer putEventEncoder(enc)
	evs := append(encodeTestEvents(), events.Message{Type: events.ContainerEventType, Action: "health_status: <bad> & worse",
		Actor: events.Actor{ID: "h", Attributes: map[string]string{"a&b": "<x>"}}})
	for i, ev := range evs {
		payload, err := enc.encode(&ev)
		if err != nil {
			t.Fatal(err)
		}
		got := appendEventMessage(nil, epochJSON, uint64(i+7), at.Add(time.Duration(i)), payload)
		msg := stream.Message{Type: stream.TypeEvent, Epoch: epoch, Seq: uint64(i + 7), Time: at.Add(time.Duration(i)), Event: &ev}
		want, _ := json.Marshal(&msg)
		if !strings.ContainsAny(string(ev.Action)+ev.Actor.Attributes["a&b"], "<>&") {
			if !bytes.Equal(got, want) {
				t.Errorf("event %d:\n got %s\nwant %s", i, got, want)
			}
			continue
		}
		if bytes.Contains(got, []byte(`\u003c`)) {
			t.Errorf("event %d: HTML escaped: %s", i, got)
		}
		var back stream.Message
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, got)
		}
		if !reflect.DeepEqual(*back.Event, ev) || back.Seq != msg.Seq || !back.Time.Equal(msg.Time) || back.Epoch != epoch {
			t.Errorf("event %d decodes to %+v, want %+v", i, back, msg)
		}
	}
}

// A subscriber receives the event as the hub encoded it, with the next seq.
func TestEventFrameCarriesTheEvent(t *testing.T) {
	h := New(Config{})
	sub, err := h.Subscribe(stream.Subscription{Protocol: stream.ProtocolVersion, Topics: []string{stream.TopicEvents}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Unsubscribe(sub)
	frames, _, _ := sub.Take(nil)
	var last uint64
	for _, f := range frames {
		var m stream.Message
		_ = json.Unmarshal(f, &m)
		last = m.Seq
	}
	for i, ev := range encodeTestEvents() {
		h.Event(ev)
		frames, _, _ = sub.Take(frames)
		if len(frames) != 1 {
			t.Fatalf("event %d: %d frames", i, len(frames))
		}
		var m stream.Message
		if err := json.Unmarshal(frames[0], &m); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, frames[0])
		}
		if m.Type != stream.TypeEvent || m.Epoch != h.Epoch() || m.Seq != last+1 || !reflect.DeepEqual(*m.Event, ev) {
			t.Errorf("event %d: got %+v (seq %d after %d)", i, m.Event, m.Seq, last)
		}
		last = m.Seq
	}
}
