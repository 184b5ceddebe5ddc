package streamer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// selfSigned returns a PEM certificate and key made for the test.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestReadEngineRoundTrip(t *testing.T) {
	cert, key := selfSigned(t)
	in := Engine{Host: "tcp://10.0.0.1:2376", CA: cert, Cert: cert, Key: key, Headers: map[string]string{"X-A": "b"}}
	data, _ := json.Marshal(in)
	out, err := ReadEngine(strings.NewReader(string(data)))
	if err != nil || out.Host != in.Host || string(out.Key) != string(key) || out.Headers["X-A"] != "b" {
		t.Fatalf("ReadEngine = %+v, %v", out, err)
	}
	for _, bad := range []string{"", "{", `{"host":""}`} {
		if _, err := ReadEngine(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "hand-off") {
			t.Errorf("ReadEngine(%q) = %v, want an error naming the hand-off", bad, err)
		}
	}
}

func TestEngineClientTLS(t *testing.T) {
	cert, key := selfSigned(t)
	good := Engine{Host: "tcp://127.0.0.1:2376", CA: cert, Cert: cert, Key: key}
	tc, err := good.tlsConfig()
	if err != nil || tc == nil || tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.InsecureSkipVerify {
		t.Fatalf("tlsConfig = %+v, %v", tc, err)
	}
	c, err := good.Client()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if tc, err := (Engine{Host: "tcp://h:2376"}).tlsConfig(); tc != nil || err != nil {
		t.Errorf("no TLS material: %+v, %v; want none", tc, err)
	}
	if tc, err := (Engine{Host: "tcp://h:2376", SkipTLSVerify: true}).tlsConfig(); err != nil || tc == nil || !tc.InsecureSkipVerify {
		t.Errorf("skip verify: %+v, %v", tc, err)
	}
	for _, bad := range []Engine{
		{Host: "tcp://h:2376", CA: []byte("not pem")},
		{Host: "tcp://h:2376", Cert: cert, Key: []byte("not pem")},
	} {
		if _, err := bad.Client(); err == nil {
			t.Errorf("Client(%+v) accepted bad TLS material", bad)
		}
	}
	// A socket gets no TLS, whatever the material, as docker/cli does.
	if c, err := (Engine{Host: "unix:///run/x.sock", CA: []byte("not pem")}).Client(); err != nil {
		t.Errorf("unix socket with stray TLS material: %v", err)
	} else {
		c.Close()
	}
}

func TestNeedsPlugin(t *testing.T) {
	if !NeedsPlugin("ssh://me@host") || NeedsPlugin("unix:///var/run/docker.sock") || NeedsPlugin("tcp://h:2376") {
		t.Error("only ssh:// endpoints need docker/cli's connection helper")
	}
}

// TestEngineClientLargeRequest: the Engine connections' buffers are small
// (requestBufferSize, responseBufferSize), and a request larger than the
// one (config.json's HttpHeaders can make one) still reaches the Engine
// whole, and an answer with a header line and a body larger than the other
// still comes back whole. The Engine is a fake: an HTTP server on a Unix
// socket that answers every request.
func TestEngineClientLargeRequest(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Get("X-Large"):
		default:
		}
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("X-Large", strings.Repeat("y", 4*responseBufferSize))
		if strings.HasSuffix(r.URL.Path, "/version") {
			_ = json.NewEncoder(w).Encode(map[string]string{"Version": strings.Repeat("z", 16*responseBufferSize), "ApiVersion": "1.41"})
			return
		}
		_, _ = w.Write([]byte("OK"))
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	large := strings.Repeat("x", 8*requestBufferSize)
	c, ctx := pingedClient(t, Engine{Host: "unix://" + sock, Headers: map[string]string{"X-Large": large}})
	if h := <-got; h != large {
		t.Errorf("the Engine got a header of %d bytes, want %d", len(h), len(large))
	}
	v, err := c.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil || len(v.Version) != 16*responseBufferSize {
		t.Errorf("version: %d bytes, %v; want %d bytes", len(v.Version), err, 16*responseBufferSize)
	}
}

// TestEngineClientTLSPing: over TCP with TLS material the client speaks
// https and verifies the Engine with the CA it was given. The Engine is a
// fake: an httptest TLS server.
func TestEngineClientTLSPing(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		_, _ = w.Write([]byte("OK"))
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	pingedClient(t, Engine{Host: "tcp://" + srv.Listener.Addr().String(), CA: ca})
}

// pingedClient returns e's Engine client after one successful ping, and a
// context for further requests; both end with the test.
func pingedClient(t *testing.T, e Engine) (*client.Client, context.Context) {
	t.Helper()
	c, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if _, err := c.Ping(ctx, client.PingOptions{}); err != nil {
		t.Fatalf("ping %s: %v", e.Host, err)
	}
	return c, ctx
}
