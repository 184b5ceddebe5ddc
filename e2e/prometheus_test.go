package e2e

// Issue 13: a real Prometheus server (Debian's prometheus package) scrapes
// the streamer's /metrics over mutual TLS with the token file, as the
// README's "Many hosts: Prometheus" section tells users to, and what it
// stores is checked against the kernel and docker stats. The test restarts
// the context's streamer, so it is not parallel.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// needTool finds a Debian tool; with CI set, a missing one fails the test.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %s is not installed (.ci/run installs it with apt-get install %s)", name, pkg)
		}
		t.Skipf("%s is not installed (apt-get install %s); set CI=1 to make this a failure", name, pkg)
	}
	return p
}

// e2eCA is a certificate authority made for one test.
type e2eCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newE2ECA(t *testing.T, dir, name string) *e2eCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", der)
	return &e2eCA{cert: cert, key: key}
}

// issue writes name-cert.pem and name-key.pem, a leaf for 127.0.0.1.
func (ca *e2eCA) issue(t *testing.T, dir, name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+"-cert.pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// promServer is a Prometheus server this test started.
type promServer struct {
	url    string
	cmd    *exec.Cmd
	output *lockedBuffer
	exited chan struct{}
}

// startPrometheus runs Prometheus on a free loopback port with config,
// its data in a temporary folder, and waits until it is ready. It is
// killed (by its own pid) at cleanup.
func startPrometheus(t *testing.T, bin, config string) *promServer {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// A port free a moment ago: should another process take it first,
	// Prometheus exits, and the wait below reports its output.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := &promServer{url: "http://" + addr, output: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", tail(p.output.String(), 30))
		}
	})
	eventually(t, 60*time.Second, func() error {
		select {
		case <-p.exited:
			t.Fatalf("prometheus exited early:\n%s", tail(p.output.String(), 30))
		default:
		}
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/-/ready: %s", resp.Status)
		}
		return nil
	})
	return p
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(parts[max(0, len(parts)-lines):], "\n")
}

// query runs an instant query and returns its one value; an empty result
// is an error (not yet scraped, or not enough samples for a rate).
func (p *promServer) query(q string) (float64, error) {
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("query %s: %s", q, body.Error)
	}
	if len(body.Data.Result) != 1 {
		return 0, fmt.Errorf("query %s: %d series, want 1", q, len(body.Data.Result))
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// TestPrometheusScrapesStreamer runs the README's scrape configuration
// against a streamer serving TLS with client certificates, then checks
// what Prometheus stored: a --cpus 0.5 burner's CPU rate near 0.5, and a
// memory holder's usage as docker stats and the Engine report it.
func TestPrometheusScrapesStreamer(t *testing.T) {
	bin := needTool(t, "prometheus", "prometheus")
	promtool := needTool(t, "promtool", "prometheus")
	t.Cleanup(func() { stopStreamers(t) })

	dir := t.TempDir()
	serverCA := newE2ECA(t, dir, "server-ca")
	clientCA := newE2ECA(t, dir, "client-ca")
	srvCert, srvKey := serverCA.issue(t, dir, "streamer", x509.ExtKeyUsageServerAuth)
	cliCert, cliKey := clientCA.issue(t, dir, "prometheus", x509.ExtKeyUsageClientAuth)
	st := freshStreamer(t, "--listen", "127.0.0.1:0", "--tls-cert", srvCert, "--tls-key", srvKey,
		"--tls-client-ca", filepath.Join(dir, "client-ca.pem"), "--metrics-labels", "e2e.role")
	if st.Listen == "" || st.TokenFile == "" {
		t.Fatalf("streamer status has no listen address or token file: %+v", st)
	}

	// --cpus 0.5 caps the burner at half a CPU; the largest --cpu-shares
	// lets it have that half on a host that other tests keep busy (the
	// shared Engine runs their containers too), which is the scenario the
	// rate is checked against. The kernel's account is checked beside it.
	burner := runHelper(t, HelperOpts{RunArgs: []string{"--cpus", "0.5", "--cpu-shares", "262144"}, Args: []string{"cpu", "--share", "1"},
		Labels: map[string]string{"e2e.role": "burner"}})
	holder := runHelper(t, HelperOpts{Args: []string{"mem", "--mb", "200"}})
	burnerPID := inspectState(t, burner.ID).Pid

	// The guards, checked with the streamer's real listener.
	t.Run("guards", func(t *testing.T) {
		roots := x509.NewCertPool()
		roots.AddCert(serverCA.cert)
		good, err := tls.LoadX509KeyPair(cliCert, cliKey)
		if err != nil {
			t.Fatal(err)
		}
		get := func(scheme string, conf *tls.Config, token bool) (int, string, error) {
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: conf, DisableKeepAlives: true}}
			req, _ := http.NewRequest(http.MethodGet, scheme+"://"+st.Listen+"/metrics", nil)
			if token {
				data, err := os.ReadFile(st.TokenFile)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(data)))
			}
			resp, err := c.Do(req)
			if err != nil {
				return 0, "", err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body), nil
		}
		full := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{good}}
		if code, _, err := get("https", full, false); err != nil || code != http.StatusUnauthorized {
			t.Errorf("TLS scrape without the token: %d %v, want 401", code, err)
		}
		if code, body, err := get("http", nil, true); err == nil && (code != http.StatusBadRequest || strings.Contains(body, "container_")) {
			t.Errorf("plain HTTP to the TLS listener: %d %.100q, want refused", code, body)
		}
		if code, _, err := get("https", &tls.Config{RootCAs: roots}, true); err == nil {
			t.Errorf("TLS scrape without a client certificate: %d, want a handshake failure", code)
		}
		// A container is reported once it has a first stats sample, which a
		// burner started a moment ago may not have yet: scrape until it is
		// there, within a deadline.
		var body string
		for deadline := time.Now().Add(15 * time.Second); ; {
			code, b, err := get("https", full, true)
			if err != nil || code != http.StatusOK {
				t.Fatalf("TLS scrape with the client certificate and token: %d %v", code, err)
			}
			body = b
			if strings.Contains(body, `container_label_e2e_role="burner"`) || time.Now().After(deadline) {
				break
			}
			time.Sleep(250 * time.Millisecond) // between scrapes while the first sample comes
		}
		if !strings.Contains(body, `container_label_e2e_role="burner"`) {
			t.Errorf("--metrics-labels e2e.role: no container_label_e2e_role=\"burner\" in the exposition within 15 s")
		}
		var out bytes.Buffer
		lint := exec.Command(promtool, "check", "metrics")
		lint.Stdin, lint.Stdout, lint.Stderr = strings.NewReader(body), &out, &out
		if err := lint.Run(); err != nil {
			t.Errorf("promtool check metrics on the streamer's exposition: %v\n%s", err, out.String())
		}
	})

	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: docker-live
    scheme: https
    authorization:
      credentials_file: %s
    tls_config:
      ca_file: %s
      cert_file: %s
      key_file: %s
    static_configs:
      - targets: [%q]
`, st.TokenFile, filepath.Join(dir, "server-ca.pem"), cliCert, cliKey, st.Listen)
	prom := startPrometheus(t, bin, config)

	eventually(t, 30*time.Second, func() error {
		up, err := prom.query(`up{job="docker-live"}`)
		if err == nil && up != 1 {
			err = fmt.Errorf("up = %v", up)
		}
		return err
	})

	// The burner's rate over 30 s of 1 s scrapes. A busy host may give
	// it less than its half CPU for a while: wait for a window that
	// settles, and on failure tell the kernel's own account beside it.
	cpuQuery := fmt.Sprintf(`rate(container_cpu_usage_seconds_total{name=%q}[30s])`, burner.Name)
	type reading struct {
		at  time.Time
		cpu time.Duration
	}
	var kernel []reading // the kernel's own account of the burner's CPU
	var rate, kernelRate float64
	var rateErr error
	began := time.Now()
	deadline := began.Add(120 * time.Second)
	for {
		if cpu, ok := cgroupCPUTime(burnerPID); ok {
			kernel = append(kernel, reading{time.Now(), cpu})
		}
		rate, rateErr = prom.query(cpuQuery)
		// The kernel's rate over the same 30 s as Prometheus' window.
		kernelRate = math.NaN()
		if n := len(kernel); n > 1 {
			last := kernel[n-1]
			for _, r := range kernel {
				if last.at.Sub(r.at) <= 30*time.Second {
					if dt := last.at.Sub(r.at).Seconds(); dt >= 20 {
						kernelRate = (last.cpu - r.cpu).Seconds() / dt
					}
					break
				}
			}
		}
		// A rate over less than a full window is noisier: give Prometheus
		// its 30 s of samples before judging.
		if rateErr == nil && time.Since(began) > 30*time.Second && math.Abs(rate-0.5) <= 0.1 &&
			(math.IsNaN(kernelRate) || math.Abs(rate-kernelRate) <= 0.05) {
			break
		}
		if time.Now().After(deadline) {
			load, _ := os.ReadFile("/proc/loadavg")
			t.Fatalf("%s = %v (err %v), want within 0.1 of 0.5 and within 0.05 of the kernel's account over the same 30 s (%.3f CPUs); host load %s",
				cpuQuery, rate, rateErr, kernelRate, strings.TrimSpace(string(load)))
		}
		time.Sleep(time.Second) // one scrape interval: a new sample to judge
	}
	t.Logf("%s = %.3f; the kernel's account over the same 30 s: %.3f CPUs", cpuQuery, rate, kernelRate)

	// Memory, like for like: container_memory_working_set_bytes is what
	// docker stats shows as MEM USAGE (usage minus inactive file cache);
	// container_memory_usage_bytes is the Engine's memory_stats.usage, page
	// cache included, as cAdvisor reports it. The holder allocates once and
	// holds, so moments apart they match within 1 %.
	var ws, usage float64
	eventually(t, 30*time.Second, func() error {
		var err error
		if ws, err = prom.query(fmt.Sprintf(`container_memory_working_set_bytes{name=%q}`, holder.Name)); err != nil {
			return err
		}
		if usage, err = prom.query(fmt.Sprintf(`container_memory_usage_bytes{name=%q}`, holder.Name)); err != nil {
			return err
		}
		if ws < 200<<20 {
			return fmt.Errorf("working set %v B: the holder has not allocated its 200 MiB yet", ws)
		}
		return nil
	})
	ds := dockerStats(t, holder.ID)
	if d := math.Abs(ws-ds.MemUsage) / ds.MemUsage; d > 0.01 {
		t.Errorf("container_memory_working_set_bytes %v vs docker stats MEM USAGE %v (%s): %.2f %% apart, want within 1 %%",
			ws, ds.MemUsage, ds.Raw["MemUsage"], d*100)
	}
	raw := engineMemoryUsage(t, holder.ID)
	if d := math.Abs(usage-float64(raw)) / float64(raw); d > 0.01 {
		t.Errorf("container_memory_usage_bytes %v vs the Engine's memory_stats.usage %v: %.2f %% apart, want within 1 %%", usage, raw, d*100)
	}
	if d := math.Abs(usage-ds.MemUsage) / ds.MemUsage; d > 0.01 {
		t.Errorf("container_memory_usage_bytes %v vs docker stats MEM USAGE %v: %.2f %% apart, want within 1 %% for a holder of anonymous memory",
			usage, ds.MemUsage, d*100)
	}
	t.Logf("holder: working set %.0f B, docker stats %s; usage %.0f B, Engine usage %d B", ws, ds.Raw["MemUsage"], usage, raw)

	// The self metrics made it too.
	if v, err := prom.query(`docker_live_engine_up`); err != nil || v != 1 {
		t.Errorf("docker_live_engine_up = %v (%v), want 1", v, err)
	}
}

// engineMemoryUsage is the Engine's raw memory_stats.usage of a container.
func engineMemoryUsage(t *testing.T, id string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := engineClient(t).ContainerStats(ctx, id, client.ContainerStatsOptions{Stream: false})
	if err != nil {
		t.Fatalf("Engine stats of %.12s: %v", id, err)
	}
	defer res.Body.Close()
	var rec container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&rec); err != nil {
		t.Fatalf("decoding the Engine's stats: %v", err)
	}
	if rec.MemoryStats.Usage == 0 {
		t.Fatal(errors.New("the Engine reports no memory usage"))
	}
	return rec.MemoryStats.Usage
}
