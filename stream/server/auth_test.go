//go:build !windows

package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// fakePage stands in for package web's handler: "page" at /, 404 elsewhere.
var fakePage = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	_, _ = io.WriteString(w, "page")
})

// noRedirects is a client that shows redirects rather than follows them.
func noRedirects() *http.Client {
	return &http.Client{
		Timeout:       5 * time.Second,
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func get(t *testing.T, u string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := noRedirects().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestLoginSetsSessionCookieAndRedirectsWithoutToken(t *testing.T) {
	leakCheck(t)
	ts := startServer(t, hub.New(hub.Config{}), Config{Token: []byte(testToken), Page: fakePage})
	resp, _ := get(t, "http://"+ts.addr+"/?token="+testToken+"&x=1", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s, want 303", resp.Status)
	}
	if loc := resp.Header.Get("Location"); loc != "/?x=1" {
		t.Errorf("redirect to %q, want /?x=1 (the same URL without the token)", loc)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v, want one", cookies)
	}
	c := cookies[0]
	if c.Name != SessionCookie || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Errorf("cookie %+v: want %s, HttpOnly, SameSite=Strict, Path=/, a session cookie", c, SessionCookie)
	}
	if c.Value == "" || strings.Contains(c.Value, testToken) {
		t.Errorf("cookie value %q: want a value derived from the token, not the token", c.Value)
	}
	withCookie := http.Header{"Cookie": {c.Name + "=" + c.Value}}

	resp, body := get(t, "http://"+ts.addr+"/", withCookie)
	if resp.StatusCode != http.StatusOK || body != "page" {
		t.Errorf("page with the cookie: %s %q, want 200 page", resp.Status, body)
	}
	resp, _ = get(t, "http://"+ts.addr+stream.SnapshotPath, withCookie)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("snapshot with the cookie: %s, want 200", resp.Status)
	}
	// The page's own origin needs no --allow-origin.
	hdr := withCookie.Clone()
	hdr.Set("Origin", "http://"+ts.addr)
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+ts.addr+stream.StreamPath, hdr)
	if err != nil {
		t.Fatalf("stream with the cookie from the page's origin: %v (%s)", err, statusOf(resp))
	}
	subscribeAndGreet(t, ws, stream.Subscription{})
	ws.Close()

	// A cookie is no bearer token, and a token is no cookie.
	resp, _ = get(t, "http://"+ts.addr+stream.SnapshotPath, http.Header{"Authorization": {"Bearer " + c.Value}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the cookie value as a bearer token: %s, want 401", resp.Status)
	}
	resp, _ = get(t, "http://"+ts.addr+stream.SnapshotPath, http.Header{"Cookie": {SessionCookie + "=" + testToken}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the token as the cookie: %s, want 401", resp.Status)
	}
	// Another streamer (another token) does not honour this session.
	if sessionValue([]byte("another token")) == c.Value {
		t.Error("two tokens give the same session")
	}
	if log := ts.log.String(); strings.Contains(log, testToken) || strings.Contains(log, c.Value) {
		t.Errorf("a token or session was logged:\n%s", log)
	}
}

func TestAPIWithQueryTokenIsNotRedirected(t *testing.T) {
	leakCheck(t)
	ts := startServer(t, hub.New(hub.Config{}), Config{Token: []byte(testToken), Page: fakePage})
	resp, _ := get(t, "http://"+ts.addr+stream.SnapshotPath+"?token="+testToken, nil)
	if resp.StatusCode != http.StatusOK || len(resp.Cookies()) != 0 {
		t.Errorf("snapshot with ?token=: %s, cookies %v; want 200 and no cookie", resp.Status, resp.Cookies())
	}
}

func TestUnauthorizedPageSaysWhatToRun(t *testing.T) {
	leakCheck(t)
	ts := startServer(t, hub.New(hub.Config{}), Config{Token: []byte(testToken), Page: fakePage})
	for name, u := range map[string]string{
		"no token":      "/",
		"wrong token":   "/?token=nope",
		"asset":         "/app.js",
		"wrong session": "/",
	} {
		t.Run(name, func(t *testing.T) {
			var hdr http.Header
			if name == "wrong session" {
				hdr = http.Header{"Cookie": {SessionCookie + "=" + sessionValue([]byte("old token"))}}
			}
			resp, body := get(t, "http://"+ts.addr+u, hdr)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s: %s, want 401", u, resp.Status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q, want text/html", ct)
			}
			if !strings.Contains(body, "docker live open") || strings.Contains(body, "page") && !strings.Contains(body, "this page") {
				t.Errorf("body does not say what to run:\n%s", body)
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("cookie set on a refusal: %v", resp.Cookies())
			}
		})
	}
	// The API keeps its plain-text answers.
	resp, body := get(t, "http://"+ts.addr+stream.HealthPath, nil)
	if resp.StatusCode != http.StatusUnauthorized || strings.TrimSpace(body) != "token required" {
		t.Errorf("health without a token: %s %q, want 401 token required", resp.Status, body)
	}
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	leakCheck(t)
	ts := startServer(t, hub.New(hub.Config{}), Config{Token: []byte(testToken), Page: fakePage})
	bearer := http.Header{"Authorization": {"Bearer " + testToken}}
	for _, c := range []struct {
		path string
		hdr  http.Header
	}{{"/", bearer}, {"/", nil}, {stream.SnapshotPath, bearer}, {stream.HealthPath, nil}} {
		resp, _ := get(t, "http://"+ts.addr+c.path, c.hdr)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'",
			"connect-src 'self' ws://" + ts.addr + ";", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s (%s): CSP %q lacks %q", c.path, resp.Status, csp, want)
			}
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", c.path, got)
		}
		if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy %q", c.path, got)
		}
	}
	// A Host that could add directives is left out of the policy.
	h := http.Header{}
	setSecurityHeaders(h, "x; script-src *")
	if csp := h.Get("Content-Security-Policy"); strings.Contains(csp, "*") || !strings.Contains(csp, "connect-src 'self';") {
		t.Errorf("CSP with a hostile Host: %q", csp)
	}
}

func TestOwnOriginOnlyOnTCPAndOnlyItsOwn(t *testing.T) {
	leakCheck(t)
	ts := startServer(t, hub.New(hub.Config{}), Config{Token: []byte(testToken), Page: fakePage})
	_, port, _ := net.SplitHostPort(ts.addr)
	bearer := "Bearer " + testToken
	for _, c := range []struct {
		name, host, origin string
		want               int
	}{
		{"own origin", ts.addr, "http://" + ts.addr, http.StatusSwitchingProtocols},
		{"own origin by name", "localhost:" + port, "http://localhost:" + port, http.StatusSwitchingProtocols},
		{"other port", ts.addr, "http://127.0.0.1:1", http.StatusForbidden},
		{"https", ts.addr, "https://" + ts.addr, http.StatusForbidden},
		{"name for the address", ts.addr, "http://localhost:" + port, http.StatusForbidden},
		{"foreign", ts.addr, "http://evil.example", http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := http.Header{"Authorization": {bearer}, "Origin": {c.origin}, "Host": {c.host}}
			ws, resp, err := websocket.DefaultDialer.Dial("ws://"+ts.addr+stream.StreamPath, hdr)
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != c.want {
				t.Errorf("status %s, want %d", resp.Status, c.want)
			}
			if ws != nil {
				ws.Close()
			}
		})
	}
	// On the Unix socket the Host is free text: no origin is "its own".
	_, resp, err := unixDialer(ts.path).Dial("ws://docker-live"+stream.StreamPath, http.Header{"Origin": {"http://docker-live"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("Unix socket with Origin = its Host: %v (%s), want 403", err, statusOf(resp))
	}
}

func postListen(t *testing.T, ts *testServer, addr string) (ListenReply, *http.Response) {
	t.Helper()
	body, _ := json.Marshal(ListenRequest{Addr: addr})
	resp, err := unixHTTP(ts.path).Post("http://docker-live"+ListenPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r ListenReply
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &r)
	return r, resp
}

func TestListenAddsTCPWithoutDroppingClients(t *testing.T) {
	leakCheck(t)
	h := hub.New(hub.Config{})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); h.Run(stop) }()
	t.Cleanup(func() { close(stop); <-done })
	loads := 0
	var told []string
	ts := startServer(t, h, Config{Page: fakePage,
		LoadToken: func() ([]byte, error) { loads++; return []byte(testToken), nil },
		OnListen:  func(addr string) { told = append(told, addr) },
	})
	if ts.addr != "" {
		t.Fatal("the test server should start without TCP")
	}
	// A client on the socket before the listener is added.
	ws := ts.dial(t, nil)
	subscribeAndGreet(t, ws, stream.Subscription{Topics: []string{stream.TopicContainers}})

	r, resp := postListen(t, ts, "127.0.0.1:0")
	if resp.StatusCode != http.StatusOK || !r.Added || r.Listen == "" || r.TLS {
		t.Fatalf("listen: %s %+v, want a plain listener added", resp.Status, r)
	}
	if len(told) != 1 || told[0] != r.Listen || loads != 1 {
		t.Errorf("OnListen told %v, LoadToken called %d times; want [%s] and 1", told, loads, r.Listen)
	}
	// The old client still gets what happens.
	h.Upsert(stream.Container{ID: "c1", Name: "web", State: "running"})
	if m := read(t, ws); m.Type != stream.TypeContainer || m.Container.ID != "c1" {
		t.Errorf("after the listener was added the socket's client got %+v", m)
	}
	// The new listener serves the page and the stream, with the token.
	resp2, body := get(t, "http://"+r.Listen+"/", http.Header{"Authorization": {"Bearer " + testToken}})
	if resp2.StatusCode != http.StatusOK || body != "page" {
		t.Errorf("page on the added listener: %s %q", resp2.Status, body)
	}
	resp2, _ = get(t, "http://"+r.Listen+"/", nil)
	if resp2.StatusCode != http.StatusUnauthorized {
		t.Errorf("page without the token on the added listener: %s, want 401", resp2.Status)
	}
	// Asking again reuses it.
	again, _ := postListen(t, ts, "127.0.0.1:0")
	if again.Added || again.Listen != r.Listen {
		t.Errorf("second listen: %+v, want %s reused", again, r.Listen)
	}
	// The control request is not served on TCP, even with the token.
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.Listen+ListenPath, strings.NewReader(`{"addr":"127.0.0.1:0"}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp3, err := noRedirects().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp3.Body.Close()
	if resp3.StatusCode != http.StatusNotFound {
		t.Errorf("POST %s over TCP: %s, want 404", ListenPath, resp3.Status)
	}
	// Only loopback, and well-formed.
	for _, bad := range []string{"0.0.0.0:0", "10.1.2.3:0", "nonsense"} {
		if r, resp := postListen(t, ts, bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("listen %q: %s %+v, want 400", bad, resp.Status, r)
		}
	}
	resp4, err := unixHTTP(ts.path).Get("http://docker-live" + ListenPath)
	if err != nil {
		t.Fatal(err)
	}
	resp4.Body.Close()
	if resp4.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %s, want 405", ListenPath, resp4.Status)
	}
	u, _ := url.Parse("http://" + r.Listen)
	if u.Port() == "0" {
		t.Errorf("listen reported port 0")
	}
}

func TestListenWithoutTokenSourceIsRefused(t *testing.T) {
	leakCheck(t)
	ts := startServer(t, hub.New(hub.Config{}), Config{})
	r, resp := postListen(t, ts, "127.0.0.1:0")
	if resp.StatusCode != http.StatusBadRequest || r.Listen != "" {
		t.Errorf("listen without a token source: %s %+v, want 400", resp.Status, r)
	}
}
