package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"html"
	"net/http"
	"regexp"
	"strings"
)

// SessionCookie is the cookie a browser gets for the page once it has
// shown the token in ?token= (as Jupyter does): the token then leaves the
// address bar and the history, and the page's own requests (its assets,
// /v1/snapshot, the WebSocket handshake) carry the cookie instead.
const SessionCookie = "docker-live-session"

// sessionLabel makes the cookie a value derived from the token, never the
// token itself: a cookie that leaks (a browser profile copied elsewhere)
// does not give the token, which other clients (Authorization: Bearer)
// accept; and a new token (its file removed, the streamer restarted)
// ends every session made from the old one.
const sessionLabel = "docker-live session v1"

// sessionValue is the cookie value that the token's holder was given.
func sessionValue(token []byte) string {
	m := hmac.New(sha256.New, token)
	m.Write([]byte(sessionLabel))
	return hex.EncodeToString(m.Sum(nil))
}

// How a TCP request proved that it may be served.
const (
	authBearer = "bearer"
	authQuery  = "query"
	authCookie = "cookie"
)

// isPagePath tells the page and its assets from the API (/v1/...).
func isPagePath(p string) bool {
	return !strings.HasPrefix(p, "/v1/")
}

// credential returns the token or session the request presents, and how:
// a bearer header first, then ?token=, then the session cookie. A wrong
// bearer header is not rescued by a good cookie: whoever sent it meant it.
func credential(r *http.Request) (value, via string) {
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		return strings.TrimPrefix(auth, "Bearer "), authBearer
	}
	if q := r.URL.Query().Get("token"); q != "" {
		// Browsers cannot set headers on a WebSocket handshake.
		return q, authQuery
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return c.Value, authCookie
	}
	return "", ""
}

// authenticate checks the request's credential against token; via is how
// it passed, or "" with why when it did not.
func authenticate(r *http.Request, token []byte) (via, why string) {
	got, via := credential(r)
	switch via {
	case "":
		return "", "token required"
	case authCookie:
		if subtle.ConstantTimeCompare([]byte(got), []byte(sessionValue(token))) == 1 {
			return via, ""
		}
		return "", "invalid session"
	}
	if subtle.ConstantTimeCompare([]byte(got), token) != 1 {
		return "", "invalid token"
	}
	return via, ""
}

// login answers a page request that brought a valid ?token=: it sets the
// session cookie and redirects to the same URL without the token, so that
// the token does not stay in the address bar, the history or a bookmark.
// The cookie is HttpOnly (no script reads it), SameSite=Strict (no other
// site's page or link sends it) and a session cookie (gone when the
// browser closes); it stays valid as long as the token does.
func login(w http.ResponseWriter, r *http.Request, token []byte) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    sessionValue(token),
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	u := *r.URL
	q := u.Query()
	q.Del("token")
	u.RawQuery = q.Encode()
	u.Scheme, u.Host, u.User, u.Fragment = "", "", nil, ""
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
}

// loginPage is what a browser gets for the page without a valid token or
// session: what to run, not a bare status.
const loginPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>docker live: sign in</title></head>
<body>
<h1>docker live: this page needs its token</h1>
<p>%s. Open the page with the URL that this command prints (and opens):</p>
<pre>docker live open</pre>
<p>It signs this browser in with a session cookie and removes the token from the address.</p>
</body></html>
`

// refuseUnauthorized answers a request without a valid credential: the
// page gets a small HTML page that says what to run; the API keeps its
// plain-text answer.
func refuseUnauthorized(w http.ResponseWriter, r *http.Request, why string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="docker-live"`)
	if !isPagePath(r.URL.Path) {
		http.Error(w, why, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(strings.Replace(loginPage, "%s", html.EscapeString(capitalize(why)), 1)))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// cspHost is what a Host may look like to be named in the CSP header
// (the TCP guard has checked it already; on the Unix socket it is free
// text, and must not add directives).
var cspHost = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)

// setSecurityHeaders is sent with every answer. The page loads nothing
// from elsewhere, so the policy allows only its own origin; connect-src
// names the WebSocket of the same host explicitly, for browsers whose
// 'self' does not cover ws: (CSP level 2).
func setSecurityHeaders(h http.Header, host string) {
	connect := "'self'"
	if cspHost.MatchString(host) {
		connect += " ws://" + host
	}
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src "+connect+"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// originAllowed reports whether a request's Origin may be served: none
// (not a browser), one on --allow-origin, or, on TCP, the page's own
// origin (the Host, already checked against DNS rebinding, with http://).
func (s *Server) originAllowed(r *http.Request, tcp bool) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, o := range s.cfg.AllowOrigins {
		if o == origin {
			return true
		}
	}
	return tcp && origin == "http://"+r.Host
}
