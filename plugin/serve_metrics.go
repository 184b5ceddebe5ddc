package plugin

import (
	"crypto/tls"
	"errors"
	"net/http"
	"path/filepath"

	"github.com/docker-live/docker-live/stream/hub"
	"github.com/docker-live/docker-live/stream/metrics"
	"github.com/docker-live/docker-live/stream/server"
	"github.com/docker-live/docker-live/stream/source"
)

// checkMetricsTLS refuses TLS files without --listen (only TCP speaks TLS),
// loads them once to fail before detaching, and makes their paths
// absolute: a detached streamer runs in /.
func checkMetricsTLS(o *metricsTLS, listen string) error {
	if err := metrics.CheckLabels(o.metricsLabels); err != nil {
		return err
	}
	if !o.tls.Enabled() {
		return nil
	}
	if listen == "" {
		return errors.New("--tls-cert, --tls-key and --tls-client-ca need --listen: only the TCP listener speaks TLS")
	}
	for _, p := range []*string{&o.tls.Cert, &o.tls.Key, &o.tls.ClientCA} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	_, err := server.LoadTLS(o.tls)
	return err
}

// metricsAndTLS builds the /metrics handler over the hub and the TCP
// listener's TLS configuration (nil: plain HTTP).
func metricsAndTLS(o metricsTLS, h *hub.Hub, src *source.Source, version, contextName string) (*tls.Config, http.Handler, error) {
	tlsConf, err := server.LoadTLS(o.tls)
	if err != nil {
		return nil, nil, err
	}
	c, err := metrics.New(metrics.Config{State: h, Version: version, Context: contextName, Labels: o.metricsLabels, StatsPass: src.LastStatsPass})
	if err != nil {
		return nil, nil, err
	}
	return tlsConf, metrics.Handler(c), nil
}

// metricsTLSArgs passes the options on to a detached streamer.
func metricsTLSArgs(o metricsTLS) []string {
	var args []string
	for _, f := range []struct{ flag, value string }{{"--tls-cert", o.tls.Cert}, {"--tls-key", o.tls.Key}, {"--tls-client-ca", o.tls.ClientCA}} {
		if f.value != "" {
			args = append(args, f.flag, f.value)
		}
	}
	for _, l := range o.metricsLabels {
		args = append(args, "--metrics-labels", l)
	}
	return args
}
