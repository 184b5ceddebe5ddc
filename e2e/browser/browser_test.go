package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newBrowser starts a headless Chromium of the test's own (new profile,
// no sandbox, no GPU, nothing fetched in the background) and returns a
// tab's context; everything ends at cleanup.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(1440, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now. Not under a deadline: the browser lives as
	// long as the context of its first call (the test's own timeout
	// bounds a browser that never starts).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// do runs steps with a deadline.
func do(t testing.TB, ctx context.Context, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := doErr(ctx, timeout, steps...); err != nil {
		t.Fatal(err)
	}
}

func doErr(ctx context.Context, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return chromedp.Do(tctx, steps...)
}

// get runs one action that gives a value, with a deadline.
func get[T any](t testing.TB, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	return get(t, ctx, chromedp.Evaluate[T](js))
}

// evalErr is eval for polling conditions: an error (a page between loads)
// is a reason to look again.
func evalErr[T any](ctx context.Context, js string) (T, error) {
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(tctx, chromedp.Evaluate[T](js))
}

// connText is the connection indicator's text.
func connText(ctx context.Context) string {
	s, _ := evalErr[string](ctx, `(document.getElementById("conn-text")||{}).textContent||""`)
	return s
}

func waitConn(t testing.TB, ctx context.Context, timeout time.Duration, prefix string) {
	t.Helper()
	waitFor(t, timeout, "the indicator to say "+prefix, func() (bool, string) {
		s := connText(ctx)
		return strings.HasPrefix(s, prefix), s
	})
}

// rowStates maps the names of the table's rows to their state text.
func rowStates(ctx context.Context) map[string]string {
	out, _ := evalErr[map[string]string](ctx, `Object.fromEntries([...document.querySelectorAll("#rows .row")].map(r => [r.dataset.name, r.querySelector(".state").textContent]))`)
	return out
}

func waitRowState(t testing.TB, ctx context.Context, timeout time.Duration, name, state string) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("row %s to show %q", name, state), func() (bool, string) {
		got := rowStates(ctx)
		return got[name] == state, fmt.Sprint(got)
	})
}

// screenshot saves the page as a PNG under artifacts and logs its path.
func screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(artifacts, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	t.Logf("screenshot: %s", path)
	return path
}

// shootOnFailure saves a screenshot when the test has failed.
func shootOnFailure(t testing.TB, ctx context.Context) {
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx, "failure")
		}
	})
}
