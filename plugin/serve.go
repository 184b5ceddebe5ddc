package plugin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-live/docker-live/stream/hub"
	"github.com/docker-live/docker-live/stream/server"
	"github.com/docker-live/docker-live/stream/source"
	"github.com/docker-live/docker-live/web"
)

type serveOptions struct {
	detach       bool
	idleTimeout  time.Duration
	listen       string
	allowOrigins []string
	statsSource  string
	history      time.Duration
	maxConns     int
	readyFD      int // set on the detached child: where to say it is ready
}

// engineReadyWait bounds how long a starting streamer waits for the
// Engine's first list before it reports ready anyway.
const engineReadyWait = 3 * time.Second

// defaultHistory is how much stats history a streamer keeps per container:
// enough for a graph that is full the moment a view opens.
const defaultHistory = 5 * time.Minute

// defaultIdleTimeout applies to detached streamers: nobody watches them.
const defaultIdleTimeout = 10 * time.Minute

func newServeCommand(dockerCli command.Cli, build BuildInfo) *cobra.Command {
	var opts serveOptions
	cmd := &cobra.Command{
		Use:   "serve [OPTIONS]",
		Short: "Run the streamer for the current context (foreground, or --detach)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("idle-timeout") && !opts.detach && opts.readyFD == 0 {
				opts.idleTimeout = 0 // a foreground streamer runs until stopped
			}
			return runServe(cmd.Context(), dockerCli, build, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.detach, "detach", "d", false, "Run in the background and print once ready")
	f.DurationVar(&opts.idleTimeout, "idle-timeout", defaultIdleTimeout, "Exit after this long without clients (0: never; default applies with --detach)")
	f.StringVar(&opts.listen, "listen", "", "Also serve on TCP at ADDR (loopback unless ADDR names another address), with a token")
	f.StringArrayVar(&opts.allowOrigins, "allow-origin", nil, "Browser origin allowed to connect (repeatable; none by default)")
	f.StringVar(&opts.statsSource, "stats-source", "auto", "Where stats come from: auto, api or cgroup")
	f.DurationVar(&opts.history, "history", defaultHistory, "How much stats history to keep per container for new clients (0: none)")
	f.IntVar(&opts.maxConns, "max-connections", server.DefaultMaxConns, "Most connections each listener holds open at once; more get 503 or WebSocket close 1013")
	f.IntVar(&opts.readyFD, "ready-fd", 0, "internal: file descriptor to report readiness on")
	_ = f.MarkHidden("ready-fd")
	return cmd
}

func runServe(ctx context.Context, dockerCli command.Cli, build BuildInfo, opts serveOptions) error {
	switch opts.statsSource {
	case "auto", "api", "cgroup":
	default:
		return usageError(fmt.Errorf("invalid --stats-source %q: use auto, api or cgroup", opts.statsSource))
	}
	if opts.history < 0 || opts.history > 24*time.Hour {
		return usageError(fmt.Errorf("invalid --history %s: use a duration from 0 (none) to 24h", opts.history))
	}
	if opts.statsSource == "cgroup" && !cgroupStatsSupported {
		return usageError(errCgroupLinuxOnly)
	}
	if opts.maxConns < 1 {
		return usageError(fmt.Errorf("invalid --max-connections %d: use 1 or more", opts.maxConns))
	}
	listenAddr, err := normalizeListen(opts.listen)
	if err != nil {
		return usageError(err)
	}
	opts.listen = listenAddr
	paths := pathsFor(dockerCli)
	if opts.detach {
		info, started, err := startDetached(ctx, dockerCli, paths, opts)
		if err != nil {
			return err
		}
		if started {
			fmt.Fprintf(dockerCli.Out(), "docker live streamer started for context %q (pid %d)\nsocket: %s\nlog: %s\n", info.Context, info.PID, info.Socket, info.Log)
		} else {
			fmt.Fprintf(dockerCli.Out(), "docker live streamer already running for context %q (pid %d)\nsocket: %s\n", info.Context, info.PID, info.Socket)
		}
		printListen(dockerCli, info)
		return nil
	}
	return serveForeground(ctx, dockerCli, build, paths, opts)
}

// printListen tells the terminal, not only serve.log, where a detached
// streamer listens on TCP, where its token is, and warns when that is not
// loopback.
func printListen(dockerCli command.Cli, info streamerInfo) {
	if info.Listen == "" {
		return
	}
	fmt.Fprintf(dockerCli.Out(), "listen: %s (token in %s)\n", info.Listen, info.TokenFile)
	if !isLoopback(info.Listen) {
		fmt.Fprintf(dockerCli.Err(), "WARNING: --listen %s is not a loopback address: the stream is reachable from other hosts (token required)\n", info.Listen)
	}
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

func isLoopback(hostport string) bool {
	host, _, _ := net.SplitHostPort(hostport)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func serveForeground(ctx context.Context, dockerCli command.Cli, build BuildInfo, paths streamerPaths, opts serveOptions) error {
	logger := log.New(dockerCli.Err(), "docker-live: ", log.LstdFlags|log.Lmicroseconds)
	ready := func(string) {}
	if opts.readyFD > 0 {
		f := os.NewFile(uintptr(opts.readyFD), "ready")
		ready = func(line string) {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
	if err := paths.ensureDir(); err != nil {
		return fmt.Errorf("cannot create the state folder: %v", err)
	}
	if opts.readyFD > 0 {
		// A detached streamer writes serve.log itself, to rotate it.
		serveLog, err := openRotatingLog(paths.Log, serveLogMax, true)
		if err != nil {
			return fmt.Errorf("cannot open the log: %v", err)
		}
		defer serveLog.Close()
		logger.SetOutput(serveLog)
	}
	lock, err := lockFile(paths.Lock)
	if errors.Is(err, errLocked) {
		info, _ := readInfo(paths.Info)
		ready(fmt.Sprintf("exists %d", info.PID))
		return fmt.Errorf("a streamer for context %q already runs (pid %d, socket %s)", dockerCli.CurrentContext(), info.PID, paths.Socket)
	}
	if err != nil {
		return fmt.Errorf("cannot lock %s: %v", paths.Lock, err)
	}
	defer lock.Close()
	// Holding the lock proves that no streamer of this folder runs: an
	// info.json left by one killed with SIGKILL names a PID that may since
	// belong to anything, so it goes before anyone reads it.
	if err := os.Remove(paths.Info); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove the stale %s: %v", paths.Info, err)
	}

	var token []byte
	if opts.listen != "" {
		if token, err = loadOrCreateToken(paths.Token); err != nil {
			return fmt.Errorf("cannot create the token: %v", err)
		}
		if !isLoopback(opts.listen) {
			logger.Printf("WARNING: listening on %s, which is not loopback: anyone who can reach it and holds the token sees every container on this Engine", opts.listen)
			fmt.Fprintf(dockerCli.Err(), "WARNING: --listen %s is not a loopback address: the stream is reachable from other hosts (token required)\n", opts.listen)
		}
	}

	// Signals stay caught until return: a second SIGTERM during shutdown
	// must not kill the process before it removed its socket.
	sigCtx, stopSignals := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()
	ctx, cancel := context.WithCancel(sigCtx)
	defer cancel()

	contextName := dockerCli.CurrentContext()
	endpoint := dockerCli.DockerEndpoint().Host
	started := time.Now()
	h := hub.New(hub.Config{Context: contextName, Endpoint: endpoint, Server: build.Version, History: opts.history})
	hubStop := make(chan struct{})
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		h.Run(hubStop)
	}()
	// Every return stops the hub and waits for it and the source, the early
	// error returns below too; the orderly path does it itself first.
	stopHub := sync.OnceFunc(func() {
		close(hubStop)
		<-hubDone
	})
	defer stopHub()

	src := source.New(source.Config{
		Client: dockerCli.Client(),
		Sink:   h,
		Stats:  source.StatsMode(statsModeHere(opts.statsSource)),
		Logf:   logger.Printf,
	})
	srcDone := make(chan struct{})
	go func() {
		defer close(srcDone)
		_ = src.Run(ctx)
	}()
	defer func() {
		cancel()
		<-srcDone
	}()

	srv := server.New(server.Config{
		Hub:          h,
		Token:        token,
		AllowOrigins: opts.allowOrigins,
		Logf:         logger.Printf,
		MaxConns:     opts.maxConns,
		Page:         web.Handler(),
		// `docker live open` may add a loopback listener later.
		LoadToken: func() ([]byte, error) { return loadOrCreateToken(paths.Token) },
		OnListen:  func(addr string) { noteListen(paths, addr) },
	})
	info := streamerInfo{
		Context:     contextName,
		Endpoint:    endpoint,
		PID:         os.Getpid(),
		Started:     started,
		Socket:      paths.Socket,
		Listen:      opts.listen,
		Version:     build.Version,
		StatsSource: opts.statsSource,
	}
	if opts.readyFD > 0 {
		info.Log = paths.Log
	}
	if token != nil {
		info.TokenFile = paths.Token
	}
	srv.SetHealth(func() any { return healthBody(h, srv, info, src) })
	shutdownServer := sync.OnceFunc(func() {
		shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 2*time.Second)
		srv.Shutdown(shutdownCtx)
		cancelShutdown()
	})

	// Ready means watching: the Engine subscription is open and the first
	// list is in, so a client that connects misses nothing; the socket
	// opens only then. An Engine that does not answer must not keep a
	// streamer from serving (it reports the Engine unavailable), hence the
	// bound.
	select {
	case <-h.Listed():
	case <-time.After(engineReadyWait):
		logger.Printf("the Engine has not answered within %s; serving anyway", engineReadyWait)
	case <-ctx.Done():
	}
	ul, err := server.ListenUnix(paths.Socket, logger.Printf)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", paths.Socket, err)
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.ServeUnix(ul) }()
	defer func() {
		// After an early error return: no socket or info.json is left
		// naming a streamer that is gone.
		os.Remove(paths.Info)
		os.Remove(paths.Socket)
		shutdownServer()
	}()
	if opts.listen != "" {
		tl, err := net.Listen("tcp", opts.listen)
		if err != nil {
			ul.Close()
			return fmt.Errorf("cannot listen on %s: %v", opts.listen, err)
		}
		info.Listen = tl.Addr().String()
		go func() { serveErr <- srv.ServeTCP(tl) }()
	}
	data, _ := json.Marshal(info)
	if err := writeFile0600(paths.Info, data); err != nil {
		return fmt.Errorf("cannot write %s: %v", paths.Info, err)
	}
	logger.Printf("streamer ready for context %q (%s) on %s", contextName, endpoint, paths.Socket)
	if info.Listen != "" {
		logger.Printf("also listening on tcp %s (token in %s)", info.Listen, paths.Token)
	}
	ready(fmt.Sprintf("ready %d", os.Getpid()))
	// Give the start-up burst (listing and inspecting every container)
	// back to the OS rather than keep it as heap headroom for hours.
	debug.FreeOSMemory()

	idle := idleWatch(h, srv, opts.idleTimeout)
	var runErr error
	select {
	case <-ctx.Done():
		logger.Printf("stopping: %v", context.Cause(sigCtx))
	case <-idle:
		logger.Printf("stopping: no clients for %s", opts.idleTimeout)
	case err := <-serveErr:
		runErr = err
		logger.Printf("stopping: %v", err)
	}
	cancel()
	// Remove the socket first, so that clients looking for a streamer do not
	// find a dying one.
	os.Remove(paths.Info)
	os.Remove(paths.Socket)
	stopHub()
	shutdownServer()
	<-srcDone
	return runErr
}

// idleWatch fires once the streamer has had no clients for timeout.
func idleWatch(h *hub.Hub, srv *server.Server, timeout time.Duration) <-chan struct{} {
	fired := make(chan struct{})
	if timeout <= 0 {
		return fired
	}
	go func() {
		check := min(timeout/4, 5*time.Second)
		t := time.NewTicker(max(check, 10*time.Millisecond))
		defer t.Stop()
		for range t.C {
			info := h.Info()
			if srv.Clients() == 0 && !info.IdleSince.IsZero() && time.Since(info.IdleSince) >= timeout {
				close(fired)
				return
			}
		}
	}()
	return fired
}

func healthBody(h *hub.Hub, srv *server.Server, info streamerInfo, src *source.Source) any {
	hi := h.Info()
	type health struct {
		Version      string         `json:"version"`
		Context      string         `json:"context"`
		Endpoint     string         `json:"endpoint"`
		PID          int            `json:"pid"`
		Epoch        string         `json:"epoch"`
		Seq          uint64         `json:"seq"`
		Started      time.Time      `json:"started"`
		Uptime       string         `json:"uptime"`
		Clients      int            `json:"clients"`
		Containers   int            `json:"containers"`
		Engine       any            `json:"engine"`
		StatsSource  string         `json:"stats_source"`
		StatsSources map[string]int `json:"stats_sources"`
	}
	counts := map[string]int{}
	for _, s := range src.StatsSources() {
		counts[s]++
	}
	return health{
		Version:      info.Version,
		Context:      info.Context,
		Endpoint:     info.Endpoint,
		PID:          info.PID,
		Epoch:        hi.Epoch,
		Seq:          hi.Seq,
		Started:      hi.Started,
		Uptime:       time.Since(hi.Started).Round(time.Second).String(),
		Clients:      srv.Clients(),
		Containers:   hi.Containers,
		Engine:       hi.Engine,
		StatsSource:  info.StatsSource,
		StatsSources: counts,
	}
}

// loadOrCreateToken keeps one token per state folder, so that a browser
// page keeps working across streamer restarts.
// A token file that is a link or another user's is refused, never adopted.
func loadOrCreateToken(path string) ([]byte, error) {
	data, err := readPrivate(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err == nil && len(strings.TrimSpace(string(data))) == 64 {
		return []byte(strings.TrimSpace(string(data))), nil
	}
	var raw [32]byte
	if _, err := io.ReadFull(rand.Reader, raw[:]); err != nil {
		return nil, err
	}
	tok := []byte(hex.EncodeToString(raw[:]))
	if err := writeFile0600(path, append(tok, '\n')); err != nil {
		return nil, err
	}
	return tok, nil
}
