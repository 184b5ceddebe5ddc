package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxConns is how many connections one listener holds open at once
// when Config.MaxConns is zero.
const DefaultMaxConns = 4096

// overCapWait bounds a connection accepted beyond the cap: it gets one
// answer (503, or a WebSocket close with 1013) and this long to take it.
const overCapWait = 5 * time.Second

// capListener counts the connections of one listener. One beyond the cap
// is still accepted, so that it can be told why, but it is marked, served
// nothing else and given overCapWait in all.
type capListener struct {
	net.Listener
	max    int64
	active atomic.Int64
}

func (l *capListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &cappedConn{Conn: c, l: l}
	if l.active.Add(1) > l.max {
		cc.over = true
		_ = c.SetDeadline(time.Now().Add(overCapWait))
	}
	return cc, nil
}

// cappedConn gives its place back once, when closed (by the HTTP server,
// or by the WebSocket connection that took it over).
type cappedConn struct {
	net.Conn
	l        *capListener
	over     bool
	released sync.Once
}

func (c *cappedConn) Close() error {
	c.released.Do(func() { c.l.active.Add(-1) })
	return c.Conn.Close()
}

type overCapKey struct{}

// connContext marks the requests of a connection beyond the cap.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn() // the TLS listener wraps the counted connection
	}
	if cc, ok := c.(*cappedConn); ok && cc.over {
		return context.WithValue(ctx, overCapKey{}, true)
	}
	return ctx
}

func overCap(r *http.Request) bool {
	over, _ := r.Context().Value(overCapKey{}).(bool)
	return over
}

// Refused requests are logged at most once per refusalEvery, with a count
// of those left out: a client without a token must not be able to fill the
// disk or flood the log. What is logged of a request is cut and quoted.
const (
	refusalEvery = time.Second
	maxLoggedLen = 200
)

type refusalLog struct {
	logf func(string, ...any)
	now  func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// log writes one refusal line, or counts it when the last line was less
// than refusalEvery ago.
func (l *refusalLog) log(r *http.Request, why string) {
	// The method needs no quotes: net/http refuses one that is not a token.
	method := r.Method
	if len(method) > 20 {
		method = method[:20] + "..."
	}
	l.line(fmt.Sprintf("refused %s %s from %s: %s", method, loggablePath(r), r.RemoteAddr, why))
}

// line writes text, or counts it when the last line was less than
// refusalEvery ago; text must already be safe to log.
func (l *refusalLog) line(text string) {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < refusalEvery {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	l.last = now
	suppressed := l.suppressed
	l.suppressed = 0
	l.mu.Unlock()
	more := ""
	if suppressed > 0 {
		more = " (" + strconv.Itoa(suppressed) + " more refused since the last line)"
	}
	l.logf("%s%s", text, more)
}

// loggablePath is the request's path without any ;parameter (a token may
// hide there; the query string is never looked at), cut and quoted.
func loggablePath(r *http.Request) string {
	path, _, _ := strings.Cut(r.URL.Path, ";")
	return loggable(path, maxLoggedLen)
}

// loggable cuts s to max bytes and quotes it (%q), so that no control
// character (a newline forging a log line, an escape code) reaches the log.
func loggable(s string, max int) string {
	cut := ""
	if len(s) > max {
		s, cut = s[:max], "..."
	}
	return strconv.Quote(s) + cut
}
