package browser

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserDocsScreenshot takes the README's screenshot: a few
// containers in three Compose projects, some busy, one paused, one
// exited, the detail pane open. Set DOCKER_LIVE_DOCS_SHOT to the PNG's
// path (docs/browser.png) to run it.
func TestBrowserDocsScreenshot(t *testing.T) {
	out := os.Getenv("DOCKER_LIVE_DOCS_SHOT")
	if out == "" {
		t.Skip("set DOCKER_LIVE_DOCS_SHOT=path.png to take the README's screenshot")
	}
	env := newDockerEnv(t)
	runHelper(t, "shop", "cpu", "--share", "0.3")
	runHelper(t, "shop", "mem", "--mb", "24")
	web := runHelper(t, "shop", "cpu", "--share", "0.1")
	idle := runHelper(t, "shop")
	runHelper(t, "billing", "cpu", "--share", "0.05")
	paused := runHelper(t, "billing")
	docker(t, "pause", paused.ID)
	runHelper(t, "metrics", "cpu", "--share", "0.15")
	runHelper(t, "metrics", "exit", "--code", "3")
	p := env.open()
	ctx := newBrowser(t)
	do(t, ctx, 60*time.Second, chromedp.EmulateViewport(1600, 900), chromedp.Navigate(p.LoginURL()+"&all=1&filter="+fmt.Sprintf("dlbr-%s-", runID)), chromedp.WaitReady(chromedp.CSS("#rows")))
	waitConn(t, ctx, 30*time.Second, "live")
	// A few events for the events pane, which shows what happens while the
	// page is open.
	docker(t, "pause", idle.ID)
	docker(t, "unpause", idle.ID)
	docker(t, "restart", "-t", "1", idle.ID)
	// A minute of samples, so that the sparklines have a shape.
	time.Sleep(60 * time.Second) // the screenshot needs history to draw, not a condition
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`#rows .row[data-name="`+web.Name+`"] .state`)))
	time.Sleep(2 * time.Second) // the row's entrance animation ends
	png := get(t, ctx, chromedp.CaptureScreenshot())
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
}
