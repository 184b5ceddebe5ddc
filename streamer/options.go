package streamer

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/docker-live/docker-live/stream/server"
)

// Options are serve's options: what `docker live serve` accepts and what
// the streamer binary runs with. BindFlags is the only place that declares
// them; adding a serve flag means a field here and a line there.
type Options struct {
	Detach       bool
	IdleTimeout  time.Duration
	Listen       string
	AllowOrigins []string
	StatsSource  string
	History      time.Duration
	MaxConns     int
	ReadyFD      int // set on the detached child: where to say it is ready

	// TLS serves --listen over TLS (zero: plain HTTP); MetricsLabels are
	// the container label keys /metrics also reports (nil: only Compose's).
	// Issue 13; docs/security.md, README "Many hosts: Prometheus".
	TLS           server.TLSFiles
	MetricsLabels []string
}

// engineReadyWait bounds how long a starting streamer waits for the
// Engine's first list before it reports ready anyway.
const engineReadyWait = 3 * time.Second

// DefaultHistory is how much stats history a streamer keeps per container:
// enough for a graph that is full the moment a view opens.
const DefaultHistory = 5 * time.Minute

// DefaultIdleTimeout applies to detached streamers: nobody watches them.
const DefaultIdleTimeout = 10 * time.Minute

// Flag names the plugin handles itself and never hands to the streamer
// binary: --detach is the plugin's job (it starts the binary in the
// background), and the ready descriptor is platform-specific, so the
// plugin adds it where it creates the pipe.
const (
	flagDetach  = "detach"
	FlagReadyFD = "ready-fd"
)

// BindFlags declares serve's flags on f, bound to o. `docker live serve`
// and the streamer binary both call it, so their flags cannot drift.
func BindFlags(f *pflag.FlagSet, o *Options) {
	f.BoolVarP(&o.Detach, flagDetach, "d", false, "Run in the background and print once ready")
	f.DurationVar(&o.IdleTimeout, "idle-timeout", DefaultIdleTimeout, "Exit after this long without clients (0: never; default applies with --detach)")
	f.StringVar(&o.Listen, "listen", "", "Also serve on TCP at ADDR (loopback unless ADDR names another address), with a token")
	f.StringArrayVar(&o.AllowOrigins, "allow-origin", nil, "Browser origin allowed to connect (repeatable; none by default)")
	f.StringVar(&o.StatsSource, "stats-source", "auto", "Where stats come from: auto, api or cgroup")
	f.DurationVar(&o.History, "history", DefaultHistory, "How much stats history to keep per container for new clients (0: none)")
	f.IntVar(&o.MaxConns, "max-connections", server.DefaultMaxConns, "Most connections each listener holds open at once; more get 503 or WebSocket close 1013")
	f.StringVar(&o.TLS.Cert, "tls-cert", "", "Serve --listen over TLS with this PEM certificate (as dockerd --tlscert)")
	f.StringVar(&o.TLS.Key, "tls-key", "", "The PEM private key of --tls-cert (as dockerd --tlskey)")
	f.StringVar(&o.TLS.ClientCA, "tls-client-ca", "", "Require TCP clients to present a certificate signed by this PEM CA (as dockerd --tlsverify --tlscacert)")
	f.StringSliceVar(&o.MetricsLabels, "metrics-labels", nil, "Container label keys also reported on /metrics as container_label_<key> (comma-separated)")
	f.IntVar(&o.ReadyFD, FlagReadyFD, 0, "internal: file descriptor to report readiness on")
	_ = f.MarkHidden(FlagReadyFD)
}

// DefaultOptions are the options of a streamer started with no flags in
// the background (what watch and events start when none runs).
func DefaultOptions() Options {
	var o Options
	BindFlags(pflag.NewFlagSet("serve", pflag.ContinueOnError), &o)
	return o
}

// UsageError is a bad serve flag value: the plugin exits 125 with it, as
// docker does for its own flag errors, and so does the streamer binary.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageError(err error) error { return &UsageError{Err: err} }

// Resolve applies the defaults that depend on other flags (f is the flag
// set o was bound to and parsed from; nil when o was built in code) and
// checks every value, normalizing --listen. Errors are *UsageError.
func (o *Options) Resolve(f *pflag.FlagSet) error {
	if f != nil && !f.Changed("idle-timeout") && !o.Detach && o.ReadyFD == 0 {
		o.IdleTimeout = 0 // a foreground streamer runs until stopped
	}
	switch o.StatsSource {
	case "auto", "api", "cgroup":
	default:
		return usageError(fmt.Errorf("invalid --stats-source %q: use auto, api or cgroup", o.StatsSource))
	}
	if o.History < 0 || o.History > 24*time.Hour {
		return usageError(fmt.Errorf("invalid --history %s: use a duration from 0 (none) to 24h", o.History))
	}
	if o.StatsSource == "cgroup" && !CgroupStatsSupported {
		return usageError(ErrCgroupLinuxOnly)
	}
	if o.MaxConns < 1 {
		return usageError(fmt.Errorf("invalid --max-connections %d: use 1 or more", o.MaxConns))
	}
	listenAddr, err := normalizeListen(o.Listen)
	if err != nil {
		return usageError(err)
	}
	o.Listen = listenAddr
	if err := checkMetricsTLS(o); err != nil {
		return usageError(err)
	}
	return nil
}

// Args renders o as the streamer binary's command-line flags, every flag
// BindFlags declares except --detach and --ready-fd. It walks the flag set
// rather than the fields, so a new flag is handed over without a line here.
func (o Options) Args() []string {
	var bound Options
	f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	BindFlags(f, &bound)
	bound = o // the flags' values point into bound: they now read o's
	var args []string
	f.VisitAll(func(fl *pflag.Flag) {
		if fl.Name == flagDetach || fl.Name == FlagReadyFD {
			return
		}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				args = append(args, "--"+fl.Name+"="+v)
			}
			return
		}
		args = append(args, "--"+fl.Name+"="+fl.Value.String())
	})
	return args
}

// normalizeListen binds loopback when ADDR gives only a port.
func normalizeListen(addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if _, perr := fmt.Sscanf(addr, "%d", new(int)); perr == nil && !strings.Contains(addr, ":") {
			return net.JoinHostPort("127.0.0.1", addr), nil
		}
		return "", fmt.Errorf("invalid --listen %q: use HOST:PORT or PORT", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// IsLoopback reports whether HOST:PORT names a loopback address.
func IsLoopback(hostport string) bool {
	host, _, _ := net.SplitHostPort(hostport)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsUsageError reports a bad flag value.
func IsUsageError(err error) bool {
	var ue *UsageError
	return errors.As(err, &ue)
}
