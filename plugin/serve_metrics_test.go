package plugin

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-live/docker-live/stream/server"
)

func TestCheckMetricsTLS(t *testing.T) {
	cases := []struct {
		opts   metricsTLS
		listen string
		want   string // "" means accepted
	}{
		{metricsTLS{}, "", ""},
		{metricsTLS{metricsLabels: []string{"team", "com.docker.compose.project"}}, "", ""},
		{metricsTLS{metricsLabels: []string{"a.b", "a_b"}}, "", "invalid --metrics-labels"},
		{metricsTLS{tls: server.TLSFiles{Cert: "c.pem", Key: "k.pem"}}, "", "need --listen"},
		{metricsTLS{tls: server.TLSFiles{ClientCA: "ca.pem"}}, "127.0.0.1:1", "go together"},
		{metricsTLS{tls: server.TLSFiles{Cert: "missing.pem", Key: "missing.pem"}}, "127.0.0.1:1", "cannot load --tls-cert"},
	}
	for _, tc := range cases {
		err := checkMetricsTLS(&tc.opts, tc.listen)
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
	o := metricsTLS{tls: server.TLSFiles{Cert: "cert.pem", Key: "key.pem"}, metricsLabels: []string{"team"}}
	err := checkMetricsTLS(&o, "127.0.0.1:1") // the files do not exist: the paths are fixed first
	if err == nil {
		t.Fatal("missing files accepted")
	}
	want := filepath.Join(dir, "cert.pem")
	if resolved, rerr := filepath.EvalSymlinks(dir); rerr == nil && !strings.HasPrefix(o.tls.Cert, dir) {
		want = filepath.Join(resolved, "cert.pem")
	}
	if o.tls.Cert != want || !filepath.IsAbs(o.tls.Key) {
		t.Errorf("paths %q %q, want absolute under %s", o.tls.Cert, o.tls.Key, dir)
	}
	args := metricsTLSArgs(o)
	if !slices.Equal(args, []string{"--tls-cert", o.tls.Cert, "--tls-key", o.tls.Key, "--metrics-labels", "team"}) {
		t.Errorf("args for the detached streamer: %q", args)
	}
}
