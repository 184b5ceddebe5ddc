package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
)

// TLSFiles names the PEM files of serve's --tls-cert, --tls-key and
// --tls-client-ca. They follow the Engine's own flags: --tls-cert and
// --tls-key are dockerd's --tlscert and --tlskey; --tls-client-ca is
// --tlscacert with --tlsverify, that is, every client must present a
// certificate signed by that CA.
type TLSFiles struct {
	Cert     string
	Key      string
	ClientCA string
}

// Enabled says whether any TLS file is given.
func (f TLSFiles) Enabled() bool { return f.Cert != "" || f.Key != "" || f.ClientCA != "" }

// LoadTLS reads the files into a server configuration: TLS 1.2 at least
// (as the Engine's), HTTP/1.1 (WebSocket upgrades need it), and with a
// client CA, client certificates required and verified. No files give a
// nil configuration: plain HTTP.
func LoadTLS(f TLSFiles) (*tls.Config, error) {
	if !f.Enabled() {
		return nil, nil
	}
	if f.Cert == "" || f.Key == "" {
		return nil, errors.New("--tls-cert and --tls-key go together (--tls-client-ca needs both)")
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("cannot load --tls-cert %s and --tls-key %s: %v", f.Cert, f.Key, err)
	}
	conf := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	}
	if f.ClientCA != "" {
		pem, err := os.ReadFile(f.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("cannot read --tls-client-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("invalid --tls-client-ca %s: no PEM certificate in it", f.ClientCA)
		}
		conf.ClientCAs = pool
		conf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return conf, nil
}

// serveTLS lets net/http run the handshakes: it bounds them with the
// server's timeouts, fills Request.TLS, and answers a plain HTTP request
// with 400 "Client sent an HTTP request to an HTTPS server" before closing.
// HTTP/2 stays off: one protocol for streams and plain requests alike.
// Failed handshakes (a client without a certificate, an unknown CA) are
// logged as refusals are, at most one line a second.
func (s *Server) serveTLS(srv *http.Server, l net.Listener, conf *tls.Config) error {
	srv.TLSConfig = conf.Clone()
	srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	srv.ErrorLog = log.New(&errorLog{refusals: s.refusals}, "", 0)
	return srv.ServeTLS(l, "", "")
}

// errorLog turns net/http's error lines into rate-limited log lines.
type errorLog struct{ refusals *refusalLog }

func (e *errorLog) Write(p []byte) (int, error) {
	e.refusals.line(loggable(strings.TrimSpace(string(p)), maxLoggedLen))
	return len(p), nil
}
