package streamer

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

	"github.com/docker-live/docker-live/stream/hub"
	"github.com/docker-live/docker-live/stream/server"
	"github.com/docker-live/docker-live/stream/source"
	"github.com/docker-live/docker-live/web"
)

// Config is what Run needs beside the options: whom the streamer serves
// and how it reaches the Engine, as the plugin resolved them from the
// Docker context.
type Config struct {
	Options  Options // resolved (Options.Resolve)
	Paths    Paths
	Context  string // the Docker context's name
	Endpoint string // the Engine's address, part of the streamer's key
	Client   source.EngineAPI
	Version  string    // this build, reported in hello, /v1/health and info.json
	Stderr   io.Writer // where a foreground streamer logs and warns
	// OnServing, when set, runs once the streamer serves (its socket
	// listens, info.json is written), before it reports ready: the place
	// for a part that adds to a running streamer (another listener, say).
	// An error stops the streamer with it.
	OnServing func(ctx context.Context, s *Serving) error
}

// Serving is a running streamer, as OnServing sees it.
type Serving struct {
	Hub    *hub.Hub
	Server *server.Server
	Paths  Paths
	Info   *Info // written to info.json after OnServing returns
	Logf   func(format string, args ...any)
	// Serve runs a listener's serve loop; its error stops the streamer.
	Serve func(func() error)
}

// Run is the streamer in the foreground until ctx ends, SIGINT or SIGTERM
// arrives, or (with an idle timeout) nobody has been connected for that
// long. It returns only after everything it started has stopped, with its
// socket and info.json removed.
func Run(ctx context.Context, cfg Config) error {
	paths, opts := cfg.Paths, cfg.Options
	stderr := cfg.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	logger := log.New(stderr, "docker-live: ", log.LstdFlags|log.Lmicroseconds)
	ready := func(string) {}
	if opts.ReadyFD > 0 {
		f := os.NewFile(uintptr(opts.ReadyFD), "ready")
		ready = func(line string) {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
	if err := paths.EnsureDir(); err != nil {
		return fmt.Errorf("cannot create the state folder: %v", err)
	}
	if opts.ReadyFD > 0 {
		// A detached streamer writes serve.log itself, to rotate it.
		serveLog, err := openRotatingLog(paths.Log, serveLogMax, true)
		if err != nil {
			return fmt.Errorf("cannot open the log: %v", err)
		}
		defer serveLog.Close()
		logger.SetOutput(serveLog)
	}
	lock, err := LockFile(paths.Lock)
	if errors.Is(err, ErrLocked) {
		info, _ := ReadInfo(paths.Info)
		ready(fmt.Sprintf("exists %d", info.PID))
		return fmt.Errorf("a streamer for context %q already runs (pid %d, socket %s)", cfg.Context, info.PID, paths.Socket)
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
	if opts.Listen != "" {
		if token, err = loadOrCreateToken(paths.Token); err != nil {
			return fmt.Errorf("cannot create the token: %v", err)
		}
		if !IsLoopback(opts.Listen) && !opts.TLS.Enabled() {
			logger.Printf("WARNING: listening on %s, which is not loopback: anyone who can reach it and holds the token sees every container on this Engine", opts.Listen)
			fmt.Fprintf(stderr, "WARNING: --listen %s is not a loopback address: the stream is reachable from other hosts (token required)\n", opts.Listen)
		}
	}

	// Signals stay caught until return: a second SIGTERM during shutdown
	// must not kill the process before it removed its socket.
	sigCtx, stopSignals := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()
	ctx, cancel := context.WithCancel(sigCtx)
	defer cancel()

	contextName, endpoint := cfg.Context, cfg.Endpoint
	started := time.Now()
	h := hub.New(hub.Config{Context: contextName, Endpoint: endpoint, Server: cfg.Version, History: opts.History})
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
		Client: cfg.Client,
		Sink:   h,
		Stats:  source.StatsMode(statsModeHere(opts.StatsSource)),
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

	tlsConf, metricsHandler, err := metricsAndTLS(opts, h, src, cfg.Version, contextName)
	if err != nil {
		return err
	}
	srv := server.New(server.Config{
		Hub:          h,
		Token:        token,
		AllowOrigins: opts.AllowOrigins,
		Logf:         logger.Printf,
		MaxConns:     opts.MaxConns,
		Metrics:      metricsHandler,
		TLS:          tlsConf,
		Page:         web.Handler(),
		// `docker live open` may add a loopback listener later.
		LoadToken: func() ([]byte, error) { return loadOrCreateToken(paths.Token) },
		OnListen:  func(addr string) { noteListen(paths, addr) },
	})
	info := Info{
		Context:     contextName,
		Endpoint:    endpoint,
		PID:         os.Getpid(),
		Started:     started,
		Socket:      paths.Socket,
		Listen:      opts.Listen,
		TLS:         opts.Listen != "" && opts.TLS.Enabled(),
		Version:     cfg.Version,
		StatsSource: opts.StatsSource,
	}
	if opts.ReadyFD > 0 {
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
	// The first listener to fail stops the streamer; later errors have
	// nobody to tell, hence the non-blocking send.
	serveErr := make(chan error, 1)
	serve := func(loop func() error) {
		go func() {
			err := loop()
			select {
			case serveErr <- err:
			default:
			}
		}()
	}
	serve(func() error { return srv.ServeUnix(ul) })
	defer func() {
		// After an early error return: no socket or info.json is left
		// naming a streamer that is gone.
		os.Remove(paths.Info)
		os.Remove(paths.Socket)
		shutdownServer()
	}()
	if opts.Listen != "" {
		tl, err := net.Listen("tcp", opts.Listen)
		if err != nil {
			ul.Close()
			return fmt.Errorf("cannot listen on %s: %v", opts.Listen, err)
		}
		info.Listen = tl.Addr().String()
		serve(func() error { return srv.ServeTCP(tl) })
	}
	if cfg.OnServing != nil {
		s := &Serving{Hub: h, Server: srv, Paths: paths, Info: &info, Logf: logger.Printf, Serve: serve}
		if err := cfg.OnServing(ctx, s); err != nil {
			return err
		}
	}
	data, _ := json.Marshal(info)
	if err := WriteFile0600(paths.Info, data); err != nil {
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

	idle := idleWatch(h, srv, opts.IdleTimeout)
	var runErr error
	select {
	case <-ctx.Done():
		logger.Printf("stopping: %v", context.Cause(sigCtx))
	case <-idle:
		logger.Printf("stopping: no clients for %s", opts.IdleTimeout)
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

func healthBody(h *hub.Hub, srv *server.Server, info Info, src *source.Source) any {
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
	data, err := ReadPrivate(path)
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
	if err := WriteFile0600(path, append(tok, '\n')); err != nil {
		return nil, err
	}
	return tok, nil
}
