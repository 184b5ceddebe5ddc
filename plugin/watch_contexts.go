package plugin

// watch --contexts: one view over several Docker contexts. Every context
// is served as `watch` serves the current one (its own streamer, started
// or attached, with the polling fallback), by a goroutine of its own that
// feeds a watchState of its own. The renderer only takes snapshots of those
// states (a short lock around map copies, never across I/O), so a context
// whose streamer, Engine or network hangs cannot stall, blank or slow the
// others: its status line says what it is waiting for while the rest go on.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/cli/cli/command"
	"golang.org/x/term"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/liveclient"
	"github.com/docker-live/docker-live/stream/source"
)

// contextFeed is one context of a --contexts view.
type contextFeed struct {
	name    string
	cli     command.Cli
	wv      *watchView // the command's options, with this context's name
	state   *watchState
	notices io.Writer // stderr, with the context named (contextNotices)

	mu    sync.Mutex
	ended error // why the context shows nothing more: unusable, or its stream ended
}

// fail records why the context cannot be followed any more.
func (f *contextFeed) fail(err error) {
	f.mu.Lock()
	f.ended = err
	f.mu.Unlock()
	notify(f.state.stateCh)
}

func (f *contextFeed) endedErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended
}

// run follows the context until ctx ends, as runWatch follows the current
// one: polling with --poll, its streamer otherwise. With --no-stream it
// first checks that the Engine or a streamer answers, as runWatch does, so
// that an unreachable context is named at once and no streamer is left
// behind for it.
func (f *contextFeed) run(ctx context.Context, jsonNotices bool) error {
	opts := f.wv.opts
	pollInto := func(ctx context.Context) {
		_ = source.PollSampled(ctx, f.cli.Client(), f.state.pollSink(), opts.interval, f.wv.visible)
	}
	if opts.poll {
		f.state.setConn(liveclient.State{Mode: liveclient.ModePolling})
		pollInto(ctx)
		return nil
	}
	paths := pathsFor(f.cli)
	if opts.noStream {
		if err := engineReachableUnlessServed(ctx, f.cli, paths); err != nil {
			return err
		}
	}
	notice := func(s string) { fmt.Fprintln(f.notices, s) }
	if !jsonNotices && !opts.noStream {
		// A terminal's next frame would wipe a stderr line: the status
		// line says it instead.
		notice = func(string) { f.state.setStarting(true) }
	}
	dialer := &streamerDialer{dockerCli: f.cli, paths: paths, notice: notice}
	conn := newConnNotices(f.notices, jsonNotices)
	return liveclient.Run(ctx, liveclient.Options{
		Dial: dialer.Dial,
		Subscription: stream.Subscription{
			Topics:        []string{stream.TopicContainers, stream.TopicStats},
			StatsInterval: opts.interval.String(),
		},
		OnState: func(st liveclient.State) {
			f.state.setConn(st)
			conn.report(st, opts.interval)
		},
		Fallback: pollInto,
	}, f.state.Apply)
}

// header is the context's status line: watch's own, or why the context
// shows nothing more.
func (f *contextFeed) header(v view, now time.Time) output.Header {
	h := f.wv.header(v, now)
	if err := f.endedErr(); err != nil {
		h.Mode = output.ModeEngineUnavailable
		h.Detail = oneLine(err)
	}
	return h
}

// idle reports whether the context has nothing to show yet: no state, and
// no connection news worth a status line.
func (f *contextFeed) idle(v view) bool {
	return !v.haveState && !v.starting && v.conn.Mode != liveclient.ModeReconnecting &&
		v.conn.Mode != liveclient.ModePolling && f.endedErr() == nil
}

func runWatchContexts(ctx context.Context, dockerCli command.Cli, opts watchOptions) error {
	base, err := newWatchView(opts, "")
	if err != nil {
		return err
	}
	contexts, err := resolveContexts(dockerCli, opts.contexts)
	if err != nil {
		return err
	}

	ctx, stop := withInterrupt(ctx)
	defer stop()
	ignoreSIGPIPE()

	out := dockerCli.Out()
	jsonNotices := base.format.Kind != output.FormatTable || !out.IsTerminal()
	feeds := newContextFeeds(base, contexts, dockerCli.Err(), jsonNotices)
	if opts.noStream {
		err = watchContextsOnce(ctx, out, base, feeds, func(ctx context.Context, f *contextFeed) error {
			return f.run(ctx, jsonNotices)
		})
	} else {
		for _, f := range feeds {
			if f.endedErr() != nil {
				continue
			}
			go func() {
				err := f.run(ctx, jsonNotices)
				if ctx.Err() != nil {
					return
				}
				if err == nil {
					err = errors.New("the stream ended")
				}
				if jsonNotices {
					fmt.Fprintf(f.notices, "docker live: %v\n", oneLine(err))
				}
				f.fail(err)
			}()
		}
		err = watchContextsLoop(ctx, out, base, feeds)
	}
	if errors.Is(err, errClosedPipe) {
		return nil
	}
	if err == nil {
		return interrupted(ctx)
	}
	return err
}

// newContextFeeds makes one feed per context. For the streaming view their
// states share one pair of change signals: the loop is their only reader,
// and a signal is only a nudge to take snapshots. --no-stream waits on each
// context apart, so there each state keeps signals of its own.
func newContextFeeds(base *watchView, contexts []watchedContext, errOut io.Writer, jsonNotices bool) []*contextFeed {
	feeds := make([]*contextFeed, len(contexts))
	stateCh, statsCh := make(chan struct{}, 1), make(chan struct{}, 1)
	for i, c := range contexts {
		wv := *base
		wv.context = c.name
		wv.argsAcrossContexts = true
		f := &contextFeed{name: c.name, cli: c.cli, wv: &wv, state: newWatchState(), notices: contextNotices{w: errOut, name: c.name}}
		if !base.opts.noStream {
			f.state.stateCh, f.state.statsCh = stateCh, statsCh
		}
		if jsonNotices {
			f.wv.engineNotices = engineNoticePrinter(f.notices)
		}
		if c.broken != nil {
			if jsonNotices && !base.opts.noStream {
				fmt.Fprintf(f.notices, "docker live: %v\n", c.broken)
			}
			f.fail(c.broken)
		}
		feeds[i] = f
	}
	return feeds
}

// watchContextsOnce is --no-stream over several contexts: each context
// waits for its state as watch --no-stream does, all at once; what the
// reachable ones have is printed as one table, and the unreachable ones
// are named in the error (stderr, exit status 1).
func watchContextsOnce(ctx context.Context, out io.Writer, base *watchView, feeds []*contextFeed, run func(context.Context, *contextFeed) error) error {
	type result struct {
		v   view
		ok  bool
		err error
	}
	results := make([]result, len(feeds))
	// The contexts' streams end with the answer (their goroutines with them).
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i, f := range feeds {
		if err := f.endedErr(); err != nil {
			results[i].err = err
			continue
		}
		runErr := make(chan error, 1)
		go func() { runErr <- run(runCtx, f) }()
		wg.Go(func() {
			v, ok, err := awaitOnce(ctx, f.wv, f.state, runErr)
			results[i] = result{v, ok, err}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	var rows []output.Row
	var known []stream.Container
	var problems []string
	reached := 0
	for i, f := range feeds {
		r := results[i]
		switch {
		case r.err != nil:
			problems = append(problems, fmt.Sprintf("context %s: %s", f.name, oneLine(r.err)))
		case r.ok:
			reached++
			rows = append(rows, f.wv.rows(r.v)...)
			known = append(known, r.v.containers...)
		}
	}
	sortRows(rows, base.opts.sort)
	if missing := missingEverywhere(base.opts.containers, known); len(missing) > 0 && len(problems) == 0 {
		// Only when every context answered: a name may be in one that did not.
		problems = append(problems, noSuchContainers(missing).Error())
	}
	if reached > 0 {
		if err := writeOut(out, renderContextsOnce(base, rows)); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// missingEverywhere returns the CONTAINER arguments that match no container
// of any context.
func missingEverywhere(args []string, containers []stream.Container) []string {
	var missing []string
	for _, a := range args {
		if !slices.ContainsFunc(containers, func(c stream.Container) bool { return argMatches(a, &c) }) {
			missing = append(missing, a)
		}
	}
	return missing
}

// renderContextsOnce is renderOnce for rows of several contexts: the table
// has a CONTEXT column, NDJSON lines carry their own context.
func renderContextsOnce(wv *watchView, rows []output.Row) []byte {
	now := time.Now()
	switch wv.format.Kind {
	case output.FormatJSON:
		var buf []byte
		for _, r := range rows {
			buf = output.AppendJSONRow(buf, r, r.Context, lineTime(r, now))
		}
		return buf
	case output.FormatTemplate:
		return wv.appendTemplateRows(nil, rows, now)
	default:
		return output.RenderTableHeaders(rows, nil, output.TableOptions{NoTrunc: wv.opts.noTrunc, Now: now, Template: wv.format.Template, ShowContext: true})
	}
}

// rowKey identifies a row of a view over several contexts: ids are only
// unique within an Engine.
type rowKey struct{ context, id string }

// watchContextsLoop is watchLoop over several contexts: state changes of
// any context are drawn at once, stats at most every interval; a table has
// one status line per context and a CONTEXT column.
func watchContextsLoop(ctx context.Context, out io.Writer, base *watchView, feeds []*contextFeed) error {
	tty := false
	fd := -1
	if f, ok := out.(interface{ FD() uintptr }); ok {
		fd = int(f.FD())
		tty = term.IsTerminal(fd)
	}
	table := base.format.Kind == output.FormatTable
	var framer output.Framer
	if table {
		framer = output.NewFramer(tty)
		defer func() { _, _ = out.Write(framer.Restore()) }()
	}
	if len(feeds) == 0 {
		return nil
	}
	stateCh, statsCh := feeds[0].state.stateCh, feeds[0].state.statsCh
	pacer := newStatsPacer(base.opts.interval)
	argsChecked := make([]bool, len(feeds))
	written := map[rowKey]time.Time{} // per container, the sample time of its last line (json, templates)
	redraw := time.NewTicker(base.opts.interval)
	defer redraw.Stop()
	views := make([]view, len(feeds))
	for {
		// Plain output only changes when data does.
		if draw, _ := pacer.nextFrame(ctx, nil, stateCh, statsCh, redraw.C, table && tty); !draw {
			return nil
		}
		idle, ended := true, 0
		var problems []string
		for i, f := range feeds {
			views[i] = f.state.snapshot(true)
			v := views[i]
			if v.haveState && !argsChecked[i] {
				// An ambiguous id prefix within a context is an error, as in docker.
				if _, err := resolveArgs(base.opts.containers, v.containers); err != nil {
					return fmt.Errorf("context %s: %w", f.name, err)
				}
				argsChecked[i] = true
			}
			if f.wv.engineNotices != nil && v.engine.State != "" {
				f.wv.engineNotices(v.engine)
			}
			idle = idle && f.idle(v)
			if err := f.endedErr(); err != nil {
				ended++
				problems = append(problems, fmt.Sprintf("context %s: %s", f.name, oneLine(err)))
			}
		}
		if ended == len(feeds) {
			// Nothing is left to watch.
			return errors.New(strings.Join(problems, "\n"))
		}
		if idle {
			continue
		}
		now := time.Now()
		var buf []byte
		if table {
			buf = framer.Frame(renderContextsFrame(base, feeds, views, now, fd, tty))
		} else {
			buf = appendContextsLines(base, feeds, views, written, now)
		}
		if err := writeOut(out, buf); err != nil {
			return err
		}
	}
}

// renderContextsFrame is one table frame: a status line per context, then
// every context's rows sorted together.
func renderContextsFrame(base *watchView, feeds []*contextFeed, views []view, now time.Time, fd int, tty bool) []byte {
	width, height := 0, 0
	if tty {
		width, height, _ = term.GetSize(fd)
	}
	var rows []output.Row
	var known []stream.Container
	haveAll := true
	headers := make([]output.Header, len(feeds))
	for i, f := range feeds {
		v := views[i]
		fr := f.wv.rows(v)
		headers[i] = f.header(v, now)
		headers[i].Containers = len(fr)
		headers[i].Total = len(v.containers)
		rows = append(rows, fr...)
		known = append(known, v.containers...)
		haveAll = haveAll && v.haveState
	}
	sortRows(rows, base.opts.sort)
	if haveAll {
		// A CONTAINER argument no context has yet is waited for.
		headers[0].Waiting = missingEverywhere(base.opts.containers, known)
	}
	return output.RenderTableHeaders(rows, headers, output.TableOptions{
		Width: width, Height: height, NoTrunc: base.opts.noTrunc, Now: now, TTY: tty, Template: base.format.Template, ShowContext: true,
	})
}

// appendContextsLines appends one line (NDJSON or template) per container,
// of any context, whose state changed or that has a new sample.
func appendContextsLines(base *watchView, feeds []*contextFeed, views []view, written map[rowKey]time.Time, now time.Time) []byte {
	var rows []output.Row
	at := map[rowKey]time.Time{} // each line's time
	total := 0
	for i, f := range feeds {
		v := views[i]
		total += len(v.containers)
		for _, r := range f.wv.rows(v) {
			k := rowKey{f.name, r.ID}
			if !v.dirty[r.ID] && (!r.HasStats || written[k].Equal(r.Sampled)) {
				continue
			}
			if r.HasStats {
				written[k] = r.Sampled
			}
			at[k] = now
			if !v.dirty[r.ID] {
				at[k] = lineTime(r, now)
			}
			rows = append(rows, r)
		}
	}
	if len(written) > 2*total+64 {
		// Forget removed containers now and then.
		for k := range written {
			i := slices.IndexFunc(feeds, func(f *contextFeed) bool { return f.name == k.context })
			if i < 0 || !slices.ContainsFunc(views[i].containers, func(c stream.Container) bool { return c.ID == k.id }) {
				delete(written, k)
			}
		}
	}
	sortRows(rows, base.opts.sort)
	var buf []byte
	if base.format.Kind != output.FormatJSON {
		return base.appendTemplateRows(buf, rows, now)
	}
	for _, r := range rows {
		buf = output.AppendJSONRow(buf, r, r.Context, at[rowKey{r.Context, r.ID}])
	}
	return buf
}
