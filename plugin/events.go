package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	ossignal "os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/liveclient"
)

type eventsOptions struct {
	filters []string
	since   string
	until   string
	format  string
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
	f := cmd.Flags()
	f.StringArrayVarP(&opts.filters, "filter", "f", nil, "Filter events (type, event, container, image, label, network, volume, daemon, ...)")
	f.StringVar(&opts.since, "since", "", "Show events created since timestamp (as docker events)")
	f.StringVar(&opts.until, "until", "", "Stream events until this timestamp (as docker events)")
	f.StringVar(&opts.format, "format", "", `Format: "json" (as docker events --format json) or a Go template`)
	return cmd
}

func runEvents(ctx context.Context, dockerCli command.Cli, opts eventsOptions) error {
	format, err := output.ParseEventsFormat(opts.format)
	if err != nil {
		return err
	}
	filters, err := parseFilters(opts.filters, eventFilterKeys)
	if err != nil {
		return err
	}
	now := time.Now()
	var since, until time.Time
	if opts.since != "" {
		if since, err = parseEventTime(opts.since, now); err != nil {
			return fmt.Errorf("invalid --since %q: %v", opts.since, err)
		}
	}
	if opts.until != "" {
		if until, err = parseEventTime(opts.until, now); err != nil {
			return fmt.Errorf("invalid --until %q: %v", opts.until, err)
		}
	}
	ctx, stop := ossignal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ignoreSIGPIPE()
	format = format.WithLegacyFields(engineSendsLegacyEventFields(ctx, dockerCli))

	p := &eventPrinter{out: dockerCli.Out(), format: format, filters: filters, until: until, seen: map[eventKey]bool{}}
	engine := dockerCli.Client()

	// A window wholly in the past is a plain Engine query, as docker events.
	if !until.IsZero() && !until.After(now) {
		err := p.replay(ctx, engine, since, until)
		if errors.Is(err, errClosedPipe) {
			return nil
		}
		return err
	}
	// With --since, the past comes from the Engine's own buffer: the first
	// hello (or the fallback) replays from there, then the stream goes on.
	p.start = since

	errOut := dockerCli.Err()
	notices := newConnNotices(errOut, true)
	dialer := &streamerDialer{dockerCli: dockerCli, paths: pathsFor(dockerCli), notice: func(s string) { fmt.Fprintln(errOut, s) }}
	connected := false
	engineNotice := engineNoticePrinter(errOut)
	untilTimer := untilChan(until)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-untilTimer:
			cancel()
		case <-runCtx.Done():
		}
	}()
	err = liveclient.Run(runCtx, liveclient.Options{
		Dial:         dialer.Dial,
		Subscription: stream.Subscription{Topics: []string{stream.TopicEvents}},
		OnState:      func(st liveclient.State) { notices.report(st, time.Second) },
		// While the streamer is away, read the Engine's events directly,
		// from the last one printed, so nothing falls between.
		Fallback: func(fctx context.Context) { _ = p.direct(fctx, engine, engineNotice) },
	}, func(m *stream.Message) error {
		switch m.Type {
		case stream.TypeEngine:
			engineNotice(*m.Engine)
		case stream.TypeHello:
			engineNotice(m.Hello.Engine)
			if !connected && since.IsZero() {
				p.setStart(m.Time)
			}
			if !m.Hello.Resumed && (connected || !since.IsZero()) {
				// A new streamer, or one whose ring lost our position (or the
				// --since past): the Engine's own buffer still has what the
				// stream did not deliver. Printed events are skipped.
				if connected {
					fmt.Fprintln(errOut, "docker live: resync: recovering missed events from the Engine")
				}
				if err := p.replay(runCtx, engine, p.lastTime(), time.Time{}); err != nil {
					if errors.Is(err, errClosedPipe) {
						return err
					}
					fmt.Fprintf(errOut, "docker live: resync: events may be missing: %v\n", oneLine(err))
				}
			}
			connected = true
		case stream.TypeEvent:
			return p.print(*m.Event)
		}
		return nil
	})
	if errors.Is(err, errClosedPipe) {
		return nil
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

func untilChan(until time.Time) <-chan time.Time {
	if until.IsZero() {
		return nil
	}
	return time.After(time.Until(until))
}

// parseEventTime accepts what docker events accepts: RFC 3339 dates and
// times, Unix seconds (with fraction), and durations before now ("10m").
func parseEventTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("use a timestamp (RFC 3339 or Unix seconds) or a duration like 10m")
}

type eventKey struct {
	timeNano int64
	typ      events.Type
	action   events.Action
	actor    string
}

// eventPrinter prints each event once, whichever path brings it: the
// streamer, the Engine's replay after a resync, or the direct fallback.
type eventPrinter struct {
	out     io.Writer
	format  output.EventsFormat
	filters filterSet
	until   time.Time

	mu     sync.Mutex
	buf    []byte
	seen   map[eventKey]bool
	last   int64 // timeNano of the newest event printed
	start  time.Time
	pruned int64
}

// dedupWindow is how far back printed events are remembered; the Engine
// replays from a timestamp, so only events near the newest can repeat.
const dedupWindow = int64(time.Minute)

func (p *eventPrinter) setStart(t time.Time) {
	p.mu.Lock()
	if p.last == 0 {
		p.start = t
	}
	p.mu.Unlock()
}

// lastTime is where a replay must start: the newest event printed, or the
// moment the stream started when none was.
func (p *eventPrinter) lastTime() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == 0 {
		return p.start
	}
	return time.Unix(0, p.last)
}

func (p *eventPrinter) print(ev events.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.until.IsZero() && ev.TimeNano > p.until.UnixNano() {
		return nil
	}
	k := eventKey{ev.TimeNano, ev.Type, ev.Action, ev.Actor.ID}
	if p.seen[k] {
		return nil
	}
	p.seen[k] = true
	if ev.TimeNano > p.last {
		p.last = ev.TimeNano
	}
	if p.last-p.pruned > dedupWindow {
		for key := range p.seen {
			if key.timeNano < p.last-dedupWindow {
				delete(p.seen, key)
			}
		}
		p.pruned = p.last
	}
	if !p.filters.matchEvent(&ev) {
		return nil
	}
	var err error
	p.buf, err = p.format.Append(p.buf[:0], ev)
	if err != nil {
		return err
	}
	return writeOut(p.out, p.buf)
}

// replay prints the Engine's events from since to until (zero: now).
func (p *eventPrinter) replay(ctx context.Context, engine client.APIClient, since, until time.Time) error {
	if until.IsZero() {
		until = time.Now()
	}
	opts := client.EventsListOptions{Until: unixNanoString(until)}
	if !since.IsZero() {
		opts.Since = unixNanoString(since)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := engine.Events(ctx, opts)
	for {
		select {
		case ev := <-res.Messages:
			if err := p.print(ev); err != nil {
				return err
			}
		case err := <-res.Err:
			if err == nil || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading events from the Engine: %v", err)
		case <-ctx.Done():
			return nil
		}
	}
}

// direct follows the Engine's events from the last one printed until ctx
// ends: the fallback while the streamer cannot be reached.
func (p *eventPrinter) direct(ctx context.Context, engine client.APIClient, notice func(stream.EngineStatus)) error {
	for ctx.Err() == nil {
		opts := client.EventsListOptions{}
		if t := p.lastTime(); !t.IsZero() {
			opts.Since = unixNanoString(t)
		}
		sctx, cancel := context.WithCancel(ctx)
		res := engine.Events(sctx, opts)
	read:
		for {
			select {
			case ev := <-res.Messages:
				if err := p.print(ev); err != nil {
					cancel()
					return err
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

func unixNanoString(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}
