//go:build !windows

package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// testCA is a certificate authority made for one test, with crypto/x509.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a leaf for 127.0.0.1 and localhost, for a server or a
// client, and returns its certificate and key as PEM.
func (ca *testCA) issue(t *testing.T, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "docker-live test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsSetup is a CA, a server certificate it signed, their files, and a
// /metrics stub.
type tlsSetup struct {
	ca    *testCA
	files TLSFiles
}

func newTLSSetup(t *testing.T, clientCA *testCA) tlsSetup {
	t.Helper()
	dir := t.TempDir()
	ca := newTestCA(t, "server CA")
	cert, key := ca.issue(t, x509.ExtKeyUsageServerAuth)
	s := tlsSetup{ca: ca, files: TLSFiles{Cert: writeFile(t, dir, "cert.pem", cert), Key: writeFile(t, dir, "key.pem", key)}}
	if clientCA != nil {
		s.files.ClientCA = writeFile(t, dir, "client-ca.pem", clientCA.pem)
	}
	return s
}

var metricsStub = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "# TYPE docker_live_engine_up gauge\ndocker_live_engine_up 1\n")
})

func startTLSServer(t *testing.T, files TLSFiles) *testServer {
	t.Helper()
	conf, err := LoadTLS(files)
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, hub.New(hub.Config{}), Config{Token: []byte(testToken), TLS: conf, Metrics: metricsStub})
}

func httpsClient(roots *x509.CertPool, certs ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: roots, Certificates: certs},
	}}
}

func getMetrics(c *http.Client, url string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodGet, url+stream.MetricsPath, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

func pool(ca *testCA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// TestTLSListener: with the right CA a scrape succeeds over TLS 1.2+; a
// client that does not trust the CA, or speaks plain HTTP, gets nothing.
func TestTLSListener(t *testing.T) {
	leakCheck(t)
	s := newTLSSetup(t, nil)
	ts := startTLSServer(t, s.files)

	code, body, err := getMetrics(httpsClient(pool(s.ca)), "https://"+ts.addr)
	if err != nil || code != http.StatusOK || !strings.Contains(body, "docker_live_engine_up 1") {
		t.Fatalf("scrape with the right CA: %d %q %v", code, body, err)
	}

	other := newTestCA(t, "someone else")
	if _, _, err := getMetrics(httpsClient(pool(other)), "https://"+ts.addr); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("scrape trusting another CA: err %v, want a certificate error", err)
	}

	code, body, err = getMetrics(&http.Client{Timeout: 5 * time.Second}, "http://"+ts.addr)
	if err == nil && (code != http.StatusBadRequest || strings.Contains(body, "docker_live")) {
		t.Errorf("plain HTTP to the TLS listener: %d %q; want refused", code, body)
	}

	old := &tls.Config{RootCAs: pool(s.ca), MaxVersion: tls.VersionTLS11}
	if conn, err := tls.Dial("tcp", ts.addr, old); err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}

	// A listener added on request speaks TLS too, and says so, so that
	// `docker live open` prints an https URL.
	r, listenResp := postListen(t, ts, "127.0.0.1:0")
	if listenResp.StatusCode != http.StatusOK || !r.TLS || r.Listen == "" {
		t.Fatalf("listen on a TLS streamer: %s %+v, want a TLS listener", listenResp.Status, r)
	}
	if code, _, err := getMetrics(httpsClient(pool(s.ca)), "https://"+r.Listen); err != nil || code != http.StatusOK {
		t.Errorf("scrape over TLS on the added listener: %d %v", code, err)
	}

	// The token is still required under TLS.
	resp, err := httpsClient(pool(s.ca)).Get("https://" + ts.addr + stream.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("TLS scrape without a token: %d, want 401", resp.StatusCode)
	}
}

// TestMutualTLS: with --tls-client-ca, a client without a certificate, or
// with one another CA signed, is refused in the handshake; one the CA
// signed gets through.
func TestMutualTLS(t *testing.T) {
	leakCheck(t)
	clientCA := newTestCA(t, "client CA")
	s := newTLSSetup(t, clientCA)
	ts := startTLSServer(t, s.files)
	url := "https://" + ts.addr

	if code, _, err := getMetrics(httpsClient(pool(s.ca)), url); err == nil {
		t.Errorf("no client certificate: got %d, want a handshake failure", code)
	}
	waitFor(t, "the refused handshake in the streamer's log", func() bool {
		return strings.Contains(ts.log.String(), "TLS handshake error")
	})

	stranger := newTestCA(t, "stranger")
	sc, sk := stranger.issue(t, x509.ExtKeyUsageClientAuth)
	strangerCert, err := tls.X509KeyPair(sc, sk)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, err := getMetrics(httpsClient(pool(s.ca), strangerCert), url); err == nil {
		t.Errorf("a certificate of another CA: got %d, want a handshake failure", code)
	}

	cc, ck := clientCA.issue(t, x509.ExtKeyUsageClientAuth)
	good, err := tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	if code, body, err := getMetrics(httpsClient(pool(s.ca), good), url); err != nil || code != http.StatusOK || !strings.Contains(body, "docker_live_engine_up") {
		t.Errorf("a certificate of the client CA: %d %q %v", code, body, err)
	}
}

// TestMetricsRouteGuards: /metrics is behind the TCP token (401 without)
// and served on the Unix socket without one.
func TestMetricsRouteGuards(t *testing.T) {
	leakCheck(t)
	ts := startServer(t, hub.New(hub.Config{}), Config{Token: []byte(testToken), Metrics: metricsStub})
	resp, err := http.Get("http://" + ts.addr + stream.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("without a token: %d %v, want 401 with WWW-Authenticate", resp.StatusCode, resp.Header)
	}
	code, body, err := getMetrics(&http.Client{Timeout: 5 * time.Second}, "http://"+ts.addr)
	if err != nil || code != http.StatusOK || !strings.Contains(body, "docker_live_engine_up") {
		t.Errorf("with the token: %d %q %v", code, body, err)
	}
	resp, err = unixHTTP(ts.path).Get("http://docker-live" + stream.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("on the Unix socket: %d", resp.StatusCode)
	}
}

func TestLoadTLSRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	s := newTLSSetup(t, nil)
	notPEM := writeFile(t, dir, "ca.txt", []byte("not a certificate"))
	for _, tc := range []struct {
		files TLSFiles
		want  string
	}{
		{TLSFiles{Cert: s.files.Cert}, "go together"},
		{TLSFiles{ClientCA: s.files.Cert}, "go together"},
		{TLSFiles{Cert: s.files.Cert, Key: s.files.Cert}, "cannot load"},
		{TLSFiles{Cert: s.files.Cert, Key: s.files.Key, ClientCA: notPEM}, "no PEM certificate"},
		{TLSFiles{Cert: s.files.Cert, Key: s.files.Key, ClientCA: filepath.Join(dir, "missing")}, "cannot read"},
	} {
		if _, err := LoadTLS(tc.files); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadTLS(%+v): %v, want %q", tc.files, err, tc.want)
		}
	}
	if conf, err := LoadTLS(TLSFiles{}); conf != nil || err != nil {
		t.Errorf("no files: %v %v, want plain HTTP", conf, err)
	}
}
