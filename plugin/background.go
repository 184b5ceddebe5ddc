package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/cli/cli/command"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/liveclient"
	"github.com/docker-live/docker-live/streamer"
)

// startWait bounds how long a command waits for a streamer it started.
const startWait = 5 * time.Second

// dialSocket connects to a streamer's Unix socket.
func dialSocket(ctx context.Context, socket string) (net.Conn, error) {
	return dialChecked(ctx, socket)
}

// streamerHealth asks a streamer's /v1/health over its socket.
func streamerHealth(ctx context.Context, socket string) (map[string]any, error) {
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dialSocket(ctx, socket) },
	}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker-live"+stream.HealthPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("health: %s", resp.Status)
	}
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	return body, nil
}

// answering reports the streamer of paths when its process lives and its
// socket answers /v1/health within a second, with the health body.
func answering(ctx context.Context, paths streamerPaths) (streamerInfo, map[string]any, bool) {
	info, err := readInfo(paths.Info)
	if err != nil || !processAlive(info.PID) {
		return info, nil, false
	}
	hctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	health, err := streamerHealth(hctx, paths.Socket)
	return info, health, err == nil
}

// startDetached starts the context's streamer in the background unless one
// already answers, and waits until it is ready. started is false when one
// was already running (or another command won the race to start it). The
// child is the streamer binary, handed the context's Engine; an endpoint
// only docker/cli can dial (ssh://) is served by the plugin binary itself.
func startDetached(ctx context.Context, dockerCli command.Cli, paths streamerPaths, opts streamer.Options) (streamerInfo, bool, error) {
	if info, _, ok := answering(ctx, paths); ok {
		return info, false, nil
	}
	if err := paths.EnsureDir(); err != nil {
		return streamerInfo{}, false, fmt.Errorf("cannot create the state folder: %v", err)
	}
	cmd, engine, err := streamerCommand(dockerCli, paths, opts)
	if err != nil {
		return streamerInfo{}, false, err
	}
	if engine != nil {
		defer engine.Close()
	}
	logFile, err := openPrivate(paths.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND)
	if err != nil {
		return streamerInfo{}, false, fmt.Errorf("cannot open the log %s: %v", paths.Log, err)
	}
	defer logFile.Close()
	readR, readW, err := os.Pipe()
	if err != nil {
		return streamerInfo{}, false, err
	}
	defer readR.Close()

	cmd.Args = append(cmd.Args, "--"+streamer.FlagReadyFD+"="+passFile(cmd, readW))
	cmd.Env = childEnv(os.Environ())
	cmd.Stdin = nil
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	detachAttrs(cmd)
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		readW.Close()
		return streamerInfo{}, false, fmt.Errorf("cannot start the streamer: %v", err)
	}
	readW.Close()
	pid := cmd.Process.Pid
	// Reap it if it exits while we wait; once it is ready we let it go.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(readR).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case l := <-line:
		switch {
		case strings.HasPrefix(l, "ready"):
			info, err := readInfo(paths.Info)
			if err != nil {
				info = streamerInfo{PID: pid, Socket: paths.Socket, Log: paths.Log, Context: dockerCli.CurrentContext()}
			}
			return info, true, nil
		case strings.HasPrefix(l, "exists"):
			// Another command started one first: that one serves us.
			info, err := waitForInfo(ctx, paths)
			return info, false, err
		case strings.HasPrefix(l, "mismatch "):
			return streamerInfo{}, false, mismatchError(cmd.Path, strings.TrimPrefix(l, "mismatch "), currentBuild.Version)
		default:
			return streamerInfo{}, false, fmt.Errorf("the streamer exited before it was ready; see %s: %s", paths.Log, lastLogLine(paths.Log))
		}
	case <-time.After(startWait):
		terminate(pid)
		return streamerInfo{}, false, fmt.Errorf("the streamer was not ready within %s; see %s", startWait, paths.Log)
	case <-ctx.Done():
		return streamerInfo{}, false, ctx.Err()
	}
}

// streamerCommand is the command that runs the context's streamer with
// opts (without --ready-fd), and the Engine hand-off file it inherits (nil
// when the plugin binary serves).
func streamerCommand(dockerCli command.Cli, paths streamerPaths, opts streamer.Options) (*exec.Cmd, *os.File, error) {
	if streamer.NeedsPlugin(dockerCli.DockerEndpoint().Host) {
		exe, err := os.Executable()
		if err != nil {
			return nil, nil, fmt.Errorf("cannot find the plugin binary: %v", err)
		}
		args := append(streamerGlobalArgs(dockerCli), "live", "serve")
		return exec.Command(exe, append(args, opts.Args()...)...), nil, nil
	}
	bin, err := findStreamerBin()
	if err != nil {
		return nil, nil, err
	}
	engine, err := engineHandle(paths.Dir, engineHandOff(dockerCli))
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, streamerArgs(dockerCli, paths, currentBuild, opts)...)
	cmd.Args = append(cmd.Args, "--engine-fd="+passFile(cmd, engine))
	return cmd, engine, nil
}

func waitForInfo(ctx context.Context, paths streamerPaths) (streamerInfo, error) {
	deadline := time.Now().Add(startWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if info, _, ok := answering(ctx, paths); ok {
			return info, nil
		}
		time.Sleep(20 * time.Millisecond) // poll interval while another process starts
	}
	return streamerInfo{}, fmt.Errorf("another streamer is starting but did not answer within %s", startWait)
}

func lastLogLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return lines[len(lines)-1]
}

// childEnv drops DOCKER_CLI_PLUGIN_SOCKET: a child that keeps it is
// cancelled when the docker CLI that started its parent exits.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, "DOCKER_CLI_PLUGIN_SOCKET=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// flagsWithValue are docker's global flags that take a separate value.
var flagsWithValue = map[string]bool{
	"-c": true, "--context": true, "-H": true, "--host": true, "--config": true,
	"-l": true, "--log-level": true, "--tlscacert": true, "--tlscert": true, "--tlskey": true,
}

// globalArgs returns the global docker flags before the "live" command, so
// that a child streamer serves the same context and endpoint.
func globalArgs(args []string) []string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "live" {
			return append([]string(nil), args[:i]...)
		}
		if flagsWithValue[a] {
			i++
		}
	}
	return nil
}

// streamerDialer dials the context's streamer and starts one when none
// answers. Starts are spaced out, so that a streamer that keeps failing is
// not restarted in a tight loop while the client falls back to polling.
type streamerDialer struct {
	dockerCli command.Cli
	paths     streamerPaths
	notice    func(string) // where to say that a streamer is being started
	noStart   bool

	mu        sync.Mutex
	lastStart time.Time
	firstDial time.Time // when this command first dialled: a stop after it is honoured
}

// errStreamerStopped says why a client polls after `docker live stop`.
var errStreamerStopped = fmt.Errorf("%w: the streamer was stopped with 'docker live stop' (a new docker live command starts it again)", liveclient.ErrFallBackNow)

// stopMarkPath is where `docker live stop` records that it stopped the
// streamer on purpose, so that attached clients do not start it again.
func stopMarkPath(p streamerPaths) string { return filepath.Join(p.Dir, "stopped") }

// markStopped records a deliberate stop before the streamer is signalled.
func markStopped(p streamerPaths, pid int) {
	_ = writeFile0600(stopMarkPath(p), fmt.Appendf(nil, "%d\n", pid))
}

// stoppedSince reports whether the streamer was stopped on purpose after t.
func stoppedSince(p streamerPaths, t time.Time) bool {
	fi, err := os.Stat(stopMarkPath(p))
	return err == nil && fi.ModTime().After(t)
}

const restartSpacing = 3 * time.Second

func (d *streamerDialer) Dial(ctx context.Context) (net.Conn, error) {
	d.mu.Lock()
	if d.firstDial.IsZero() {
		d.firstDial = time.Now()
	}
	d.mu.Unlock()
	c, err := dialSocket(ctx, d.paths.Socket)
	if err == nil || d.noStart {
		return c, err
	}
	if !noStreamerListens(err) {
		return nil, err
	}
	d.mu.Lock()
	// A streamer that `docker live stop` ended stays stopped for the
	// commands that were attached to it: they poll instead and say why.
	// One that crashed or was killed has no mark and is started again;
	// a command started after the stop starts one as usual.
	if stoppedSince(d.paths, d.firstDial) {
		d.mu.Unlock()
		return nil, errStreamerStopped
	}
	due := time.Since(d.lastStart) >= restartSpacing
	if due {
		d.lastStart = time.Now()
	}
	d.mu.Unlock()
	if !due {
		return nil, err
	}
	if d.notice != nil {
		d.notice(fmt.Sprintf("starting the docker live streamer for context %q...", d.dockerCli.CurrentContext()))
	}
	if _, _, serr := startDetached(ctx, d.dockerCli, d.paths, streamer.DefaultOptions()); serr != nil {
		return nil, serr
	}
	return dialSocket(ctx, d.paths.Socket)
}
