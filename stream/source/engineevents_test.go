package source

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
)

func TestEngineTimestamp(t *testing.T) {
	cases := []struct {
		t    time.Time
		want string
	}{
		{time.Unix(0, 0), "0.000000000"},
		{time.Unix(1700000000, 5), "1700000000.000000005"},
		{time.Unix(1700000000, 123456789), "1700000000.123456789"},
		{time.Unix(-5, 0), "0.000000000"},
		{time.Date(5000, 1, 1, 0, 0, 0, 0, time.UTC), "95617584000.000000000"}, // past what UnixNano holds
	}
	for _, tc := range cases {
		if got := EngineTimestamp(tc.t); got != tc.want {
			t.Errorf("EngineTimestamp(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestIdentifyEvent(t *testing.T) {
	a := events.Message{TimeNano: 10, Type: events.ContainerEventType, Action: events.ActionStart, Actor: events.Actor{ID: "c1", Attributes: map[string]string{"name": "web"}}}
	same := a
	same.Actor.Attributes = map[string]string{"name": "renamed"} // attributes do not identify
	if IdentifyEvent(a) != IdentifyEvent(same) {
		t.Error("the same event got two identities")
	}
	for _, other := range []events.Message{
		{TimeNano: 11, Type: a.Type, Action: a.Action, Actor: a.Actor},
		{TimeNano: 10, Type: events.NetworkEventType, Action: a.Action, Actor: a.Actor},
		{TimeNano: 10, Type: a.Type, Action: events.ActionDie, Actor: a.Actor},
		{TimeNano: 10, Type: a.Type, Action: a.Action, Actor: events.Actor{ID: "c2"}},
	} {
		if IdentifyEvent(other) == IdentifyEvent(a) {
			t.Errorf("%+v shares the identity of %+v", other, a)
		}
	}
}
