package plugin

// events --contexts: the events of several Docker contexts merged into one
// output. Every context is followed exactly as `events` follows the
// current one (followEvents: its streamer, resumable, with the Engine's
// buffer on resync and the Engine itself as the fallback), in a goroutine
// of its own, so a context that is unreachable only delays its own lines.
// Each line names its context: a first column on the default line, a
// "context" field first in json, .Context in templates.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/docker/cli/cli/command"
)

// contextEvents is one context's part of events --contexts.
type contextEvents struct {
	name   string
	follow eventsFollow
	broken error // the context cannot be used: said once (on follow.Err), the others go on
}

func runEventsContexts(ctx context.Context, dockerCli command.Cli, spec string, req eventsRequest) error {
	contexts, err := resolveContexts(dockerCli, spec)
	if err != nil {
		return err
	}
	ctx, stop := withInterrupt(ctx)
	defer stop()
	ignoreSIGPIPE()

	width := contextWidth(contexts)
	parts := make([]contextEvents, len(contexts))
	for i, c := range contexts {
		notices := contextNotices{w: dockerCli.Err(), name: c.name}
		parts[i] = contextEvents{name: c.name, broken: c.broken, follow: eventsFollow{Err: notices}}
		if c.broken != nil {
			continue
		}
		dialer := &streamerDialer{dockerCli: c.cli, paths: pathsFor(c.cli), notice: func(s string) { fmt.Fprintln(notices, s) }}
		parts[i].follow = eventsFollow{
			Engine:  c.cli.Client(),
			Dial:    dialer.Dial,
			Out:     dockerCli.Out(),
			Err:     notices,
			Format:  req.format.WithContext(c.name, width),
			Filters: req.filters,
			Since:   req.since,
			Until:   req.until,
			Start:   req.start,
		}
	}
	legacy := func(ctx context.Context, i int) bool { return engineSendsLegacyEventFields(ctx, contexts[i].cli) }
	err = followEventsContexts(ctx, parts, legacy)
	if errors.Is(err, errClosedPipe) {
		return nil
	}
	if ctx.Err() != nil {
		return interrupted(ctx)
	}
	return err
}

// followEventsContexts runs followEvents for every usable part at once and
// returns when all have ended (ctx, or --until), with an error naming each
// context that failed. legacy, when set, asks whether part i's Engine
// sends the fields of API < 1.52 (each context may run another version);
// it runs in the part's own goroutine, as its question may take seconds
// to time out. A closed stdout ends every part.
func followEventsContexts(ctx context.Context, parts []contextEvents, legacy func(context.Context, int) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		if p.broken != nil {
			errs[i] = p.broken
			fmt.Fprintf(p.follow.Err, "docker live: %v\n", oneLine(p.broken))
			continue
		}
		wg.Go(func() {
			cfg := p.follow
			if legacy != nil {
				cfg.Format = cfg.Format.WithLegacyFields(legacy(ctx, i))
			}
			err := followEvents(ctx, cfg)
			if errors.Is(err, errClosedPipe) {
				cancel() // the reader went away: nobody reads the others either
			} else if err != nil {
				fmt.Fprintf(cfg.Err, "docker live: %v\n", oneLine(err))
			}
			errs[i] = err
		})
	}
	wg.Wait()
	var failed []string
	for i, err := range errs {
		if errors.Is(err, errClosedPipe) {
			return err
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("context %s: %s", parts[i].name, oneLine(err)))
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "\n"))
	}
	return nil
}
