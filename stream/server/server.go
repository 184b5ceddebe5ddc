// Package server serves the hub over WebSocket: on a per-user Unix socket
// (peer credentials checked) and, opt-in, on a TCP listener that demands a
// token and checks Host and Origin against browser attacks.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// Config sets up a Server. Zero values mean what each line says.
type Config struct {
	Hub *hub.Hub
	// Health returns the body of /v1/health. Nil serves the hub's Info.
	Health func() any
	// Token guards every TCP request. It must be set to serve TCP.
	Token []byte
	// AllowOrigins lists the browser origins (scheme://host[:port]) that may
	// open a stream. Empty refuses every request that carries an Origin.
	AllowOrigins []string
	// Logf receives one line per notable connection event. Nil is silent.
	// Nothing logged ever contains a token, a query string or a ;parameter;
	// refused requests are logged at most once a second, quoted and cut.
	Logf func(format string, args ...any)
	// MaxConns caps the connections each listener holds open at once.
	// Beyond it a request gets 503, a WebSocket handshake a close with
	// 1013 (try again later). Zero means DefaultMaxConns; negative, no cap.
	MaxConns int
	// Now is the clock of the refusal log's rate limit. Nil means time.Now.
	Now func() time.Time
	// Metrics serves GET /metrics, behind the same checks as every path.
	// Nil serves no /metrics.
	Metrics http.Handler
	// TLS, when set, makes the TCP listener speak only TLS (tls.go). The
	// Unix socket never uses it.
	TLS *tls.Config
	// Page serves the browser page at every path outside /v1/ (see
	// package web). Nil serves none.
	Page http.Handler
	// LoadToken gives the token when a TCP listener is added to a server
	// made without one (see ListenTCP). Nil: such a server cannot add one.
	LoadToken func() ([]byte, error)
	// OnListen is told the address of each TCP listener ListenTCP opens.
	OnListen func(addr string)
}

// Server is safe for concurrent use.
type Server struct {
	cfg      Config
	upgrader websocket.Upgrader
	refusals *refusalLog

	mu      sync.Mutex
	health  func() any
	servers []*http.Server
	conns   map[*conn]struct{}
	down    bool // Shutdown was called: serve nothing more
	token   []byte
	tcp     []string // the addresses of the TCP listeners ListenTCP opened
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	s := &Server{cfg: cfg, conns: make(map[*conn]struct{}), health: cfg.Health, token: cfg.Token,
		refusals: &refusalLog{logf: cfg.Logf, now: cfg.Now}}
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		// Origin is checked before the upgrade, with a clear 403.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return s
}

// ServeUnix serves l, which should come from ListenUnix, until Shutdown.
func (s *Server) ServeUnix(l net.Listener) error {
	return s.serve(l, s.handler(nil), nil)
}

// ServeTCP serves l with token, Host and Origin checks until Shutdown.
func (s *Server) ServeTCP(l net.Listener) error {
	s.mu.Lock()
	token := s.token
	if len(token) > 0 {
		// ListenTCP reuses it rather than open another.
		s.tcp = append(s.tcp, l.Addr().String())
	}
	s.mu.Unlock()
	if len(token) == 0 {
		return errors.New("server: a token is required to serve TCP")
	}
	return s.serve(l, s.handler(&tcpGuard{token: token, addr: l.Addr().String()}), s.cfg.TLS)
}

// serve serves l until Shutdown; with tlsConf, only TLS (see tls.go).
func (s *Server) serve(l net.Listener, h http.Handler, tlsConf *tls.Config) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		// Idle keep-alive connections (health probes) must not pile up.
		IdleTimeout: 30 * time.Second,
		ErrorLog:    nil,
		ConnContext: connContext,
	}
	if s.cfg.MaxConns > 0 {
		l = &capListener{Listener: l, max: int64(s.cfg.MaxConns)}
	}
	s.mu.Lock()
	if s.down {
		// Shutdown came first and cannot have stopped this one.
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	var err error
	if tlsConf != nil {
		err = s.serveTLS(srv, l, tlsConf)
	} else {
		err = srv.Serve(l)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops the listeners, closes every stream connection, and waits
// (until ctx ends) for the connections to finish their close handshakes,
// so that clients read the close code rather than a reset. The hub sends
// the close frames when it is stopped; this ends what is left.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.down = true
	servers := slices.Clone(s.servers)
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, srv := range servers {
		_ = srv.Shutdown(ctx)
	}
	for _, c := range conns {
		c.stop(stream.CloseShuttingDown, "streamer stopping")
	}
	tick := time.NewTicker(10 * time.Millisecond) // how often to look for stragglers
	defer tick.Stop()
	for s.Clients() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// SetHealth replaces the body source of /v1/health; the body may need the
// server itself (its client count), so it can be set after New.
func (s *Server) SetHealth(f func() any) {
	s.mu.Lock()
	s.health = f
	s.mu.Unlock()
}

// Clients is the number of open stream connections.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) handler(guard *tcpGuard) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(stream.StreamPath, s.serveStream)
	mux.HandleFunc(stream.HealthPath, s.serveHealth)
	mux.HandleFunc(stream.SnapshotPath, s.serveSnapshot)
	if s.cfg.Metrics != nil {
		mux.Handle(stream.MetricsPath, s.cfg.Metrics)
	}
	if guard == nil {
		// Only the peer-checked socket may open listeners.
		mux.HandleFunc(ListenPath, s.serveListen)
	}
	if s.cfg.Page != nil {
		mux.Handle("/", s.cfg.Page)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header(), r.Host)
		if guard != nil {
			if status, why := guard.check(r); status != 0 {
				s.refusals.log(r, why)
				if status == http.StatusUnauthorized {
					refuseUnauthorized(w, r, why)
				} else {
					http.Error(w, why, status)
				}
				return
			}
		}
		if !s.originAllowed(r, guard != nil) {
			s.refusals.log(r, "origin "+loggable(r.Header.Get("Origin"), maxLoggedLen)+" is not allowed")
			http.Error(w, "origin not allowed (see serve --allow-origin)", http.StatusForbidden)
			return
		}
		if guard != nil && guard.loginWanted(r) {
			login(w, r, guard.token)
			return
		}
		if overCap(r) {
			s.refusals.log(r, "too many connections")
			s.refuseOverCap(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	health := s.health
	s.mu.Unlock()
	var body any
	if health != nil {
		body = health()
	} else {
		body = s.cfg.Hub.Info()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) serveStream(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "this is a WebSocket endpoint: connect with a WebSocket client (see docs/protocol.md)", http.StatusBadRequest)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has already answered with an HTTP error.
		return
	}
	c := newConn(s.cfg.Hub, ws, s.cfg.Logf)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	if s.down {
		// Upgraded while Shutdown ran, after it collected the connections.
		c.stop(stream.CloseShuttingDown, "streamer stopping")
	}
	s.mu.Unlock()
	go func() {
		c.run()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
}

// refuseOverCap answers a request on a connection beyond the cap: a
// WebSocket handshake is completed and closed with 1013 (try again later),
// which WebSocket clients report better than a failed handshake; anything
// else gets 503.
func (s *Server) refuseOverCap(w http.ResponseWriter, r *http.Request) {
	text := "too many connections: the limit is " + strconv.Itoa(s.cfg.MaxConns) + " per listener"
	if r.URL.Path == stream.StreamPath && websocket.IsWebSocketUpgrade(r) {
		ws, err := s.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(stream.CloseTryAgainLater, text), time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	w.Header().Set("Connection", "close")
	http.Error(w, text, http.StatusServiceUnavailable)
}

// tcpGuard holds the checks every TCP request must pass.
type tcpGuard struct {
	token []byte
	addr  string // the listener's own host:port
}

func (g *tcpGuard) check(r *http.Request) (int, string) {
	if !g.hostAllowed(r.Host) {
		return http.StatusForbidden, "host not allowed"
	}
	if via, why := authenticate(r, g.token); via == "" {
		return http.StatusUnauthorized, why
	}
	return 0, ""
}

// loginWanted reports a page load that brought a valid ?token=: it is
// answered with the session cookie and a redirect (see login).
func (g *tcpGuard) loginWanted(r *http.Request) bool {
	_, via := credential(r)
	return via == authQuery && isPagePath(r.URL.Path) && (r.Method == http.MethodGet || r.Method == http.MethodHead)
}

// hostAllowed defeats DNS rebinding: a page on evil.example whose name now
// resolves to 127.0.0.1 still sends Host: evil.example.
func (g *tcpGuard) hostAllowed(host string) bool {
	if host == "" {
		return false
	}
	if host == g.addr {
		return true
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	switch strings.ToLower(name) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	own, _, err := net.SplitHostPort(g.addr)
	if err == nil && name == own && own != "0.0.0.0" && own != "::" {
		return true
	}
	// A listener on a non-loopback address is reached by this host's IP.
	// An IP literal cannot be rebound by an attacker's DNS, so any address
	// of this host is as safe as the listener's own.
	return isLocalIP(name)
}

func isLocalIP(name string) bool {
	ip := net.ParseIP(name)
	if ip == nil {
		return false
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
