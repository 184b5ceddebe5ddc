package plugin

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"sync"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/liveclient"
	"github.com/docker-live/docker-live/stream/source"
)

type eventsOptions struct {
	filters []string
	since   string
	until   string
	format  string
	// contexts is --contexts: the events of several contexts merged
	// (events_contexts.go); empty for the current context alone.
	contexts string
}

func newEventsCommand(dockerCli command.Cli) *cobra.Command {
	var opts eventsOptions
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Stream the Engine's events through the streamer, resumable",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEvents(cmd.Context(), dockerCli, opts)
		},
	}
	addEventsFlags(cmd, &opts)
	return cmd
}

// addEventsFlags binds events' flags to opts.
func addEventsFlags(cmd *cobra.Command, opts *eventsOptions) {
	f := cmd.Flags()
	f.StringArrayVarP(&opts.filters, "filter", "f", nil, "Filter events (type, event, container, image, label, network, volume, daemon, ...)")
	f.StringVar(&opts.since, "since", "", "Show events created since timestamp (as docker events)")
	f.StringVar(&opts.until, "until", "", "Stream events until this timestamp (as docker events)")
	f.StringVar(&opts.format, "format", "", `Format: "json" (as docker events --format json) or a Go template`)
	f.StringVar(&opts.contexts, "contexts", "", `Follow several Docker contexts' events, merged: "a,b" or "all"`)
}

// eventsRequest is events' options checked and parsed, with the command's
// start time: --since and --until durations count back from it.
type eventsRequest struct {
	format       output.EventsFormat
	filters      filterSet
	since, until time.Time // zero when not given
	start        time.Time
}

// parseEventsOptions checks opts as of now; its errors are usage errors
// (exit 125).
func parseEventsOptions(opts eventsOptions, now time.Time) (eventsRequest, error) {
	req := eventsRequest{start: now}
	var err error
	if req.format, err = output.ParseEventsFormat(opts.format); err != nil {
		return req, usageError(err)
	}
	if req.filters, err = parseFilters(opts.filters, eventFilterKeys); err != nil {
		return req, usageError(err)
	}
	if opts.since != "" {
		if req.since, err = parseEventTime(opts.since, now); err != nil {
			return req, usageError(fmt.Errorf("invalid --since %q: %v", opts.since, err))
		}
	}
	if opts.until != "" {
		if req.until, err = parseEventTime(opts.until, now); err != nil {
			return req, usageError(fmt.Errorf("invalid --until %q: %v", opts.until, err))
		}
	}
	return req, nil
}

func runEvents(ctx context.Context, dockerCli command.Cli, opts eventsOptions) error {
	req, err := parseEventsOptions(opts, time.Now())
	if err != nil {
		return err
	}
	if opts.contexts != "" {
		return runEventsContexts(ctx, dockerCli, opts.contexts, req)
	}
	format := req.format
	// Ctrl-C ends the command with 130 (SIGTERM 143), as docker events.
	ctx, stop := withInterrupt(ctx)
	defer stop()
	ignoreSIGPIPE()
	format = format.WithLegacyFields(engineSendsLegacyEventFields(ctx, dockerCli))

	errOut := dockerCli.Err()
	dialer := &streamerDialer{dockerCli: dockerCli, paths: pathsFor(dockerCli), notice: func(s string) { fmt.Fprintln(errOut, s) }}
	err = followEvents(ctx, eventsFollow{
		Engine:  dockerCli.Client(),
		Dial:    dialer.Dial,
		Out:     dockerCli.Out(),
		Err:     errOut,
		Format:  format,
		Filters: req.filters,
		Since:   req.since,
		Until:   req.until,
		Start:   req.start,
	})
	if errors.Is(err, errClosedPipe) {
		return nil
	}
	if err == nil {
		return interrupted(ctx)
	}
	return err
}

// engineEvents is the part of the Engine's API the events command reads.
type engineEvents interface {
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
}

// eventsFollow is what followEvents needs; tests give it a fake Engine, a
// streamer of their own and a clock.
type eventsFollow struct {
	Engine  engineEvents
	Dial    func(ctx context.Context) (net.Conn, error)
	Out     io.Writer
	Err     io.Writer
	Format  output.EventsFormat
	Filters filterSet
	// Since and Until are --since and --until; zero when not given.
	Since, Until time.Time
	// Start is when the command started: without --since, events from then on are printed.
	Start time.Time
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Reconnect and fallback timing (liveclient.Options); zero means its defaults.
	FallbackAfter, MinBackoff, MaxBackoff time.Duration
}

// followEvents prints the Engine's events from Since (or Start) until Until
// (or ctx ends), each once, whichever way each one comes: the streamer, the
// Engine's buffer when the stream starts without a resumable position, or
// the Engine directly while no streamer answers.
func followEvents(ctx context.Context, cfg eventsFollow) error {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Start.IsZero() {
		cfg.Start = cfg.Now()
	}
	p := &eventPrinter{out: cfg.Out, errOut: cfg.Err, now: cfg.Now, format: cfg.Format, filters: cfg.Filters, until: cfg.Until}

	// A window wholly in the past is a plain Engine query, as docker events.
	if !cfg.Until.IsZero() && !cfg.Until.After(cfg.Now()) {
		_, err := p.replay(ctx, cfg.Engine, cfg.Since, cfg.Until)
		return err
	}
	// With --since, the past comes from the Engine's own buffer; without
	// it, what happened since the command started (while it found or
	// started a streamer) does. Either way the first stream replays from
	// there.
	p.start = cfg.Since
	if p.start.IsZero() {
		p.start = cfg.Start
	}

	errOut := cfg.Err
	notices := newConnNotices(errOut, true)
	engineNotice := engineNoticePrinter(errOut)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !cfg.Until.IsZero() {
		t := time.AfterFunc(cfg.Until.Sub(cfg.Now()), cancel)
		defer t.Stop()
	}
	var fallbackErr error // set by the fallback, which then ends the run
	connected := false    // a stream has started before: a new one is a resync
	err := liveclient.RunFrames(runCtx, liveclient.Options{
		Dial:          cfg.Dial,
		Subscription:  stream.Subscription{Topics: []string{stream.TopicEvents}},
		OnState:       func(st liveclient.State) { notices.report(st, time.Second) },
		FallbackAfter: cfg.FallbackAfter,
		MinBackoff:    cfg.MinBackoff,
		MaxBackoff:    cfg.MaxBackoff,
		// While the streamer is away, read the Engine's events directly,
		// from where printing must go on, so nothing falls between.
		Fallback: func(fctx context.Context) {
			if err := p.direct(fctx, cfg.Engine, engineNotice); err != nil {
				fallbackErr = err
				cancel()
			}
		},
	}, func(m *stream.Message, frame []byte) error {
		switch m.Type {
		case stream.TypeEngine:
			engineNotice(*m.Engine)
		case stream.TypeHello:
			engineNotice(m.Hello.Engine)
			if !m.Hello.Resumed {
				// This stream starts now, at the streamer's current position:
				// whatever happened before it (since the command started, since
				// --since, or since the last event printed, while the previous
				// streamer went away or the fallback was stopping) is still in
				// the Engine's buffer. Printed events are skipped.
				if connected {
					fmt.Fprintln(errOut, "docker live: resync: recovering missed events from the Engine")
				}
				// When the streamer cannot reach the Engine either, its
				// notice has said so: a failed catch-up adds nothing.
				quiet := m.Hello.Engine.State != stream.EngineConnected
				if err := p.catchUp(runCtx, cfg.Engine, quiet); err != nil {
					return err
				}
			}
			connected = true
		case stream.TypeEvent:
			// The event's JSON as the streamer sent it: --format json
			// prints it without encoding the event again.
			return p.printEncoded(*m.Event, liveclient.EventJSON(frame))
		}
		return nil
	})
	if fallbackErr != nil {
		return fallbackErr
	}
	return err
}

// engineSendsLegacyEventFields reports whether the negotiated API is older
// than 1.52, where the Engine still sends status, id and from and docker
// events prints them. It negotiates with a ping: Podman answers /version
// only after asking its runtimes theirs, which can outlast the timeout on a
// busy host.
func engineSendsLegacyEventFields(ctx context.Context, dockerCli command.Cli) bool {
	vctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := dockerCli.Client().Ping(vctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return false
	}
	var major, minor int
	if _, err := fmt.Sscanf(dockerCli.Client().ClientVersion(), "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major == 1 && minor < 52
}

// eventPrinter prints each event once, whichever path brings it: the
// streamer, the Engine's buffer when a stream starts, or the direct
// fallback.
type eventPrinter struct {
	out     io.Writer
	errOut  io.Writer // notices
	now     func() time.Time
	format  output.EventsFormat
	filters filterSet
	until   time.Time

	mu    sync.Mutex
	buf   []byte
	seen  map[dedupKey]struct{} // made on first use
	order []dedupKey            // seen's keys in the order printed, for pruning from the oldest
	last  int64                 // timeNano of the newest event printed (or skipped by the filters)
	start time.Time             // the oldest event to print
}

// dedupKey identifies a printed event: its stamp and a 64-bit hash of the
// rest of its identity (source.EventID: type, action, actor). Two events
// are taken for one only when they share the nanosecond and the hash, and
// the key holds no strings, so remembering 150,000 events costs about 5 MB
// rather than the 20 MB of the identities themselves.
type dedupKey struct {
	nano int64
	hash uint64
}

var dedupSeed = maphash.MakeSeed()

func dedupKeyOf(ev events.Message) dedupKey {
	id := source.IdentifyEvent(ev)
	var h maphash.Hash
	h.SetSeed(dedupSeed)
	h.WriteString(string(id.Type))
	h.WriteByte(0)
	h.WriteString(string(id.Action))
	h.WriteByte(0)
	h.WriteString(id.Actor)
	return dedupKey{nano: id.TimeNano, hash: h.Sum64()}
}

// reorderSlack is how far before the newest event printed an Engine query
// starts. The Engine stamps an event before it stores it, and hands it to
// each subscriber from a goroutine of its own, so on a busy host an event
// can arrive after one stamped later; its since= scan also stops at the
// first older event it meets. A stream cut between the two would leave the
// earlier one out of a query from the newest. The dedup below makes the
// overlap free.
const reorderSlack = 5 * time.Second

// dedupWindow is how far back printed events are remembered: further than
// any query reaches back behind the newest (reorderSlack). Not much
// further: at 10,000 events a second every second of it is 10,000 keys
// the command holds (a minute of them was 60 MB, and the GC's work).
const dedupWindow = int64(3 * reorderSlack)

// engineEventsKept is how many past events the Engine keeps for since=.
const engineEventsKept = 256

// resumeFrom is where an Engine query must start so that no event that was
// not printed is left out: reorderSlack before the newest event printed,
// never before the start.
func (p *eventPrinter) resumeFrom() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == 0 {
		return p.start
	}
	from := time.Unix(0, p.last-int64(reorderSlack))
	if from.Before(p.start) {
		return p.start
	}
	return from
}

// newest is the stamp of the newest event printed, or the start.
func (p *eventPrinter) newest() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == 0 {
		return p.start.UnixNano()
	}
	return p.last
}

func (p *eventPrinter) print(ev events.Message) error { return p.printEncoded(ev, nil) }

// printEncoded prints ev, whose JSON as the streamer encoded it is enc (nil
// when it came from the Engine directly).
func (p *eventPrinter) printEncoded(ev events.Message, enc []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.until.IsZero() && ev.TimeNano > p.until.UnixNano() {
		return nil
	}
	k := dedupKeyOf(ev)
	if _, dup := p.seen[k]; dup {
		return nil
	}
	if p.seen == nil {
		p.seen = map[dedupKey]struct{}{}
	}
	p.seen[k] = struct{}{}
	p.order = append(p.order, k)
	if ev.TimeNano > p.last {
		p.last = ev.TimeNano
	}
	// Events come in about the order they were stamped, so the oldest are
	// at the front: pruning costs a little per event, never a pass over
	// the whole set (which stalled printing for milliseconds at high
	// rates). One stamped earlier behind a newer one is kept a little
	// longer, which is harmless.
	n := 0
	for n < len(p.order) && p.order[n].nano < p.last-dedupWindow {
		delete(p.seen, p.order[n])
		n++
	}
	if n > 0 {
		p.order = p.order[n:]
		if cap(p.order) > 1024 && len(p.order) < cap(p.order)/4 {
			p.order = append(make([]dedupKey, 0, 2*len(p.order)), p.order...)
		}
	}
	if !p.filters.matchEvent(&ev) {
		return nil
	}
	if enc != nil {
		if line, ok := p.format.AppendEncoded(p.buf[:0], ev, enc); ok {
			p.buf = line
			return writeOut(p.out, p.buf)
		}
	}
	var err error
	p.buf, err = p.format.Append(p.buf[:0], ev)
	if err != nil {
		return err
	}
	return writeOut(p.out, p.buf)
}

// catchUp prints what the Engine's buffer holds from resumeFrom to now, when
// a stream starts that cannot resume: what happened before the streamer's
// position. It says so when the buffer may have lost some of it.
func (p *eventPrinter) catchUp(ctx context.Context, engine engineEvents, quiet bool) error {
	newest := p.newest()
	// The stream waits meanwhile: an Engine that accepts but never answers
	// must not stop it for good.
	qctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	use, err := p.replay(qctx, engine, p.resumeFrom(), p.now())
	if errors.Is(err, errClosedPipe) || ctx.Err() != nil {
		return err
	}
	if err == nil && qctx.Err() != nil {
		err = fmt.Errorf("the Engine did not answer within %s", catchUpTimeout)
	}
	if err != nil {
		if !quiet {
			fmt.Fprintf(p.errOut, "docker live: resync: events may be missing: %v\n", oneLine(err))
		}
	} else if use.lost(newest) {
		fmt.Fprintln(p.errOut, missingNotice)
	}
	return nil
}

// catchUpTimeout bounds one catch-up query; the Engine answers one about
// its past at once when it answers at all.
const catchUpTimeout = 30 * time.Second

const missingNotice = "docker live: events may be missing: more happened while the stream was away than the Engine keeps (256)"

// bufferUse counts the past events one Engine query returned, to tell
// whether the Engine's buffer still held all that was asked for.
type bufferUse struct {
	n      int
	oldest int64
}

func (b *bufferUse) add(ev events.Message) {
	if b.n == 0 || ev.TimeNano < b.oldest {
		b.oldest = ev.TimeNano
	}
	b.n++
}

// lost says whether events after newest may have fallen out of the buffer:
// it was full, and its oldest event is newer.
func (b bufferUse) lost(newest int64) bool {
	return b.n >= engineEventsKept && b.oldest > newest
}

// replay prints the Engine's events from since to until, both included.
func (p *eventPrinter) replay(ctx context.Context, engine engineEvents, since, until time.Time) (bufferUse, error) {
	var use bufferUse
	opts := client.EventsListOptions{Until: source.EngineTimestamp(until)}
	if !since.IsZero() {
		opts.Since = source.EngineTimestamp(since)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := engine.Events(ctx, opts)
	for {
		select {
		case ev := <-res.Messages:
			use.add(ev)
			if err := p.print(ev); err != nil {
				return use, err
			}
		case err := <-res.Err:
			if err == nil || errors.Is(err, io.EOF) {
				return use, nil
			}
			if ctx.Err() != nil {
				return use, nil
			}
			return use, fmt.Errorf("reading events from the Engine: %v", err)
		case <-ctx.Done():
			return use, nil
		}
	}
}

// direct follows the Engine's events from resumeFrom until ctx ends: the
// fallback while the streamer cannot be reached. An event it has not
// printed when ctx ends is left to the Engine's buffer: the stream that
// follows catches up from resumeFrom.
func (p *eventPrinter) direct(ctx context.Context, engine engineEvents, notice func(stream.EngineStatus)) error {
	for ctx.Err() == nil {
		newest := p.newest()
		opts := client.EventsListOptions{Since: source.EngineTimestamp(p.resumeFrom())}
		sctx, cancel := context.WithCancel(ctx)
		res := engine.Events(sctx, opts)
		// Events stamped before this moment come from the Engine's buffer.
		subscribed := p.now().UnixNano()
		var use bufferUse
		warned := false
	read:
		for {
			select {
			case ev := <-res.Messages:
				if ev.TimeNano <= subscribed {
					use.add(ev)
				}
				if err := p.print(ev); err != nil {
					cancel()
					return err
				}
				if !warned && use.lost(newest) {
					fmt.Fprintln(p.errOut, missingNotice)
					warned = true
				}
			case err := <-res.Err:
				if err != nil && ctx.Err() == nil {
					notice(stream.EngineStatus{State: stream.EngineUnavailable, Error: oneLine(err)})
				}
				break read
			case <-ctx.Done():
				break read
			}
		}
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second): // the Engine itself is away: retry gently
		}
	}
	return nil
}
