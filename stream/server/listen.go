package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
)

// ListenPath is the control request that adds a loopback TCP listener to a
// running streamer (what `docker live open` asks for). It is served on the
// Unix socket only, whose peers are checked to be the streamer's own user;
// the TCP listeners never route it.
const ListenPath = "/v1/listen"

// ListenRequest is the body of POST ListenPath.
type ListenRequest struct {
	// Addr is host:port on a loopback address; port 0 picks a free one,
	// or reuses a listener that already exists.
	Addr string `json:"addr"`
}

// ListenReply answers a ListenRequest.
type ListenReply struct {
	Listen string `json:"listen"` // the listener's address, host:port
	Added  bool   `json:"added"`  // false: an existing listener was reused
	// TLS says the listener speaks only TLS (the streamer's --tls-cert), so
	// that the page's URL given to users starts with https.
	TLS bool `json:"tls,omitempty"`
}

// ListenTCP opens a TCP listener on addr and serves it as ServeTCP does,
// while every connection already open stays as it is. A loopback addr
// with port 0 reuses a listener opened before, if any. The token is
// Config.Token or, when the server was made without one, what
// Config.LoadToken gives (once). Config.OnListen is told the address.
func (s *Server) ListenTCP(addr string) (string, bool, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false, fmt.Errorf("invalid address %q: use HOST:PORT", addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", false, fmt.Errorf("%s is not a loopback address: use serve --listen for others", host)
	}
	var added string
	defer func() {
		// Told after the lock is given back: OnListen may ask the server.
		if added != "" && s.cfg.OnListen != nil {
			s.cfg.OnListen(added)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return "", false, errors.New("the streamer is stopping")
	}
	for _, have := range s.tcp {
		if _, p, _ := net.SplitHostPort(have); port == "0" || p == port {
			return have, false, nil
		}
	}
	if len(s.token) == 0 {
		if s.cfg.LoadToken == nil {
			return "", false, errors.New("this streamer has no token to serve TCP with")
		}
		tok, err := s.cfg.LoadToken()
		if err != nil {
			return "", false, fmt.Errorf("cannot load the token: %v", err)
		}
		if len(tok) == 0 {
			return "", false, errors.New("the token is empty")
		}
		s.token = tok
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", false, err
	}
	added = l.Addr().String()
	s.tcp = append(s.tcp, added)
	guard := &tcpGuard{token: s.token, addr: added}
	go func() {
		if err := s.serve(l, s.handler(guard), s.cfg.TLS); err != nil {
			s.cfg.Logf("tcp listener %s stopped: %v", guard.addr, err)
		}
	}()
	s.cfg.Logf("also listening on tcp %s (added on request)", added)
	return added, true, nil
}

// serveListen answers POST ListenPath on the Unix socket.
func (s *Server) serveListen(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSONError(w, http.StatusMethodNotAllowed, "bad_request", "use POST")
		return
	}
	var req ListenRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		writeJSONError(w, http.StatusBadRequest, "bad_request", "malformed JSON: "+err.Error())
		return
	}
	addr, added, err := s.ListenTCP(req.Addr)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(ListenReply{Listen: addr, Added: added, TLS: s.cfg.TLS != nil})
}
