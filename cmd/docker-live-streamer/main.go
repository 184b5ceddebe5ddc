// Command docker-live-streamer is docker live's long-lived streamer. The
// plugin (`docker live serve`, watch, events) starts it and hands it the
// Docker context it resolved; it links no docker/cli, so its resident
// memory holds only what it uses (docs/architecture.md "What the streamer
// links").
//
// Usage, as the plugin runs it:
//
//	docker-live-streamer --context=NAME --endpoint=HOST --state-dir=DIR
//	    --expect-version=V --engine-fd=N [serve flags] [--ready-fd=N]
//
// Run by hand it serves the default context of DOCKER_HOST (or the default
// socket), in the state folder `docker live` would use for it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/moby/moby/client"
	"github.com/spf13/pflag"

	"github.com/docker-live/docker-live/streamer"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

// Exit statuses: 125 for a bad flag (as docker has), 3 for a plugin of
// another version.
const (
	exitUsage    = 125
	exitMismatch = 3
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// handOff is what the plugin resolved from the Docker context.
type handOff struct {
	context       string
	endpoint      string
	stateDir      string
	engineFD      int
	expectVersion string
	showVersion   bool
}

func bindHandOff(f *pflag.FlagSet, h *handOff) {
	f.StringVar(&h.context, "context", "default", "Docker context name the streamer serves")
	f.StringVar(&h.endpoint, "endpoint", "", "Engine address as the context names it (default: DOCKER_HOST or the local socket)")
	f.StringVar(&h.stateDir, "state-dir", "", "State folder (default: ${DOCKER_CONFIG:-~/.docker}/live/KEY, as docker live uses)")
	f.IntVar(&h.engineFD, "engine-fd", 0, "internal: file descriptor holding the plugin's Engine hand-off (JSON)")
	f.StringVar(&h.expectVersion, "expect-version", "", "internal: refuse to run unless this binary is that version")
	f.BoolVar(&h.showVersion, "version", false, "Print the version and exit")
	_ = f.MarkHidden("engine-fd")
	_ = f.MarkHidden("expect-version")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := pflag.NewFlagSet("docker-live-streamer", pflag.ContinueOnError)
	f.SetOutput(stderr)
	f.Usage = func() {
		fmt.Fprintf(stderr, "Usage: docker-live-streamer [OPTIONS]\n\ndocker live's streamer; `docker live serve` runs it for the current context.\n\n%s", f.FlagUsages())
	}
	var opts streamer.Options
	var h handOff
	streamer.BindFlags(f, &opts)
	bindHandOff(f, &h)
	if err := f.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "docker-live-streamer: %v\n", err)
		return exitUsage
	}
	if h.showVersion {
		fmt.Fprintf(stdout, "docker-live-streamer %s (commit %s)\n", version, commit)
		return 0
	}
	if h.expectVersion != "" && h.expectVersion != version {
		reply(opts.ReadyFD, "mismatch "+version)
		self, _ := os.Executable()
		fmt.Fprintf(stderr, "the streamer binary %s is version %s but the plugin is %s; reinstall docker live (./install.sh) so both match\n", self, version, h.expectVersion)
		return exitMismatch
	}
	if f.NArg() > 0 {
		fmt.Fprintf(stderr, "docker-live-streamer: unexpected argument %q\n", f.Arg(0))
		return exitUsage
	}
	if opts.Detach {
		fmt.Fprintln(stderr, "docker-live-streamer: --detach is `docker live serve --detach`; this binary always runs in the foreground")
		return exitUsage
	}
	if err := opts.Resolve(f); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	cfg, err := configure(h, opts)
	if err != nil {
		reply(opts.ReadyFD, "failed")
		fmt.Fprintln(stderr, err)
		return 1
	}
	cfg.Version = version
	cfg.Stderr = stderr
	defer cfg.Client.(io.Closer).Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchPluginSocket(cancel)
	if err := streamer.Run(ctx, cfg); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// configure turns the hand-off into the runtime's configuration.
func configure(h handOff, opts streamer.Options) (streamer.Config, error) {
	engine, err := readEngine(h)
	if err != nil {
		return streamer.Config{}, err
	}
	c, err := engine.Client()
	if err != nil {
		return streamer.Config{}, fmt.Errorf("cannot set up the Engine client for %s: %v", engine.Host, err)
	}
	endpoint := h.endpoint
	if endpoint == "" {
		endpoint = engine.Host
	}
	dir := h.stateDir
	if dir == "" {
		dir = filepath.Join(dockerConfigDir(), "live", streamer.Key(h.context, endpoint))
	}
	return streamer.Config{
		Options:  opts,
		Paths:    streamer.PathsForDir(dir),
		Context:  h.context,
		Endpoint: endpoint,
		Client:   c,
	}, nil
}

// readEngine reads the plugin's hand-off, or without one takes the Engine
// from DOCKER_HOST (TLS from DOCKER_CERT_PATH and DOCKER_TLS_VERIFY are the
// plugin's job: run through `docker live serve` for those).
func readEngine(h handOff) (streamer.Engine, error) {
	if h.engineFD <= 0 {
		host := os.Getenv("DOCKER_HOST")
		if host == "" {
			host = client.DefaultDockerHost
		}
		return streamer.Engine{Host: host}, nil
	}
	f := os.NewFile(uintptr(h.engineFD), "engine")
	if f == nil {
		return streamer.Engine{}, fmt.Errorf("--engine-fd %d is not an open file", h.engineFD)
	}
	defer f.Close()
	return streamer.ReadEngine(f)
}

// dockerConfigDir is ${DOCKER_CONFIG:-$HOME/.docker}, as docker/cli's
// config.Dir() has it without --config.
func dockerConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".docker")
}

// reply tells the plugin waiting on the ready descriptor why this streamer
// will not become ready (a ready streamer says so from streamer.Run).
func reply(fd int, line string) {
	if fd <= 0 {
		return
	}
	if f := os.NewFile(uintptr(fd), "ready"); f != nil {
		fmt.Fprintln(f, line)
		f.Close()
	}
}

// pluginSocketEnv is the docker CLI's socket to its plugin; the foreground
// `docker live serve` keeps it when it becomes this binary.
const pluginSocketEnv = "DOCKER_CLI_PLUGIN_SOCKET"

// watchPluginSocket connects to the docker CLI's plugin socket, when run
// in its place, and cancels when the CLI closes it: that is how the CLI
// asks a plugin to stop when its output is not a terminal (the plugin
// framework does the same in the plugin binary).
func watchPluginSocket(cancel func()) {
	addr := os.Getenv(pluginSocketEnv)
	if addr == "" {
		return
	}
	c, err := net.Dial("unix", addr)
	if err != nil {
		return
	}
	go func() {
		defer c.Close()
		b := make([]byte, 1)
		for {
			if _, err := c.Read(b); err != nil {
				if errors.Is(err, io.EOF) {
					cancel()
				}
				return
			}
		}
	}()
}
