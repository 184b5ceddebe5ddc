package streamer

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-live/docker-live/stream/server"
)

func TestCheckMetricsTLS(t *testing.T) {
	cases := []struct {
		opts   Options
		listen string
		want   string // "" means accepted
	}{
		{Options{}, "", ""},
		{Options{MetricsLabels: []string{"team", "com.docker.compose.project"}}, "", ""},
		{Options{MetricsLabels: []string{"a.b", "a_b"}}, "", "invalid --metrics-labels"},
		{Options{TLS: server.TLSFiles{Cert: "c.pem", Key: "k.pem"}}, "", "need --listen"},
		{Options{TLS: server.TLSFiles{ClientCA: "ca.pem"}}, "127.0.0.1:1", "go together"},
		{Options{TLS: server.TLSFiles{Cert: "missing.pem", Key: "missing.pem"}}, "127.0.0.1:1", "cannot load --tls-cert"},
	}
	for _, tc := range cases {
		tc.opts.Listen = tc.listen
		err := checkMetricsTLS(&tc.opts)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v, want accepted", tc.opts, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want %q", tc.opts, err, tc.want)
		}
	}
}

// TestCheckMetricsTLSAbsolutePaths: a detached streamer runs in /, so the
// files' paths are made absolute before it starts, and passed on to it.
func TestCheckMetricsTLSAbsolutePaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	o := Options{TLS: server.TLSFiles{Cert: "cert.pem", Key: "key.pem"}, MetricsLabels: []string{"team"}, Listen: "127.0.0.1:1"}
	err := checkMetricsTLS(&o) // the files do not exist: the paths are fixed first
	if err == nil {
		t.Fatal("missing files accepted")
	}
	want := filepath.Join(dir, "cert.pem")
	if resolved, rerr := filepath.EvalSymlinks(dir); rerr == nil && !strings.HasPrefix(o.TLS.Cert, dir) {
		want = filepath.Join(resolved, "cert.pem")
	}
	if o.TLS.Cert != want || !filepath.IsAbs(o.TLS.Key) {
		t.Errorf("paths %q %q, want absolute under %s", o.TLS.Cert, o.TLS.Key, dir)
	}
	args := o.Args()
	for _, want := range []string{"--tls-cert=" + o.TLS.Cert, "--tls-key=" + o.TLS.Key, "--metrics-labels=team"} {
		if !slices.Contains(args, want) {
			t.Errorf("args for the streamer binary %q lack %q", args, want)
		}
	}
}
