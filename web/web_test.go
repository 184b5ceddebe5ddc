package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandlerServesThePageAndAssetsWithTheirTypes(t *testing.T) {
	h := Handler()
	for path, want := range map[string]string{
		"/":            "text/html; charset=utf-8",
		"/index.html":  "text/html; charset=utf-8",
		"/app.js":      "text/javascript; charset=utf-8",
		"/conn.js":     "text/javascript; charset=utf-8",
		"/style.css":   "text/css; charset=utf-8",
		"/favicon.svg": "image/svg+xml",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d, want 200", path, rec.Code)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type %q, want %q", path, got, want)
		}
		if rec.Header().Get("ETag") == "" {
			t.Errorf("%s: no ETag", path)
		}
	}
	for _, path := range []string{"/nope.js", "/v1/listen", "/assets/app.js", "/../web.go"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", rec.Code)
	}
	// Revalidation: the same ETag gets 304.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/app.js", nil))
	req := httptest.NewRequest(http.MethodGet, "/app.js", nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec2 := httptest.NewRecorder()
	h.ServeHTTP(rec2, req)
	if rec2.Code != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", rec2.Code)
	}
}

// The page must load nothing from elsewhere (it works offline and under a
// CSP of 'self'), and must never hand Engine data to an HTML parser.
func TestAssetsLoadNothingFromElsewhereAndParseNoHTML(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import|from\s+["']https?:|import\(\s*["']https?:`)
	unsafe := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*["']on|\.on\w+\s*=\s*["']`)
	inlineStyle := regexp.MustCompile(`(?i)\sstyle\s*=|<script>|<style>`)
	_ = fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, _ := assets.Open(p)
		data, _ := io.ReadAll(f)
		f.Close()
		text := string(data)
		if m := external.FindString(text); m != "" {
			t.Errorf("%s loads from elsewhere: %q", p, m)
		}
		if strings.HasSuffix(p, ".js") {
			if m := unsafe.FindString(text); m != "" {
				t.Errorf("%s uses %q: Engine data must go through textContent", p, m)
			}
		}
		if strings.HasSuffix(p, ".html") {
			if m := inlineStyle.FindString(text); m != "" {
				t.Errorf("%s has inline %q, which the CSP refuses", p, m)
			}
		}
		return nil
	})
}
