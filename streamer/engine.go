package streamer

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/docker/go-connections/tlsconfig"
	"github.com/moby/moby/client"
)

// Engine is how the streamer reaches the Docker Engine: what the plugin
// resolved with docker/cli from the current Docker context (its endpoint's
// host and TLS material, and config.json's HTTP headers). The plugin hands
// it to the streamer binary as JSON on an inherited pipe (--engine-fd),
// never on the command line or in the environment, because it may hold a
// private key.
type Engine struct {
	Host          string            `json:"host"`
	CA            []byte            `json:"ca,omitempty"`
	Cert          []byte            `json:"cert,omitempty"`
	Key           []byte            `json:"key,omitempty"`
	SkipTLSVerify bool              `json:"skip_tls_verify,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
}

// maxEngineHandOff bounds what is read from the hand-off pipe: a host,
// three PEM blocks and a few headers.
const maxEngineHandOff = 1 << 20

// ReadEngine decodes the hand-off the plugin wrote to r.
func ReadEngine(r io.Reader) (Engine, error) {
	var e Engine
	data, err := io.ReadAll(io.LimitReader(r, maxEngineHandOff))
	if err != nil {
		return e, fmt.Errorf("reading the Engine hand-off: %v", err)
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("reading the Engine hand-off: %v", err)
	}
	if e.Host == "" {
		return e, errors.New("reading the Engine hand-off: no host")
	}
	return e, nil
}

// NeedsPlugin reports an endpoint that only docker/cli can dial: one with
// a connection helper (ssh://), which runs a command to reach the Engine.
// Such a context's streamer runs inside the plugin binary.
func NeedsPlugin(host string) bool {
	return strings.HasPrefix(host, "ssh://")
}

// Client returns an Engine API client for e, configured as docker/cli
// configures its own for the same endpoint (TLS only over TCP; the API
// version from DOCKER_API_VERSION when set, negotiated otherwise).
func (e Engine) Client() (*client.Client, error) {
	// The client's own transport, as client.New makes it (WithHost sets its
	// dialer, and the idle limits when unset), with smaller buffers: the API
	// source holds a connection per running container where it streams, and
	// net/http's default 4 KiB read and write buffers on each were 1.6 MiB
	// of heap at 200. The streamer's requests are GETs of a few hundred
	// bytes; reads larger than the read buffer (a stats record, an inspect
	// answer) go straight into the decoder's own buffer.
	tr := &http.Transport{WriteBufferSize: requestBufferSize, ReadBufferSize: responseBufferSize}
	if !isSocket(e.Host) {
		tc, err := e.tlsConfig()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	opts := []client.Opt{
		client.WithHTTPClient(&http.Client{Transport: tr, CheckRedirect: client.CheckRedirect}),
		client.WithHost(e.Host), client.WithAPIVersionFromEnv(),
	}
	if tr.TLSClientConfig == nil {
		// The client takes https when its transport has a TLS config, and
		// the copy WithHTTPClient makes (http.Transport.Clone) gets one for
		// HTTP/2 whatever we set.
		opts = append(opts, client.WithScheme("http"))
	}
	if len(e.Headers) > 0 {
		opts = append(opts, client.WithHTTPHeaders(e.Headers))
	}
	return client.New(opts...)
}

// requestBufferSize and responseBufferSize are the write and read buffers
// of each Engine connection; a larger request or header line takes more
// than one piece.
const (
	requestBufferSize  = 512
	responseBufferSize = 1024
)

func isSocket(host string) bool {
	return strings.HasPrefix(host, "unix://") || strings.HasPrefix(host, "npipe://")
}

// tlsConfig builds the client TLS configuration from the PEM material, as
// docker/cli does for a context endpoint; nil when there is none.
func (e Engine) tlsConfig() (*tls.Config, error) {
	if e.CA == nil && e.Cert == nil && e.Key == nil && !e.SkipTLSVerify {
		return nil, nil
	}
	var opts []func(*tls.Config)
	if e.CA != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(e.CA) {
			return nil, errors.New("the context's CA certificate is not valid PEM")
		}
		opts = append(opts, func(c *tls.Config) { c.RootCAs = pool })
	}
	if e.Cert != nil && e.Key != nil {
		if block, _ := pem.Decode(e.Key); block == nil {
			return nil, errors.New("the context's TLS key is not valid PEM")
		}
		pair, err := tls.X509KeyPair(e.Cert, e.Key)
		if err != nil {
			return nil, fmt.Errorf("the context's TLS certificate and key: %v", err)
		}
		opts = append(opts, func(c *tls.Config) { c.Certificates = []tls.Certificate{pair} })
	}
	if e.SkipTLSVerify {
		opts = append(opts, func(c *tls.Config) { c.InsecureSkipVerify = true })
	}
	return tlsconfig.ClientDefault(opts...), nil
}
