package plugin

// The interactive terminal view of `docker live watch`: the tui package
// draws, this file feeds it. The data come from the same watchState and
// liveclient (with its polling fallback) as the plain table, so live,
// reconnecting and polling share one renderer; the actions go from here
// to the Engine, never through the streamer.

import (
	"context"
	"errors"
	"fmt"
	"os"
	ossignal "os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/liveclient"
	"github.com/docker-live/docker-live/stream/source"
	"github.com/docker-live/docker-live/tui"
)

// watchFPS is the view's frame rate.
const watchFPS = 30

// graphSpan is how much stats history the detail view graphs, and asks
// the streamer for.
const graphSpan = 5 * time.Minute

// terminalViewWanted reports whether watch runs the interactive view: a
// terminal on both sides (keys in, screen out), no output format, not a
// one-off print, not --plain, and a terminal that can address its cursor
// (TERM=dumb gets the plain table).
func terminalViewWanted(opts watchOptions, stdinTTY, stdoutTTY bool, getenv func(string) string) bool {
	return !opts.plain && opts.format == "" && !opts.noStream && stdinTTY && stdoutTTY && getenv("TERM") != "dumb"
}

// colorWanted follows https://no-color.org: NO_COLOR set to anything
// non-empty turns colour off.
func colorWanted(getenv func(string) string) bool {
	return getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

func runWatchTUI(ctx context.Context, dockerCli command.Cli, wv *watchView) error {
	opts := wv.opts
	state := newWatchState()
	color := colorWanted(os.Getenv)
	model := tui.New(tui.Options{
		Engine: engineActions{api: dockerCli.Client()},
		Sort:   opts.sort,
		// As in the plain table: arguments and a status filter show every
		// state they name.
		All:       opts.all || len(opts.containers) > 0 || len(wv.filters.statuses()) > 0,
		Color:     color,
		GraphSpan: graphSpan,
	})
	progOpts := []tea.ProgramOption{
		// The files themselves, not the CLI's stream wrappers: bubbletea
		// puts a terminal it can see as a file into raw mode and reads its size.
		tea.WithInput(os.Stdin),
		tea.WithOutput(os.Stdout),
		// This command owns the signals: SIGINT and SIGTERM cancel ctx
		// (withInterrupt), SIGHUP below; each quits the program, which
		// restores the terminal before the exit status is chosen.
		tea.WithoutSignalHandler(),
		// 30 frames a second: a key press shows within 33 ms, and the
		// renderer wakes half as often as at bubbletea's default 60 (an
		// idle view's CPU is mostly those wake-ups).
		tea.WithFPS(watchFPS),
	}
	if !color {
		progOpts = append(progOpts, tea.WithColorProfile(colorprofile.Ascii))
	}
	p := tea.NewProgram(model, progOpts...)

	var (
		failMu sync.Mutex
		fail   error
	)
	setFail := func(err error) {
		failMu.Lock()
		if fail == nil {
			fail = err
		}
		failMu.Unlock()
	}
	// A panic in a feeding goroutine kills the program (which restores
	// the terminal) and is reported after it, not on the alternate screen.
	guard := func(fn func()) {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					setFail(fmt.Errorf("internal error: %v\n%s", r, debug.Stack()))
					p.Kill()
				}
			}()
			fn()
		}()
	}

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	hup := make(chan os.Signal, 1)
	ossignal.Notify(hup, syscall.SIGHUP)
	defer ossignal.Stop(hup)
	hungUp := false
	var hupMu sync.Mutex
	guard(func() {
		select {
		case <-runCtx.Done():
			p.Quit()
		case <-hup:
			hupMu.Lock()
			hungUp = true
			hupMu.Unlock()
			p.Quit()
		}
	})

	// The stream, or polling while the streamer cannot be reached.
	pollInto := func(ctx context.Context) {
		_ = source.PollSampled(ctx, dockerCli.Client(), state.pollSink(), opts.interval, wv.visible)
	}
	runErr := make(chan error, 1)
	outages := &outageNote{}
	if opts.poll {
		state.setConn(liveclient.State{Mode: liveclient.ModePolling})
		guard(func() { pollInto(runCtx); runErr <- nil })
	} else {
		dialer := &streamerDialer{dockerCli: dockerCli, paths: pathsFor(dockerCli), notice: func(string) { state.setStarting(true) }}
		handle := func(m *stream.Message) error {
			if m.Type == stream.TypeHistory && m.History != nil {
				p.Send(tui.HistoryMsg{History: m.History})
				return nil
			}
			return state.Apply(m)
		}
		guard(func() {
			runErr <- liveclient.Run(runCtx, liveclient.Options{
				Dial: dialer.Dial,
				Subscription: stream.Subscription{
					Topics:        []string{stream.TopicContainers, stream.TopicStats},
					StatsInterval: opts.interval.String(),
					History:       stream.HistoryRequest{Want: true, Span: graphSpan},
				},
				OnState: func(st liveclient.State) {
					outages.record(st, time.Now())
					state.setConn(st)
				},
				Fallback: pollInto,
			}, handle)
		})
	}
	guard(func() {
		if err := feedTUI(runCtx, p, wv, state, outages, runErr); err != nil {
			setFail(err)
			p.Quit()
		}
	})

	_, err := p.Run()
	stopRun()
	failMu.Lock()
	failed := fail
	failMu.Unlock()
	if failed != nil {
		return failed
	}
	hupMu.Lock()
	hup1 := hungUp
	hupMu.Unlock()
	if hup1 {
		exitProcess(129) // 128 + SIGHUP, as a shell reports it
		return nil
	}
	switch {
	case errors.Is(err, tea.ErrInterrupted):
		// Ctrl-C, read as a key in raw mode: the status of a SIGINT, as
		// the plain table exits with.
		exitProcess(130)
		return nil
	case errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil:
		return interrupted(ctx)
	case err != nil:
		return err
	}
	return interrupted(ctx)
}

// stateFrame is the shortest time between two frames for state changes.
const stateFrame = 50 * time.Millisecond

// feedTUI sends the watch state to the program: state changes at once,
// stats at most once per interval, and a frame every interval anyway so
// that uptimes and the reconnect countdown move. It returns the stream's
// fatal error (a streamer that refuses us for good), nil when ctx ends.
func feedTUI(ctx context.Context, p *tea.Program, wv *watchView, state *watchState, outages *outageNote, runErr <-chan error) error {
	// Containers pass through the arguments and --filter; running-only is
	// the view's own toggle (a).
	every := *wv
	every.opts.all = true
	tick := time.NewTicker(wv.opts.interval)
	defer tick.Stop()
	var lastStats, lastSent time.Time
	var statePending, statsPending <-chan time.Time
	argsChecked := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-runErr:
			if err != nil {
				return err
			}
			return nil
		case <-state.stateCh:
			// State changes go out at once, but at most one frame per
			// stateFrame: a flood of events (health checks flapping on
			// hundreds of containers) must not rebuild the view for each.
			if since := time.Since(lastSent); since < stateFrame {
				if statePending == nil {
					statePending = time.After(stateFrame - since)
				}
				continue
			}
		case <-statePending:
			statePending = nil
		case <-state.statsCh:
			if since := time.Since(lastStats); since < wv.opts.interval {
				if statsPending == nil {
					statsPending = time.After(wv.opts.interval - since)
				}
				continue
			}
			lastStats = time.Now()
		case <-statsPending:
			statsPending = nil
			lastStats = time.Now()
		case <-tick.C:
			if time.Since(lastSent) < wv.opts.interval/2 {
				continue // a frame went out just now: uptimes are fresh
			}
		}
		lastSent = time.Now()
		v := state.snapshot(false)
		if v.haveState && !argsChecked {
			if _, err := resolveArgs(wv.opts.containers, v.containers); err != nil {
				return err
			}
			argsChecked = true
		}
		now := time.Now()
		msg := tui.DataMsg{Stats: v.stats, Header: wv.header(v, now)}
		if msg.Header.Mode == output.ModeLive && msg.Header.Detail == "" {
			msg.Header.Detail = outages.recent(now)
		}
		msg.Containers = slices.DeleteFunc(v.containers, func(c stream.Container) bool { return !every.visible(&c) })
		if v.haveState {
			msg.Header.Waiting, _ = resolveArgs(wv.opts.containers, v.containers)
		}
		if !v.haveState && !v.starting && v.conn.Mode != liveclient.ModeReconnecting && v.conn.Mode != liveclient.ModePolling {
			continue
		}
		p.Send(msg)
	}
}

// outageNote remembers the last time the connection was lost and came
// back, so that the header says so for a while after: a streamer restarted
// within a second would otherwise leave no trace on the screen, where the
// reconnecting state may never have been drawn.
type outageNote struct {
	mu      sync.Mutex
	wasLive bool
	start   time.Time       // the current outage began (zero: none)
	mode    liveclient.Mode // the worst mode of the current outage
	ended   time.Time
	lasted  time.Duration
	endMode liveclient.Mode
}

// outageShownFor is how long "resumed after ..." stays in the header.
const outageShownFor = 10 * time.Second

func (o *outageNote) record(st liveclient.State, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch st.Mode {
	case liveclient.ModeLive:
		if !o.start.IsZero() {
			o.ended, o.lasted, o.endMode = now, now.Sub(o.start), o.mode
			o.start = time.Time{}
		}
		o.wasLive = true
	case liveclient.ModeReconnecting, liveclient.ModePolling:
		if !o.wasLive {
			return
		}
		if o.start.IsZero() {
			o.start, o.mode = now, st.Mode
		}
		if st.Mode == liveclient.ModePolling {
			o.mode = st.Mode
		}
	}
}

// recent is the header's detail for a live connection that came back
// within outageShownFor, or "".
func (o *outageNote) recent(now time.Time) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ended.IsZero() || now.Sub(o.ended) > outageShownFor {
		return ""
	}
	return fmt.Sprintf("resumed %s after %s %s", o.ended.Local().Format(time.TimeOnly), o.lasted.Round(100*time.Millisecond), o.endMode)
}

// engineActions is the view's Engine: the CLI's API client.
type engineActions struct {
	api client.APIClient
}

func (e engineActions) Pause(ctx context.Context, id string) error {
	_, err := e.api.ContainerPause(ctx, id, client.ContainerPauseOptions{})
	return engineErr(err)
}

func (e engineActions) Unpause(ctx context.Context, id string) error {
	_, err := e.api.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{})
	return engineErr(err)
}

func (e engineActions) Restart(ctx context.Context, id string) error {
	_, err := e.api.ContainerRestart(ctx, id, client.ContainerRestartOptions{})
	return engineErr(err)
}

func (e engineActions) Stop(ctx context.Context, id string) error {
	_, err := e.api.ContainerStop(ctx, id, client.ContainerStopOptions{})
	return engineErr(err)
}

func (e engineActions) Inspect(ctx context.Context, id string) (tui.Identity, error) {
	res, err := e.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return tui.Identity{}, engineErr(err)
	}
	c := res.Container
	idn := tui.Identity{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), RestartCount: c.RestartCount}
	idn.Command = strings.Join(append([]string{c.Path}, c.Args...), " ")
	if c.Config != nil {
		idn.Image = c.Config.Image
		idn.Labels = c.Config.Labels
	}
	if st := c.State; st != nil {
		idn.State, idn.ExitCode = string(st.Status), st.ExitCode
		idn.Started, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
		idn.Finished, _ = time.Parse(time.RFC3339Nano, st.FinishedAt)
		if h := st.Health; h != nil {
			idn.Health = string(h.Status)
			if n := len(h.Log); n > 0 && h.Log[n-1] != nil {
				idn.HealthOutput, idn.HealthExit = h.Log[n-1].Output, h.Log[n-1].ExitCode
			}
		}
	}
	idn.Created, _ = time.Parse(time.RFC3339Nano, c.Created)
	if ns := c.NetworkSettings; ns != nil {
		for name := range ns.Networks {
			idn.Networks = append(idn.Networks, name)
		}
		slices.Sort(idn.Networks)
	}
	return idn, nil
}

// engineErr keeps the Engine's message, on one line, for the status line.
func engineErr(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(oneLine(err))
}
