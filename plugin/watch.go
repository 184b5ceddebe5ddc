package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	ossignal "os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/liveclient"
	"github.com/docker-live/docker-live/stream/source"
)

type watchOptions struct {
	all        bool
	filters    []string
	sort       string
	noStream   bool
	noTrunc    bool
	format     string
	interval   time.Duration
	poll       bool
	plain      bool
	containers []string
	// contexts is --contexts: several contexts in one view
	// (watch_contexts.go); empty for the current context alone.
	contexts string
}

// noStreamWait bounds how long --no-stream waits for stats of a streamer
// that has just started and holds none yet. A warm streamer answers at once.
const noStreamWait = 3 * time.Second

// noStreamPollWait bounds --poll --no-stream, which waits for two rounds.
const noStreamPollWait = 20 * time.Second

var sortKeys = []string{"name", "cpu", "mem", "net", "io", "pids", "state"}

func newWatchCommand(dockerCli command.Cli) *cobra.Command {
	var opts watchOptions
	cmd := &cobra.Command{
		Use:   "watch [OPTIONS] [CONTAINER...]",
		Short: "Live table of containers: state, health, CPU, memory, network, block I/O, PIDs",
		Long: "Attaches to the current context's streamer (starting one in the background when none runs)\n" +
			"and shows every container live. Falls back to polling the Docker API when the streamer\n" +
			"cannot be reached, and returns to live by itself.",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runWatch(cmd.Context(), dockerCli, opts)
		},
	}
	addWatchFlags(cmd, &opts)
	return cmd
}

// addWatchFlags binds watch's flags to opts.
func addWatchFlags(cmd *cobra.Command, opts *watchOptions) {
	f := cmd.Flags()
	f.BoolVarP(&opts.all, "all", "a", false, "Show all containers (default shows running and paused)")
	f.StringArrayVarP(&opts.filters, "filter", "f", nil, "Filter containers (name, id, label, status, health, ancestor, project)")
	f.StringVar(&opts.sort, "sort", "name", "Sort by name, cpu, mem, net, io, pids or state")
	f.BoolVar(&opts.noStream, "no-stream", false, "Print the current state once and exit")
	f.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate output")
	f.StringVar(&opts.format, "format", "", `Format: "table", "table TEMPLATE", "json" (NDJSON) or a Go template`)
	f.DurationVar(&opts.interval, "interval", time.Second, "Stats refresh and polling interval (at least 1s)")
	f.BoolVar(&opts.poll, "poll", false, "Skip the streamer and poll the Docker API directly")
	f.StringVar(&opts.contexts, "contexts", "", `Watch several Docker contexts in one table: "a,b" or "all"`)

	f.BoolVar(&opts.plain, "plain", false, "On a terminal, show the redrawing table instead of the interactive view")
}

// watchView is what one run of watch needs to render: the parsed options.
type watchView struct {
	opts    watchOptions
	format  output.WatchFormat
	filters watchFilters
	context string
	// engineNotices, when set, gets one line per change of the Engine's
	// state, for output without a header line.
	engineNotices func(stream.EngineStatus)
	// argsAcrossContexts leaves the check of the CONTAINER arguments to
	// watch --contexts, which looks for them in every context.
	argsAcrossContexts bool
}

// newWatchView checks opts and parses what rendering needs; its errors are
// usage errors (exit 125).
func newWatchView(opts watchOptions, contextName string) (*watchView, error) {
	format, err := output.ParseWatchFormat(opts.format)
	if err != nil {
		return nil, usageError(err)
	}
	filters, err := parseWatchFilters(opts.filters)
	if err != nil {
		return nil, usageError(err)
	}
	if !slices.Contains(sortKeys, opts.sort) {
		return nil, usageError(fmt.Errorf("invalid --sort %q: use one of %s", opts.sort, strings.Join(sortKeys, ", ")))
	}
	if opts.interval < stream.MinStatsInterval {
		return nil, usageError(fmt.Errorf("invalid --interval %s: it must be at least %s", opts.interval, stream.MinStatsInterval))
	}
	return &watchView{opts: opts, format: format, filters: filters, context: contextName}, nil
}

func runWatch(ctx context.Context, dockerCli command.Cli, opts watchOptions) error {
	if opts.contexts != "" {
		return runWatchContexts(ctx, dockerCli, opts)
	}
	wv, err := newWatchView(opts, dockerCli.CurrentContext())
	if err != nil {
		return err
	}

	ctx, stop := withInterrupt(ctx)
	defer stop()
	ignoreSIGPIPE()
	if terminalViewWanted(opts, dockerCli.In().IsTerminal(), dockerCli.Out().IsTerminal(), os.Getenv) {
		return runWatchTUI(ctx, dockerCli, wv)
	}

	state := newWatchState()
	errOut := dockerCli.Err()
	jsonNotices := wv.format.Kind != output.FormatTable || !dockerCli.Out().IsTerminal()
	if jsonNotices {
		wv.engineNotices = engineNoticePrinter(errOut)
	}
	runErr := make(chan error, 1)
	pollInto := func(ctx context.Context) {
		// Only the containers shown are sampled: on a busy Engine each
		// one-shot stats request takes a second or more.
		_ = source.PollSampled(ctx, dockerCli.Client(), state.pollSink(), opts.interval, wv.visible)
	}
	if opts.noStream && !opts.poll {
		// No streamer to answer from its cache: make sure the Engine does
		// before starting one, so that an unreachable Engine fails at once
		// (as docker stats does) and leaves no streamer behind for it.
		if err := engineReachableUnlessServed(ctx, dockerCli, pathsFor(dockerCli)); err != nil {
			return err
		}
	}
	if opts.poll {
		state.setConn(liveclient.State{Mode: liveclient.ModePolling})
		go func() { pollInto(ctx); runErr <- nil }()
	} else {
		notice := func(s string) { fmt.Fprintln(errOut, s) }
		if !jsonNotices && !opts.noStream {
			// A terminal's first frame would wipe a stderr line: the
			// header says it instead, until the streamer answers.
			notice = func(string) { state.setStarting(true) }
		}
		dialer := &streamerDialer{dockerCli: dockerCli, paths: pathsFor(dockerCli), notice: notice}
		notices := newConnNotices(errOut, jsonNotices)
		go func() {
			runErr <- liveclient.Run(ctx, liveclient.Options{
				Dial: dialer.Dial,
				Subscription: stream.Subscription{
					Topics:        []string{stream.TopicContainers, stream.TopicStats},
					StatsInterval: opts.interval.String(),
				},
				OnState: func(st liveclient.State) {
					state.setConn(st)
					notices.report(st, opts.interval)
				},
				Fallback: pollInto,
			}, state.Apply)
		}()
	}

	out := dockerCli.Out()
	if opts.noStream {
		err = watchOnce(ctx, out, wv, state, runErr)
	} else {
		err = watchLoop(ctx, out, wv, state, runErr)
	}
	if errors.Is(err, errClosedPipe) {
		return nil
	}
	if err == nil {
		return interrupted(ctx)
	}
	return err
}

// engineCheckWait bounds the Engine check of a cold --no-stream: it must
// fail within a second.
const engineCheckWait = 800 * time.Millisecond

// engineReachableUnlessServed returns nil when the context's streamer
// answers on its socket or the Engine answers a ping, and the ping's
// error, in one line, otherwise.
func engineReachableUnlessServed(ctx context.Context, dockerCli command.Cli, paths streamerPaths) error {
	if c, err := dialSocket(ctx, paths.Socket); err == nil {
		c.Close()
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, engineCheckWait)
	defer cancel()
	if _, err := dockerCli.Client().Ping(pctx, client.PingOptions{}); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("Cannot connect to the Docker daemon at %s: no answer within %s", dockerCli.DockerEndpoint().Host, engineCheckWait)
		}
		return errors.New(oneLine(err))
	}
	return nil
}

// watchOnce prints the state once, as soon as the streamer's snapshot (or
// a poll) has it, without waiting for new samples when it already has them.
func watchOnce(ctx context.Context, out io.Writer, wv *watchView, state *watchState, runErr <-chan error) error {
	v, ok, err := awaitOnce(ctx, wv, state, runErr)
	if err != nil || !ok {
		return err
	}
	return writeOut(out, renderOnce(wv, v))
}

// awaitOnce waits until state can be printed once and returns it; ok is
// false when ctx ended first.
func awaitOnce(ctx context.Context, wv *watchView, state *watchState, runErr <-chan error) (v view, ok bool, err error) {
	wait := noStreamWait + 2*time.Second
	if wv.opts.poll {
		// Two polling rounds, each as slow as the Engine's one-shot
		// stats (seconds on a busy Engine): printing "--" early would
		// hide numbers that are on their way.
		wait = noStreamPollWait
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	var statsWait <-chan time.Time
	for {
		v := state.snapshot(false)
		// A streamer that has just started answers before its Engine's
		// first list when that takes longer than it waits (a busy Engine):
		// its Engine is not unavailable, only not connected yet.
		connecting := v.haveState && v.engine == engineNotConnectedYet
		if v.haveState && v.engine.State == stream.EngineUnavailable && !connecting {
			return v, false, fmt.Errorf("the Docker Engine is unavailable: %s", v.engine.Error)
		}
		if v.haveState && v.engine.State != stream.EngineUnavailable {
			missing, err := resolveArgs(wv.opts.containers, v.containers)
			if err != nil {
				return v, false, err
			}
			if len(missing) > 0 && !wv.argsAcrossContexts {
				return v, false, noSuchContainers(missing)
			}
		}
		if v.haveState && v.conn.Mode != liveclient.ModePolling && !connecting {
			if statsWait == nil {
				t := time.NewTimer(noStreamWait)
				defer t.Stop()
				statsWait = t.C
			}
			if onceReady(wv, v) || v.pollRounds >= 3 {
				// Ready, or polling's second round is over: what is still
				// missing is not coming, and shows as "--".
				return v, true, nil
			}
			if v.conn.Mode == liveclient.ModePolling {
				statsWait = nil
			}
		}
		select {
		case <-ctx.Done():
			return v, false, nil
		case err := <-runErr:
			if err != nil {
				return v, false, err
			}
			return v, false, errors.New("the stream ended before any state arrived")
		case <-state.stateCh:
		case <-state.statsCh:
		case <-statsWait:
			return onceAnswer(state.snapshot(false))
		case <-deadline.C:
			if v := state.snapshot(false); v.haveState {
				return onceAnswer(v) // what is missing shows as "--"
			}
			return v, false, errors.New("no state from the streamer or the Docker API in time")
		}
	}
}

// engineNotConnectedYet is a new streamer's Engine status until its
// Engine first answers (stream/hub's initial state).
var engineNotConnectedYet = stream.EngineStatus{State: stream.EngineUnavailable, Error: "not connected yet"}

// onceAnswer is what --no-stream answers with v when it waits no longer:
// v, or that the Engine is unavailable.
func onceAnswer(v view) (view, bool, error) {
	if v.engine.State == stream.EngineUnavailable {
		return v, false, fmt.Errorf("the Docker Engine is unavailable: %s", v.engine.Error)
	}
	return v, true, nil
}

// onceReady reports whether --no-stream can print v: every shown running
// container has a sample, and, when polling, one with a CPU delta.
func onceReady(wv *watchView, v view) bool {
	// Polling has CPU % from its second round on; the streamer's cache
	// has it already.
	polling := v.conn.Mode == liveclient.ModePolling
	if !statsComplete(wv, v) {
		return false
	}
	if polling {
		for _, c := range v.containers {
			if c.State == "running" && wv.visible(&c) && v.sampleRound[c.ID] < 2 {
				return false
			}
		}
	}
	return true
}

// statsComplete reports whether every shown running container has a sample.
func statsComplete(wv *watchView, v view) bool {
	for _, c := range v.containers {
		if c.State != "running" || !wv.visible(&c) {
			continue
		}
		if _, ok := v.stats[c.ID]; !ok {
			return false
		}
	}
	return true
}

func renderOnce(wv *watchView, v view) []byte {
	now := time.Now()
	rows := wv.rows(v)
	switch wv.format.Kind {
	case output.FormatJSON:
		var buf []byte
		for _, r := range rows {
			buf = output.AppendJSONRow(buf, r, wv.context, lineTime(r, now))
		}
		return buf
	case output.FormatTemplate:
		return wv.appendTemplateRows(nil, rows, now)
	default:
		return output.RenderTable(rows, output.Header{}, output.TableOptions{NoTrunc: wv.opts.noTrunc, Now: now, Template: wv.format.Template})
	}
}

// lineTime is the time of an NDJSON line: its sample's, or now without one.
func lineTime(r output.Row, now time.Time) time.Time {
	if r.HasStats && !r.Sampled.IsZero() {
		return r.Sampled
	}
	return now
}

func (wv *watchView) appendTemplateRows(buf []byte, rows []output.Row, now time.Time) []byte {
	for _, r := range rows {
		var err error
		buf, err = wv.format.Template.AppendRow(buf, r, output.TableOptions{NoTrunc: wv.opts.noTrunc, Now: now})
		if err != nil {
			buf = append(buf, fmt.Sprintf("template error: %v\n", err)...)
		}
	}
	return buf
}

// visible applies -a, the CONTAINER arguments and --filter. As in docker
// ps, a status filter implies -a for the states it names, and as in docker
// stats, named containers show whatever their state.
func (wv *watchView) visible(c *stream.Container) bool {
	all := wv.opts.all || len(wv.opts.containers) > 0 || len(wv.filters.statuses()) > 0
	if !all && !stream.IsActive(c.State) {
		return false
	}
	if len(wv.opts.containers) > 0 && !slices.ContainsFunc(wv.opts.containers, func(a string) bool {
		return argMatches(a, c)
	}) {
		return false
	}
	return wv.filters.matchContainer(c)
}

// argMatches is a CONTAINER argument's rule: the name, or an id prefix.
func argMatches(arg string, c *stream.Container) bool {
	return arg == strings.TrimPrefix(c.Name, "/") || strings.HasPrefix(c.ID, arg)
}

// resolveArgs checks the CONTAINER arguments against the containers known:
// those that match none are returned; an id prefix that matches several
// containers (and no name) is an error, as in docker.
func resolveArgs(args []string, containers []stream.Container) (missing []string, err error) {
	for _, a := range args {
		byName, byPrefix := 0, 0
		for i := range containers {
			c := &containers[i]
			if a == strings.TrimPrefix(c.Name, "/") {
				byName++
			} else if strings.HasPrefix(c.ID, a) {
				byPrefix++
			}
		}
		switch {
		case byName > 0:
		case byPrefix > 1:
			return nil, fmt.Errorf("Multiple IDs found with provided prefix: %s", a)
		case byPrefix == 0:
			missing = append(missing, a)
		}
	}
	return missing, nil
}

// noSuchContainers is docker stats' answer for names that match nothing:
// one line per name, exit status 1.
func noSuchContainers(names []string) error {
	lines := make([]string, len(names))
	for i, n := range names {
		lines[i] = "No such container: " + n
	}
	return errors.New(strings.Join(lines, "\n"))
}

func (wv *watchView) rows(v view) []output.Row {
	now := time.Now()
	rows := make([]output.Row, 0, len(v.containers))
	for i := range v.containers {
		c := &v.containers[i]
		if !wv.visible(c) {
			continue
		}
		var s *stream.Stats
		if st, ok := v.stats[c.ID]; ok {
			s = &st
		}
		// The status text is relative ("Up 5 minutes"): recompute it for
		// this frame rather than show the one from the last change.
		if !c.StartedAt.IsZero() {
			// Polling lists containers without their start time: keep
			// the Engine's own text for those rather than "Up 292 years".
			c.Status = stream.StatusText(*c, now)
		}
		r := output.NewRow(*c, s)
		r.Context = wv.context
		rows = append(rows, r)
	}
	sortRows(rows, wv.opts.sort)
	return rows
}

func sortRows(rows []output.Row, key string) {
	desc := func(f func(r *output.Row) float64) func(a, b output.Row) int {
		return func(a, b output.Row) int {
			if x, y := f(&a), f(&b); x != y {
				if x > y {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Name, b.Name)
		}
	}
	var cmp func(a, b output.Row) int
	switch key {
	case "cpu":
		cmp = desc(func(r *output.Row) float64 { return r.CPUPercent })
	case "mem":
		cmp = desc(func(r *output.Row) float64 { return float64(r.MemUsage) })
	case "net":
		cmp = desc(func(r *output.Row) float64 { return r.NetRxRate + r.NetTxRate })
	case "io":
		cmp = desc(func(r *output.Row) float64 { return float64(r.BlockRead + r.BlockWrite) })
	case "pids":
		cmp = desc(func(r *output.Row) float64 { return float64(r.PIDs) })
	case "state":
		cmp = func(a, b output.Row) int {
			if c := strings.Compare(a.State, b.State); c != 0 {
				return c
			}
			return strings.Compare(a.Name, b.Name)
		}
	default:
		cmp = func(a, b output.Row) int { return strings.Compare(a.Name, b.Name) }
	}
	slices.SortStableFunc(rows, cmp)
}

// watchLoop redraws state changes at once and stats at most every interval.
func watchLoop(ctx context.Context, out io.Writer, wv *watchView, state *watchState, runErr <-chan error) error {
	tty := false
	fd := -1
	if f, ok := out.(interface{ FD() uintptr }); ok {
		fd = int(f.FD())
		tty = term.IsTerminal(fd)
	}
	table := wv.format.Kind == output.FormatTable
	var framer output.Framer
	if table {
		framer = output.NewFramer(tty)
		defer func() { _, _ = out.Write(framer.Restore()) }()
	}
	pacer := newStatsPacer(wv.opts.interval)
	argsChecked := false
	written := map[string]time.Time{} // per container, the sample time of its last line (json, templates)
	redraw := time.NewTicker(wv.opts.interval)
	defer redraw.Stop()
	for {
		// Plain output only changes when data does.
		draw, err := pacer.nextFrame(ctx, runErr, state.stateCh, state.statsCh, redraw.C, table && tty)
		if !draw {
			return err
		}
		v := state.snapshot(true)
		if v.haveState && !argsChecked {
			// An ambiguous id prefix is an error as in docker; a name not
			// there yet is waited for (the header says so).
			if _, err := resolveArgs(wv.opts.containers, v.containers); err != nil {
				return err
			}
			argsChecked = true
		}
		if wv.engineNotices != nil && v.engine.State != "" {
			wv.engineNotices(v.engine)
		}
		if !v.haveState && !v.starting && v.conn.Mode != liveclient.ModeReconnecting && v.conn.Mode != liveclient.ModePolling {
			continue
		}
		now := time.Now()
		var buf []byte
		if table {
			width, height := 0, 0
			if tty {
				width, height, _ = term.GetSize(fd)
			}
			rows := wv.rows(v)
			h := wv.header(v, now)
			h.Containers = len(rows)
			h.Total = len(v.containers)
			if v.haveState {
				h.Waiting, _ = resolveArgs(wv.opts.containers, v.containers)
			}
			body := output.RenderTable(rows, h, output.TableOptions{
				Width: width, Height: height, NoTrunc: wv.opts.noTrunc, Now: now, TTY: tty, Template: wv.format.Template,
			})
			buf = framer.Frame(body)
		} else {
			// One line per container whose state changed or that has a
			// new sample; an unchanged one is not repeated.
			rows := slices.DeleteFunc(wv.rows(v), func(r output.Row) bool {
				return !v.dirty[r.ID] && (!r.HasStats || written[r.ID].Equal(r.Sampled))
			})
			for _, r := range rows {
				if r.HasStats {
					written[r.ID] = r.Sampled
				}
			}
			if len(written) > 2*len(v.containers)+64 {
				// Forget removed containers now and then.
				for id := range written {
					if !slices.ContainsFunc(v.containers, func(c stream.Container) bool { return c.ID == id }) {
						delete(written, id)
					}
				}
			}
			if wv.format.Kind == output.FormatJSON {
				for _, r := range rows {
					t := now
					if !v.dirty[r.ID] {
						t = lineTime(r, now)
					}
					buf = output.AppendJSONRow(buf, r, wv.context, t)
				}
			} else {
				buf = wv.appendTemplateRows(buf, rows, now)
			}
		}
		if err := writeOut(out, buf); err != nil {
			return err
		}
	}
}

func (wv *watchView) header(v view, now time.Time) output.Header {
	h := output.Header{Context: wv.context, Updated: v.updated}
	switch v.conn.Mode {
	case liveclient.ModeLive:
		h.Mode = output.ModeLive
		if v.conn.Stale {
			h.Mode = output.ModeStale
			h.Detail = fmt.Sprintf("%s without a message from the streamer", now.Sub(v.conn.LastHeard).Round(time.Second))
		}
	case liveclient.ModePolling:
		h.Mode = output.ModePolling
		h.Detail = fmt.Sprintf("%s, Docker API every %s", pollReason(v.conn.Err), wv.opts.interval)
	case liveclient.ModeReconnecting:
		h.Mode = output.ModeReconnecting
		h.Detail = fmt.Sprintf("attempt %d, next in %s", v.conn.Attempt, v.conn.NextTry.Round(100*time.Millisecond))
	default:
		h.Mode = output.ModeReconnecting
		h.Detail = "connecting"
	}
	if v.starting && v.conn.Mode != liveclient.ModeLive {
		h.Detail = "starting the streamer; stats show -- until their first samples, about 2 s"
	}
	if v.engine.State == stream.EngineUnavailable && v.haveState {
		h.Mode = output.ModeEngineUnavailable
		h.Detail = v.engine.Error
	}
	return h
}

// writeOut writes one frame; a closed pipe (| head) ends quietly.
func writeOut(out io.Writer, buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	_, err := out.Write(buf)
	if errors.Is(err, syscall.EPIPE) {
		return errClosedPipe
	}
	return err
}

// errClosedPipe ends a command whose reader went away; it exits 0.
var errClosedPipe = errors.New("output closed")

// ignoreSIGPIPE makes writes to a closed stdout fail with EPIPE instead of
// killing the process, so that `| head` ends the command with status 0.
func ignoreSIGPIPE() {
	ossignal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}

// engineNoticePrinter returns a func that prints one stderr line whenever
// the Engine's state differs from the last one it saw.
func engineNoticePrinter(w io.Writer) func(stream.EngineStatus) {
	last := stream.EngineConnected // say nothing while all is well from the start
	return func(st stream.EngineStatus) {
		if st.State == last {
			return
		}
		last = st.State
		if st.State == stream.EngineUnavailable {
			fmt.Fprintf(w, "docker live: Engine unavailable: %s\n", st.Error)
		} else {
			fmt.Fprintln(w, "docker live: Engine connected")
		}
	}
}

// connNotices prints one stderr line per change of connection mode, for
// output that has no header line (json, templates, pipes).
type connNotices struct {
	w       io.Writer
	enabled bool
	now     func() time.Time
	last    liveclient.Mode
	stale   bool
}

func newConnNotices(w io.Writer, enabled bool) *connNotices {
	return &connNotices{w: w, enabled: enabled, now: time.Now}
}

func (n *connNotices) report(st liveclient.State, interval time.Duration) {
	if !n.enabled {
		return
	}
	if st.Stale != n.stale {
		n.stale = st.Stale
		if st.Stale {
			fmt.Fprintf(n.w, "docker live: stale: no message from the streamer for %s (last at %s)\n",
				n.now().Sub(st.LastHeard).Round(time.Second), st.LastHeard.Format(time.TimeOnly))
		} else if st.Mode == liveclient.ModeLive && n.last == liveclient.ModeLive {
			fmt.Fprintln(n.w, "docker live: live: the streamer answers again")
		}
	}
	if st.Mode == n.last {
		return
	}
	prev := n.last
	n.last = st.Mode
	switch st.Mode {
	case liveclient.ModeLive:
		if prev != "" && prev != liveclient.ModeConnecting {
			fmt.Fprintln(n.w, "docker live: live: connected to the streamer")
		}
	case liveclient.ModeReconnecting:
		fmt.Fprintf(n.w, "docker live: reconnecting: streamer connection lost (%v)\n", oneLine(st.Err))
	case liveclient.ModePolling:
		fmt.Fprintf(n.w, "docker live: polling: %s, polling the Docker API every %s\n", pollReason(st.Err), interval)
	}
}

// pollReason says why a client polls: the streamer was stopped on purpose,
// or it cannot be reached.
func pollReason(err error) string {
	if errors.Is(err, errStreamerStopped) {
		return "streamer stopped by 'docker live stop'"
	}
	return "streamer unavailable"
}
