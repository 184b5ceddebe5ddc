package liveclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
)

func TestHearingReportsStaleOnceAndRecovers(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	h := newHearing(clock)
	now = now.Add(10 * time.Second)
	if _, ok := h.check(3 * time.Second); ok {
		t.Fatal("stale before the hello: a connection attempt is not a frozen streamer")
	}
	h.setLive()
	h.heard()
	now = now.Add(2999 * time.Millisecond)
	if _, ok := h.check(3 * time.Second); ok {
		t.Fatal("stale before 3 s of silence")
	}
	heardAt := now.Add(-2999 * time.Millisecond)
	now = now.Add(time.Millisecond)
	st, ok := h.check(3 * time.Second)
	if !ok || !st.Stale || st.Mode != ModeLive || !st.LastHeard.Equal(heardAt) {
		t.Fatalf("check after 3 s = %+v, %v; want stale, last heard %s", st, ok, heardAt)
	}
	now = now.Add(5 * time.Second)
	if _, ok := h.check(3 * time.Second); ok {
		t.Fatal("stale reported twice for one silence")
	}
	if !h.heard() {
		t.Fatal("heard after a stale report must say so, to report live again")
	}
	if h.heard() {
		t.Fatal("live reported twice")
	}
}

// A streamer that stops answering (SIGSTOP) turns the state stale after
// StaleAfter, and the connection is dropped and retried after GiveUpAfter.
func TestSilentStreamerTurnsStaleThenReconnects(t *testing.T) {
	leakCheck(t)
	release := make(chan struct{})
	f := startFake(t, func(n int, ws *websocket.Conn, _ stream.Subscription) {
		_ = ws.WriteJSON(stream.Message{Type: stream.TypeHello, Epoch: "e", Hello: &stream.Hello{Protocol: 1}})
		_ = ws.WriteJSON(stream.Message{Type: stream.TypeSnapshot, Epoch: "e", Snapshot: &stream.Snapshot{}})
		if n == 1 {
			// Frozen: neither reads (so pings go unanswered) nor writes.
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
			return
		}
		for { // alive: reading answers the client's pings
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	})
	defer close(release)
	var mu sync.Mutex
	var states []State
	stateCh := make(chan State, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- Run(ctx, Options{
			Dial:        unixDial(f.path),
			StaleAfter:  300 * time.Millisecond,
			GiveUpAfter: 1500 * time.Millisecond,
			MinBackoff:  10 * time.Millisecond,
			OnState: func(s State) {
				mu.Lock()
				states = append(states, s)
				mu.Unlock()
				stateCh <- s
			},
		}, func(*stream.Message) error { return nil })
	}()
	wait := func(desc string, cond func(State) bool) time.Duration {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case s := <-stateCh:
				if cond(s) {
					return time.Since(start)
				}
			case <-deadline:
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("no %s; states: %+v", desc, states)
			}
		}
	}
	wait("first live", func(s State) bool { return s.Mode == ModeLive && !s.Stale })
	staleAt := wait("stale", func(s State) bool { return s.Stale })
	if staleAt < 300*time.Millisecond {
		t.Errorf("stale after %s, before StaleAfter", staleAt)
	}
	reconnAt := wait("reconnecting after the silence", func(s State) bool { return s.Mode == ModeReconnecting })
	if reconnAt < 1500*time.Millisecond {
		t.Errorf("gave up after %s, before GiveUpAfter", reconnAt)
	}
	wait("live again on the second connection", func(s State) bool { return s.Mode == ModeLive && !s.Stale })
	// The second streamer answers pings: it must not go stale although it sends nothing.
	select {
	case s := <-stateCh:
		if s.Stale {
			t.Errorf("an answering streamer reported stale: %+v", s)
		}
	case <-time.After(time.Second): // three StaleAfter periods of quiet: what is tested
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The watch pings only after a silence: a streamer heard within each ping
// period is never pinged, one silent for a period is, again every period
// while it stays silent, and the watch never sleeps past the moments the
// state turns stale or the connection is given up.
func TestPlanSilencePingsOnlyAfterASilence(t *testing.T) {
	const ping, stale, giveUp = time.Second, 3 * time.Second, 9 * time.Second
	cases := []struct {
		silent time.Duration
		want   silencePlan
	}{
		{0, silencePlan{next: ping}},
		{300 * time.Millisecond, silencePlan{next: 700 * time.Millisecond}},
		{999 * time.Millisecond, silencePlan{next: time.Millisecond}},
		{ping, silencePlan{ping: true, next: ping}},
		{2500 * time.Millisecond, silencePlan{ping: true, next: 500 * time.Millisecond}},
		{stale, silencePlan{ping: true, next: ping}},
		{8500 * time.Millisecond, silencePlan{ping: true, next: 500 * time.Millisecond}},
		{giveUp, silencePlan{giveUp: true}},
		{time.Minute, silencePlan{giveUp: true}},
	}
	for _, c := range cases {
		if got := planSilence(c.silent, ping, stale, giveUp); got != c.want {
			t.Errorf("planSilence(%s) = %+v, want %+v", c.silent, got, c.want)
		}
	}
}

// Driven by a fake clock: a stream whose frames come every 200 ms is
// never pinged however long it runs, and is never reported stale; when it
// stops, the first ping follows one ping period after its last frame.
func TestFlowingStreamIsNotPinged(t *testing.T) {
	const ping, stale, giveUp = time.Second, 3 * time.Second, 9 * time.Second
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	h := newHearing(func() time.Time { return now })
	h.setLive()
	nextWake := now.Add(ping)
	pings := 0
	var lastFrame time.Time
	for step := 0; step < 600; step++ { // 60 s in 100 ms steps
		now = now.Add(100 * time.Millisecond)
		if step < 300 && step%2 == 0 {
			h.heard()
			lastFrame = now
		}
		if now.Before(nextWake) {
			continue
		}
		if _, ok := h.check(stale); ok && step < 300 {
			t.Fatalf("reported stale at %s while frames flow", now)
		}
		p := planSilence(h.silence(), ping, stale, giveUp)
		if p.giveUp {
			if got := now.Sub(lastFrame); got < giveUp {
				t.Fatalf("gave up after %s of silence", got)
			}
			break
		}
		if p.ping {
			if step < 300 {
				t.Fatalf("pinged at step %d while frames flow", step)
			}
			if pings == 0 {
				if got := now.Sub(lastFrame); got != ping {
					t.Errorf("first ping %s after the last frame, want %s", got, ping)
				}
			}
			pings++
		}
		nextWake = now.Add(p.next)
	}
	if pings == 0 {
		t.Fatal("a silent streamer was never pinged")
	}
}

func TestEventJSONFindsTheEvent(t *testing.T) {
	ev := events.Message{Type: events.ContainerEventType, Action: "start", Actor: events.Actor{ID: "c1",
		Attributes: map[string]string{"event": `,"event":{}`, "x": "}"}}, TimeNano: 5}
	frame, err := json.Marshal(stream.Message{Type: stream.TypeEvent, Epoch: `e,"event":`, Seq: 3, Time: time.Now(), Event: &ev})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(ev)
	if got := EventJSON(frame); !bytes.Equal(got, want) {
		t.Errorf("EventJSON = %s, want %s", got, want)
	}
	for _, bad := range []string{`{"type":"hello","hello":{}}`, `{"type":"event","event":null}`, `,"event":}`, `{"type":"event","event":{}} `} {
		if got := EventJSON([]byte(bad)); got != nil {
			t.Errorf("EventJSON(%s) = %s, want nil", bad, got)
		}
	}
}

// Frames are read into a reused buffer: a message over the kept size (a
// big snapshot) and the small ones around it each arrive whole, and the
// handler's frame is the message's own JSON.
func TestFramesOfEverySizeArriveWhole(t *testing.T) {
	leakCheck(t)
	big := strings.Repeat("x", maxKeptFrameBuffer+1000)
	f := startFake(t, func(n int, ws *websocket.Conn, _ stream.Subscription) {
		_ = ws.WriteJSON(stream.Message{Type: stream.TypeHello, Epoch: "e", Hello: &stream.Hello{Protocol: 1}})
		_ = ws.WriteJSON(stream.Message{Type: stream.TypeSnapshot, Epoch: "e", Seq: 1, Snapshot: &stream.Snapshot{
			Containers: []stream.Container{{ID: "c1", Name: big}}}})
		for i := 2; i <= 4; i++ {
			_ = ws.WriteJSON(stream.Message{Type: stream.TypeEvent, Epoch: "e", Seq: uint64(i),
				Event: &events.Message{Action: events.Action(fmt.Sprint("a", i))}})
		}
		_, _, _ = ws.ReadMessage()
	})
	var got []string
	err := RunFrames(context.Background(), Options{Dial: unixDial(f.path)}, func(m *stream.Message, frame []byte) error {
		var again stream.Message
		if err := json.Unmarshal(frame, &again); err != nil || again.Type != m.Type || again.Seq != m.Seq {
			t.Errorf("frame of %s %d is not its message: %v", m.Type, m.Seq, err)
		}
		switch m.Type {
		case stream.TypeSnapshot:
			if len(m.Snapshot.Containers) != 1 || m.Snapshot.Containers[0].Name != big {
				t.Errorf("snapshot cut or garbled")
			}
			got = append(got, "snapshot")
		case stream.TypeEvent:
			got = append(got, string(m.Event.Action))
			if m.Seq == 4 {
				return ErrStop
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "snapshot a2 a3 a4"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
}
