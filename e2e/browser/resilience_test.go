package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// gate is a TCP forwarder the test can close: closed, it cuts every
// connection through it and refuses new ones, so that the page is held
// away from its streamer for as long as the test wants.
type gate struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	open   bool
	conns  map[net.Conn]struct{}
}

func newGate(t testing.TB, target string) *gate {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{l: l, target: target, open: true, conns: map[net.Conn]struct{}{}}
	go g.serve()
	t.Cleanup(func() {
		l.Close()
		g.set(false)
	})
	return g
}

func (g *gate) addr() string { return g.l.Addr().String() }

func (g *gate) serve() {
	for {
		c, err := g.l.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		open := g.open
		g.mu.Unlock()
		if !open {
			c.Close()
			continue
		}
		go g.forward(c)
	}
}

func (g *gate) forward(c net.Conn) {
	up, err := net.DialTimeout("tcp", g.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	g.mu.Lock()
	g.conns[c], g.conns[up] = struct{}{}, struct{}{}
	g.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	g.mu.Lock()
	delete(g.conns, c)
	delete(g.conns, up)
	g.mu.Unlock()
}

// set opens or closes the gate; closing cuts what goes through it.
func (g *gate) set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = open
	if !open {
		for c := range g.conns {
			c.Close()
		}
	}
}

// paneEvent is one event as the page's events pane holds it.
type paneEvent struct {
	Key      string `json:"key"`
	ID       string `json:"id"`
	Action   string `json:"action"`
	TimeNano string `json:"timeNano"`
}

func paneEvents(t testing.TB, ctx context.Context) []paneEvent {
	t.Helper()
	js := `JSON.stringify(window.dockerLive.model.events.map(i => ({key: i.key, id: (i.ev.Actor||{}).ID||"", action: i.ev.Action||"", timeNano: String(i.ev.timeNano||"")})))`
	s, err := evalErr[string](ctx, js)
	if err != nil {
		return nil
	}
	var out []paneEvent
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

// TestBrowserStreamerKill: the streamer is killed with SIGKILL; the page
// says reconnecting, then live again once a new streamer runs. Events the
// page saw before, and events made while it was away (after the new
// streamer started, before the page got back to it), are each in the
// events pane exactly once.
func TestBrowserStreamerKill(t *testing.T) {
	t.Parallel()
	env := newDockerEnv(t)
	c1 := runHelper(t, "kill")
	c2 := runHelper(t, "kill")
	p := env.open()
	g := newGate(t, "127.0.0.1:"+strconv.Itoa(p.Port))
	ctx := newBrowser(t)
	shootOnFailure(t, ctx)
	do(t, ctx, 60*time.Second, chromedp.Navigate("http://"+g.addr()+"/?token="+p.Token+"&filter="+url.QueryEscape(fmt.Sprintf("dlbr-%s-kill-", runID))),
		chromedp.WaitReady(chromedp.CSS("#rows")))
	waitConn(t, ctx, 30*time.Second, "live")
	waitFor(t, 20*time.Second, "both rows running", func() (bool, string) {
		got := rowStates(ctx)
		return got[c1.Name] == "running" && got[c2.Name] == "running", fmt.Sprint(got)
	})

	start := time.Now()
	docker(t, "pause", c1.ID)
	docker(t, "unpause", c1.ID)
	ours := map[string]bool{c1.ID: true, c2.ID: true}
	has := func(id, action string) bool {
		for _, e := range paneEvents(t, ctx) {
			if e.ID == id && e.Action == action {
				return true
			}
		}
		return false
	}
	waitFor(t, 10*time.Second, "the first events in the pane", func() (bool, string) {
		return has(c1.ID, "pause") && has(c1.ID, "unpause"), ""
	})

	// Hold the page away, then kill the streamer.
	g.set(false)
	if err := syscall.Kill(env.streamerPID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitConn(t, ctx, 10*time.Second, "reconnecting (attempt")
	screenshot(t, ctx, "reconnecting")

	// A new streamer on the same port; events while the page is away.
	p2 := env.open("--port", strconv.Itoa(p.Port))
	if p2.Port != p.Port || p2.Token != p.Token {
		t.Fatalf("the new streamer serves %s with another token or port, want %s", p2.Base, p.Base)
	}
	docker(t, "pause", c2.ID)
	docker(t, "unpause", c2.ID)
	if !strings.HasPrefix(connText(ctx), "reconnecting") {
		t.Fatalf("the page is not away while the events are made: %q", connText(ctx))
	}
	g.set(true)
	// The backoff is at most 5 s (jittered in its upper half).
	waitConn(t, ctx, 20*time.Second, "live")
	waitFor(t, 10*time.Second, "the events made while away", func() (bool, string) {
		return has(c2.ID, "pause") && has(c2.ID, "unpause"), ""
	})
	end := time.Now()

	out := docker(t, "events", "--since", strconv.FormatInt(start.Add(-time.Second).Unix(), 10), "--until", strconv.FormatInt(end.Add(time.Second).Unix(), 10),
		"--filter", "label="+testLabel(t), "--format", "{{json .}}")
	// Keyed by container and action (each is made once in the window);
	// the time is compared apart: JavaScript reads timeNano as a double,
	// exact to about 256 ns at today's magnitude.
	want := map[string]int64{}
	for _, line := range strings.Split(out, "\n") {
		var ev struct {
			Action   string `json:"Action"`
			Actor    struct{ ID string }
			TimeNano int64 `json:"timeNano"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || !ours[ev.Actor.ID] || ev.TimeNano < start.UnixNano() {
			continue
		}
		want[ev.Actor.ID[:12]+" "+ev.Action] = ev.TimeNano
	}
	if len(want) < 4 {
		t.Fatalf("docker events gave %d events of this test, want at least the 4 it made:\n%s", len(want), out)
	}
	seenKeys := map[string]bool{}
	got := map[string]int{}
	gotNano := map[string]float64{}
	for _, e := range paneEvents(t, ctx) {
		if seenKeys[e.Key] {
			t.Errorf("event %s twice in the pane", e.Key)
		}
		seenKeys[e.Key] = true
		if ours[e.ID] {
			k := e.ID[:12] + " " + e.Action
			got[k]++
			gotNano[k], _ = strconv.ParseFloat(e.TimeNano, 64)
		}
	}
	for k, nano := range want {
		switch got[k] {
		case 1:
			if d := gotNano[k] - float64(nano); d > 1000 || d < -1000 {
				t.Errorf("%s: the pane's event is at %.0f, docker events' at %d", k, gotNano[k], nano)
			}
		case 0:
			t.Errorf("missing from the events pane: %s", k)
		default:
			t.Errorf("shown %d times in the events pane: %s", got[k], k)
		}
	}
	dom := eval[int](t, ctx, `new Set([...document.querySelectorAll("#ev-list li")].map(li => li.dataset.key)).size === document.querySelectorAll("#ev-list li").length ? 1 : 0`)
	if dom != 1 {
		t.Error("the events list shows an event twice")
	}
	screenshot(t, ctx, "live-again")
}

// TestBrowserPollingFallback: behind a proxy that refuses WebSocket
// upgrades the page says polling and its rows still follow docker pause;
// once the proxy lets upgrades through, it goes back to live by itself.
func TestBrowserPollingFallback(t *testing.T) {
	t.Parallel()
	env := newDockerEnv(t)
	c1 := runHelper(t, "poll")
	p := env.open()
	target, _ := url.Parse(p.Base)
	rp := httputil.NewSingleHostReverseProxy(target)
	var refuse atomic.Bool
	refuse.Store(true)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "this proxy refuses upgrades", http.StatusForbidden)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	ctx := newBrowser(t)
	shootOnFailure(t, ctx)
	do(t, ctx, 60*time.Second, chromedp.Navigate(proxy.URL+"/?token="+p.Token+"&filter="+url.QueryEscape(fmt.Sprintf("dlbr-%s-poll-", runID))),
		chromedp.WaitReady(chromedp.CSS("#rows")))
	waitConn(t, ctx, 20*time.Second, "polling")
	waitRowState(t, ctx, 10*time.Second, c1.Name, "running")
	waitFor(t, 10*time.Second, "the header to name the context while polling", func() (bool, string) {
		s, _ := evalErr[string](ctx, `document.getElementById("context").textContent`)
		return s == "default", s
	})
	docker(t, "pause", c1.ID)
	waitRowState(t, ctx, 10*time.Second, c1.Name, "paused")
	screenshot(t, ctx, "polling")
	docker(t, "unpause", c1.ID)
	waitRowState(t, ctx, 10*time.Second, c1.Name, "running")
	if s := connText(ctx); s != "polling" {
		t.Errorf("indicator %q while the proxy refuses upgrades, want polling", s)
	}

	refuse.Store(false)
	waitConn(t, ctx, 20*time.Second, "live")
	docker(t, "pause", c1.ID)
	waitRowState(t, ctx, 10*time.Second, c1.Name, "paused")
}
