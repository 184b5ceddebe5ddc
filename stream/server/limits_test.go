//go:build !windows

package server

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// fakeClock is an injectable clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// rawGet sends a request line as given (no client-side cleaning) and
// returns the status code.
func rawGet(t *testing.T, addr, target string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %.60s...: %v", target, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Refused requests are logged quoted and cut, without a query string or a
// ;parameter, and at most once a second with a count of those left out:
// an unauthenticated client can neither fill the disk nor forge a line.
func TestRefusalLogIsQuotedCutAndRateLimited(t *testing.T) {
	leakCheck(t)
	clock := &fakeClock{now: time.Unix(1700000000, 0)}
	ts := startServer(t, hub.New(hub.Config{}), Config{Token: []byte(testToken), Now: clock.Now})
	lines := func() []string {
		ts.log.mu.Lock()
		defer ts.log.mu.Unlock()
		var out []string
		for _, l := range ts.log.lines {
			if strings.HasPrefix(l, "refused ") {
				out = append(out, l)
			}
		}
		return out
	}

	// A newline and an escape in the path forge nothing.
	if code := rawGet(t, ts.addr, "/v1/health%0A2026/01/01%2000:00:00%20streamer%20ready%1B[2J"); code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", code)
	}
	got := lines()
	if len(got) != 1 {
		t.Fatalf("%d refusal lines, want 1: %q", len(got), got)
	}
	if strings.ContainsAny(got[0], "\n\r\x1b") || !strings.Contains(got[0], `"/v1/health\n2026/01/01 00:00:00 streamer ready\x1b[2J"`) {
		t.Errorf("refusal line %q: want the path quoted, its newline and escape shown as \\n and \\x1b", got[0])
	}

	// A 1 MB path is cut to 200 bytes.
	clock.Add(time.Second)
	if code := rawGet(t, ts.addr, "/"+strings.Repeat("A", 1000_000)); code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", code)
	}
	got = lines()
	if len(got) != 2 || len(got[1]) > 300 {
		t.Fatalf("after a 1 MB path: %d lines, the last %d bytes, want 2 lines, the last under 300 bytes", len(got), len(got[len(got)-1]))
	}

	// Neither the query nor a ;parameter is logged (a token may be there).
	clock.Add(time.Second)
	rawGet(t, ts.addr, "/v1/stream;token=LEAKED-PARAM?token=LEAKED-QUERY")
	clock.Add(time.Second)
	rawGet(t, ts.addr, "/v1/stream%3Btoken=LEAKED-ESCAPED")
	for _, l := range lines() {
		if strings.Contains(l, "LEAKED") {
			t.Errorf("a token-like parameter was logged: %q", l)
		}
	}
	if n := len(lines()); n != 4 {
		t.Fatalf("%d lines, want 4", n)
	}

	// A flood within one second logs nothing more; the next line counts it.
	for range 25 {
		rawGet(t, ts.addr, "/flood")
	}
	if n := len(lines()); n != 4 {
		t.Errorf("25 refusals within a second logged %d more lines, want none", n-4)
	}
	clock.Add(time.Second)
	rawGet(t, ts.addr, "/after")
	got = lines()
	if len(got) != 5 || !strings.Contains(got[4], "(25 more refused since the last line)") {
		t.Errorf("the line after a flood: %q, want it to count 25 suppressed", got[len(got)-1])
	}
}

// Beyond the connection cap, a WebSocket handshake is closed with 1013 and
// a plain request gets 503; a freed place serves again.
func TestConnectionCap(t *testing.T) {
	leakCheck(t)
	ts := startServer(t, hub.New(hub.Config{}), Config{MaxConns: 2})
	a := ts.dial(t, nil)
	subscribeAndGreet(t, a, stream.Subscription{})
	b := ts.dial(t, nil)
	subscribeAndGreet(t, b, stream.Subscription{})

	over := ts.dial(t, nil)
	expectClose(t, over, stream.CloseTryAgainLater)

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext:       unixDialer(ts.path).NetDialContext,
	}}
	resp, err := client.Get("http://docker-live" + stream.HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("health beyond the cap: %s, want 503", resp.Status)
	}

	a.Close()
	// The server learns of the close asynchronously: wait for the place.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("http://docker-live" + stream.HealthPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the freed place was not given back within 10 s: %v %v", err, statusOf(resp))
		}
		time.Sleep(20 * time.Millisecond) // poll interval for the close to arrive
	}
	if !strings.Contains(ts.log.String(), "too many connections") {
		t.Errorf("the refusals beyond the cap were not logged:\n%s", ts.log.String())
	}
}
