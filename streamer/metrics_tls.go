package streamer

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
func checkMetricsTLS(o *Options) error {
	if err := metrics.CheckLabels(o.MetricsLabels); err != nil {
		return err
	}
	if !o.TLS.Enabled() {
		return nil
	}
	if o.Listen == "" {
		return errors.New("--tls-cert, --tls-key and --tls-client-ca need --listen: only the TCP listener speaks TLS")
	}
	for _, p := range []*string{&o.TLS.Cert, &o.TLS.Key, &o.TLS.ClientCA} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	_, err := server.LoadTLS(o.TLS)
	return err
}

// metricsAndTLS builds the /metrics handler over the hub and the TCP
// listener's TLS configuration (nil: plain HTTP).
func metricsAndTLS(o Options, h *hub.Hub, src *source.Source, version, contextName string) (*tls.Config, http.Handler, error) {
	tlsConf, err := server.LoadTLS(o.TLS)
	if err != nil {
		return nil, nil, err
	}
	c, err := metrics.New(metrics.Config{State: h, Version: version, Context: contextName, Labels: o.MetricsLabels, StatsPass: src.LastStatsPass})
	if err != nil {
		return nil, nil, err
	}
	return tlsConf, metrics.Handler(c), nil
}
