// Package web is the browser page of `docker live open`: hand-written
// HTML, CSS and JavaScript modules embedded in the binary, so building the
// plugin needs no Node or npm and the page loads nothing from elsewhere.
// The page is a client like any other: it speaks docs/protocol.md over
// /v1/stream and falls back to GET /v1/snapshot. The streamer's server
// serves Handler at every path outside /v1/ behind its usual checks.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// contentTypes are set explicitly: with nosniff, a module script served
// under any other type is refused.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

type file struct {
	data  []byte
	ctype string
	etag  string
}

// Handler serves the page at / and its assets by name; anything else is
// 404. Assets are revalidated on each load (ETag), so a new plugin build
// is picked up without a stale cache.
func Handler() http.Handler {
	files := map[string]file{}
	_ = fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		files["/"+strings.TrimPrefix(p, "assets/")] = file{data: data, ctype: contentTypes[path.Ext(p)], etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	files["/"] = files["/index.html"]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok || f.ctype == "" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", f.ctype)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", f.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
	})
}
