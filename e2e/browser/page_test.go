package browser

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestBrowserLogin: the token URL signs the browser in with a session
// cookie and leaves a clean URL; a wrong token gets the 401 help page; a
// page of another origin cannot open the stream, even in the signed-in
// browser.
func TestBrowserLogin(t *testing.T) {
	t.Parallel()
	env := newDockerEnv(t)
	c := runHelper(t, "login")
	p := env.open()
	ctx := newBrowser(t)
	shootOnFailure(t, ctx)

	do(t, ctx, 60*time.Second, chromedp.Navigate(p.LoginURL()), chromedp.WaitReady(chromedp.CSS("#rows")))
	loc := get(t, ctx, chromedp.Location())
	if loc != p.Base {
		t.Errorf("after the login the address is %q, want %q (the token removed)", loc, p.Base)
	}
	hist, err := chromedp.Call(ctx, page.GetNavigationHistory, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist.Entries {
		if strings.Contains(h.URL, p.Token) {
			t.Errorf("the token stays in the history: %q", h.URL)
		}
	}
	got, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.Base}})
	if err != nil {
		t.Fatal(err)
	}
	cookies := got.Cookies
	var session *network.Cookie
	for _, ck := range cookies {
		if ck.Name == "docker-live-session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatalf("no session cookie; cookies: %v", cookies)
	}
	if !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict || session.Path != "/" || !session.Session || session.Value == p.Token {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, a session cookie, not the token", session)
	}
	waitConn(t, ctx, 30*time.Second, "live")
	waitFor(t, 20*time.Second, "the container's row", func() (bool, string) {
		got := rowStates(ctx)
		return got[c.Name] == "running", fmt.Sprint(got)
	})
	screenshot(t, ctx, "signed-in")

	// A wrong token, in a browser without the cookie: 401 and what to run.
	ctx2 := newBrowser(t)
	do(t, ctx2, 60*time.Second, chromedp.Navigate(p.Base+"?token=0123"), chromedp.WaitReady(chromedp.CSS("body")))
	status := eval[int](t, ctx2, `performance.getEntriesByType("navigation")[0].responseStatus`)
	text := eval[string](t, ctx2, `document.body.innerText`)
	if status != http.StatusUnauthorized || !strings.Contains(text, "docker live open") {
		t.Errorf("wrong token: status %d, page %q; want 401 and the command to run", status, text)
	}
	screenshot(t, ctx2, "wrong-token")

	// Another origin (a page on another loopback port: the same site, so
	// SameSite does not stop the cookie; the Origin check must).
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<!doctype html><title>foreign</title><script>
window.result = "pending";
const ws = new WebSocket("ws://127.0.0.1:`+strconv.Itoa(p.Port)+`/v1/stream");
ws.onopen = () => { window.result = "opened"; };
ws.onclose = (e) => { if (window.result === "pending") window.result = "refused " + e.code; };
</script>`)
	}))
	defer foreign.Close()
	do(t, ctx, 30*time.Second, chromedp.Navigate(foreign.URL))
	waitFor(t, 10*time.Second, "the foreign page's WebSocket to end", func() (bool, string) {
		r, _ := evalErr[string](ctx, `window.result`)
		return strings.HasPrefix(r, "refused") || r == "opened", r
	})
	result := eval[string](t, ctx, `window.result`)
	if result == "opened" {
		t.Errorf("a page of another origin opened the stream")
	}
	// What the browser hides (the status of a refused handshake), a plain
	// client shows: 403 for the foreign Origin, with the token or the cookie.
	for name, hdr := range map[string]http.Header{
		"bearer": {"Authorization": {"Bearer " + p.Token}},
		"cookie": {"Cookie": {"docker-live-session=" + session.Value}},
	} {
		if got := handshake(t, p.Port, hdr, foreign.URL); got != http.StatusForbidden {
			t.Errorf("handshake with %s from %s: %d, want 403", name, foreign.URL, got)
		}
		if got := handshake(t, p.Port, hdr, "http://127.0.0.1:"+strconv.Itoa(p.Port)); got != http.StatusSwitchingProtocols {
			t.Errorf("handshake with %s from the page's own origin: %d, want 101", name, got)
		}
	}
	// A new token ends the old sessions: the open page says so, and the
	// new URL signs the browser in again.
	do(t, ctx, 30*time.Second, chromedp.Navigate(p.Base), chromedp.WaitReady(chromedp.CSS("#rows")))
	waitConn(t, ctx, 30*time.Second, "live")
	env.must("live", "stop")
	matches, _ := filepath.Glob(filepath.Join(env.dir, "live", "*", "token"))
	if len(matches) != 1 {
		t.Fatalf("want one token file, found %v", matches)
	}
	if err := os.Remove(matches[0]); err != nil {
		t.Fatal(err)
	}
	p2 := env.open("--port", strconv.Itoa(p.Port))
	if p2.Token == p.Token {
		t.Fatal("a new token file holds the old token")
	}
	waitConn(t, ctx, 20*time.Second, "signed out")
	screenshot(t, ctx, "signed-out")
	do(t, ctx, 30*time.Second, chromedp.Navigate(p2.LoginURL()), chromedp.WaitReady(chromedp.CSS("#rows")))
	waitConn(t, ctx, 30*time.Second, "live")
}

// handshake sends a WebSocket upgrade request with Origin and returns the
// status.
func handshake(t testing.TB, port int, hdr http.Header, origin string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/v1/stream", nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := io.ReadAtLeast(conn, buf, 12)
	f := strings.Fields(string(buf[:n]))
	if len(f) < 2 {
		return 0
	}
	code, _ := strconv.Atoi(f[1])
	return code
}

// TestBrowserTableFollowsPause: the table lists the test's containers,
// grouped by Compose project with sparklines, and `docker pause` shows
// "paused" in the row within 250 ms of the Engine's event.
func TestBrowserTableFollowsPause(t *testing.T) {
	t.Parallel()
	env := newDockerEnv(t)
	prefix := "tbl"
	c1 := runHelper(t, prefix)
	c2 := runHelper(t, prefix, "cpu", "--share", "0.05")
	p := env.open()
	ctx := newBrowser(t)
	shootOnFailure(t, ctx)
	filter := fmt.Sprintf("dlbr-%s-%s-", runID, prefix)
	do(t, ctx, 60*time.Second, chromedp.Navigate(p.LoginURL()+"&filter="+filter), chromedp.WaitReady(chromedp.CSS("#rows")))
	waitConn(t, ctx, 30*time.Second, "live")
	waitFor(t, 20*time.Second, "both rows running", func() (bool, string) {
		got := rowStates(ctx)
		return got[c1.Name] == "running" && got[c2.Name] == "running" && len(got) == 2, fmt.Sprint(got)
	})
	group := eval[string](t, ctx, `[...document.querySelectorAll("#rows .group")].map(g => g.textContent).join("|")`)
	if !strings.Contains(group, prefix) || !strings.Contains(group, "2 containers") {
		t.Errorf("group rows %q: want the project %s with 2 containers", group, prefix)
	}

	// The time the row shows "paused", in the page's wall clock (the same
	// host's clock as the Engine's timeNano).
	eval[bool](t, ctx, `(() => {
  window.pausedAt = 0;
  const name = `+jsString(c1.Name)+`;
  new MutationObserver(() => {
    const td = document.querySelector('#rows .row[data-name="' + name + '"] .state');
    if (!window.pausedAt && td && td.textContent === "paused") window.pausedAt = performance.timeOrigin + performance.now();
  }).observe(document.getElementById("rows"), {subtree: true, childList: true, characterData: true});
  return true;
})()`)
	since := time.Now().Add(-time.Second)
	docker(t, "pause", c1.ID)
	waitRowState(t, ctx, 10*time.Second, c1.Name, "paused")
	pausedAt := eval[float64](t, ctx, `window.pausedAt`)
	out := docker(t, "events", "--since", strconv.FormatInt(since.Unix(), 10), "--until", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10),
		"--filter", "container="+c1.ID, "--filter", "event=pause", "--format", "{{.TimeNano}}")
	nano, err := strconv.ParseInt(strings.TrimSpace(strings.Split(out, "\n")[0]), 10, 64)
	if err != nil {
		t.Fatalf("no pause event from docker events: %q", out)
	}
	latency := time.Duration(pausedAt*1e6) - time.Duration(nano)
	t.Logf("paused shown %s after the Engine's event", latency.Round(100*time.Microsecond))
	if latency > 250*time.Millisecond || latency < -50*time.Millisecond {
		t.Errorf("the row showed paused %s after the Engine's pause event, want at most 250ms", latency)
	}
	// Sparklines drawn (from the history at once, then each batch).
	waitFor(t, 10*time.Second, "sparklines", func() (bool, string) {
		pts, _ := evalErr[string](ctx, `document.querySelector('#rows .row[data-name="`+c2.Name+`"] polyline.cpu').getAttribute("points")||""`)
		return strings.Count(pts, ",") >= 2, pts
	})
	// The detail pane.
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`#rows .row[data-name="`+c2.Name+`"] .state`)))
	waitFor(t, 5*time.Second, "the detail pane", func() (bool, string) {
		facts, _ := evalErr[string](ctx, `document.getElementById("detail").hidden ? "" : document.getElementById("d-facts").textContent`)
		return strings.Contains(facts, c2.ID) && strings.Contains(facts, imageRef), facts
	})
	screenshot(t, ctx, "table")
	docker(t, "unpause", c1.ID)
	waitRowState(t, ctx, 10*time.Second, c1.Name, "running")
}

func jsString(s string) string {
	return strconv.Quote(s)
}
