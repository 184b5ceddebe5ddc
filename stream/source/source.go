// Package source is the Engine side of the streamer: it follows one Engine's
// events, container list and stats and reports what it learns to a
// stream.Sink. Poll is the fallback clients use when no streamer answers.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/stream"
)

// EngineAPI is the part of *client.Client the source and the poller use;
// Info gives the Engine's clock.
type EngineAPI interface {
	ServerVersion(ctx context.Context, options client.ServerVersionOptions) (client.ServerVersionResult, error)
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerStats(ctx context.Context, id string, options client.ContainerStatsOptions) (client.ContainerStatsResult, error)
}

var _ EngineAPI = (*client.Client)(nil)

// Config sets up a Source.
type Config struct {
	Client EngineAPI
	Sink   stream.Sink
	// Stats chooses the stats backend; empty means StatsAPI.
	Stats StatsMode
	// Logf receives diagnostics; nil discards them.
	Logf func(format string, args ...any)
	// MinBackoff and MaxBackoff bound the waits between reconnects and
	// between reopening a failed stats stream; zero means 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
}

// maxInspects bounds the inspect requests in flight at once, so that
// listing a thousand containers does not open a thousand connections.
const maxInspects = 8

// callTimeout bounds each request-response call to the Engine, so that an
// Engine that accepts connections but never answers is treated as lost.
const callTimeout = 30 * time.Second

// staleRetries is how many times an inspect overtaken by newer events is
// repeated before the merged result is left as it is.
const staleRetries = 3

// Source follows one Engine and reports to a Sink:
//
//   - On (re)connecting: Reset with every container, fully inspected, then
//     EngineStatus(connected). In that order, a client that waits for
//     "connected" (watch --no-stream on a new streamer) finds the whole
//     list already there, not an empty or partial table.
//   - For each Engine event, of any type: first the state change it makes
//     (Upsert or Remove), then Event with the message as received. A client
//     reacting to an event thus already finds the state it describes.
//     Container events are applied without asking the Engine; where an
//     event cannot tell everything (create, start, die, rename, update, ...)
//     an inspect follows in the background and may Upsert again.
//   - Stats of every running or paused container, from the stats source
//     (a few polling workers, one stream per container, or the cgroup pass).
//     No Stats call for a container follows its Remove.
//   - On Engine loss: all stats stop, then EngineStatus(unavailable) once
//     per outage; reconnects back off with jitter. The new event stream
//     resumes after the last event passed on, so events of the outage still
//     reach Event (the Engine keeps 256), each exactly once. Those older
//     than the new list are passed on but not applied: the Reset already
//     holds their effect.
//
// State changes and the Sink calls that report them happen under one lock,
// so the Sink sees them in the order they were applied whichever goroutine
// applied them. Sink methods must not call back into the Source.
type Source struct {
	cfg  Config
	bo   stream.Backoff
	logf func(string, ...any)
	sem  chan struct{}

	mu         sync.Mutex
	containers map[string]*entry

	collMu sync.Mutex
	coll   collector // this connection's; nil while disconnected

	// Event position, touched by the Run goroutine only.
	lastNano  int64                // TimeNano of the newest event delivered
	lastKeys  map[EventID]struct{} // the events delivered at lastNano
	sinceNano int64                // where to resume when no event was delivered yet
}

// entry is one container's state and the bookkeeping that keeps inspect
// results from overwriting newer event-driven changes.
type entry struct {
	c stream.Container
	// gen grows with every event applied; an inspect result taken at an
	// older gen may predate one of those events.
	gen        uint64
	inspecting bool // an inspect worker runs for this container
	again      bool // and must inspect once more when done
}

// New returns a Source; Run starts it.
func New(cfg Config) *Source {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Source{
		cfg:        cfg,
		bo:         stream.NewBackoff(cfg.MinBackoff, cfg.MaxBackoff),
		logf:       logf,
		sem:        make(chan struct{}, maxInspects),
		containers: make(map[string]*entry),
	}
}

// Run follows the Engine until ctx is done, then returns nil once every
// goroutine it started has ended. It reconnects on its own whenever the
// Engine goes away, and returns early only for a bad Config.
func (s *Source) Run(ctx context.Context) error {
	if s.cfg.Client == nil {
		return errors.New("source: Config.Client is nil")
	}
	if s.cfg.Sink == nil {
		return errors.New("source: Config.Sink is nil")
	}
	switch s.cfg.Stats {
	case "", StatsAPI, StatsAuto, StatsCgroup:
	default:
		return fmt.Errorf("source: unknown stats mode %q (want %q, %q or %q)", s.cfg.Stats, StatsAuto, StatsAPI, StatsCgroup)
	}
	reported := false // unavailable was already reported for this outage
	for attempt := 0; ; attempt++ {
		connected, err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			attempt, reported = 0, false
		}
		if !reported {
			s.logf("engine unavailable: %v", err)
			s.cfg.Sink.EngineStatus(stream.EngineStatus{State: stream.EngineUnavailable, Error: err.Error()})
			reported = true
		}
		if !sleep(ctx, s.bo.Delay(attempt)) {
			return nil
		}
	}
}

// StatsSources says, for each container whose stats are being collected,
// where they come from ("api" or "cgroup").
func (s *Source) StatsSources() map[string]string {
	s.collMu.Lock()
	coll := s.coll
	s.collMu.Unlock()
	if coll == nil {
		return map[string]string{}
	}
	return coll.sources()
}

// newCollector builds this connection's stats backend for the mode, on an
// Engine that speaks apiVersion.
func (s *Source) newCollector(ctx context.Context, apiVersion string) collector {
	switch s.cfg.Stats {
	case StatsAuto:
		return newCgroupCollector(ctx, s.cfg.Client, s.cfg.Sink, s.logf, s.newAPIStats(ctx, apiVersion))
	case StatsCgroup:
		return newCgroupCollector(ctx, s.cfg.Client, s.cfg.Sink, s.logf, nil)
	default:
		return s.newAPIStats(ctx, apiVersion)
	}
}

func (s *Source) setCollector(c collector) {
	s.collMu.Lock()
	s.coll = c
	s.collMu.Unlock()
}

// session is one Engine connection: subscribe, list, reset, then follow
// events until the stream fails or ctx is done. connected says whether it
// got as far as reporting the Engine connected. Everything it started has
// ended when it returns.
func (s *Source) session(ctx context.Context) (connected bool, err error) {
	vctx, vcancel := context.WithTimeout(ctx, callTimeout)
	ver, err := s.cfg.Client.ServerVersion(vctx, client.ServerVersionOptions{})
	vcancel()
	if err != nil {
		return false, err
	}
	sctx, cancel := context.WithCancel(ctx)
	var workers sync.WaitGroup // inspect workers
	coll := s.newCollector(sctx, ver.APIVersion)
	defer func() {
		cancel()
		s.setCollector(nil)
		coll.close()
		workers.Wait()
	}()

	// Subscribe before listing so that no change falls between the two:
	// whatever happens after the list is in the event stream.
	resume := s.lastNano
	if resume == 0 {
		resume = s.sinceNano
	}
	opts := client.EventsListOptions{}
	if resume > 0 {
		opts.Since = EngineTimestamp(time.Unix(0, resume))
	}
	ev := s.cfg.Client.Events(sctx, opts)
	select {
	case err := <-ev.Err:
		return false, streamErr(err)
	default:
	}

	// Events stamped up to the Engine's clock here are already reflected in
	// the list taken after it: they are passed on but not applied again, so
	// a resumed stream's replay does not walk containers back through states
	// they have left.
	listedAt := s.engineTime(sctx)
	lctx, lcancel := context.WithTimeout(sctx, callTimeout)
	list, err := s.cfg.Client.ContainerList(lctx, client.ContainerListOptions{All: true})
	lcancel()
	if err != nil {
		return false, err
	}
	all, err := s.inspectAll(sctx, list)
	if err != nil {
		return false, err
	}

	s.setCollector(coll)
	s.mu.Lock()
	s.containers = make(map[string]*entry, len(all))
	for i := range all {
		s.containers[all[i].ID] = &entry{c: all[i]}
	}
	s.cfg.Sink.Reset(all)
	s.cfg.Sink.EngineStatus(stream.EngineStatus{State: stream.EngineConnected, Version: ver.Version, APIVersion: ver.APIVersion})
	s.mu.Unlock()
	for _, c := range all {
		if collected(c.State) {
			coll.start(c.ID, c)
		}
	}
	if s.lastNano == 0 && listedAt > 0 {
		s.sinceNano = listedAt
	}

	// Replayed events at or before the last one delivered are dropped once;
	// past it the stream is all new.
	replaying := resume > 0 && s.lastNano > 0
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case err := <-ev.Err:
			if ctx.Err() != nil {
				return true, nil
			}
			return true, streamErr(err)
		case m := <-ev.Messages:
			if replaying {
				if s.delivered(m) {
					continue
				}
				if m.TimeNano > s.lastNano {
					replaying = false
				}
			}
			s.handle(sctx, &workers, coll, m, listedAt == 0 || m.TimeNano > listedAt)
			s.markDelivered(m)
		}
	}
}

func streamErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return errors.New("the Engine closed the event stream")
	}
	return err
}

// engineTime is the Engine's clock in Unix nanoseconds, or 0 when unknown.
func (s *Source) engineTime(ctx context.Context) int64 {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	info, err := s.cfg.Client.Info(ctx, client.InfoOptions{})
	if err != nil {
		s.logf("engine time: %v", err)
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, info.Info.SystemTime)
	if err != nil {
		return 0
	}
	return t.UnixNano()
}

// inspectAll turns the list into full container states, maxInspects at a
// time. A container gone meanwhile is left out (its destroy event follows);
// one that cannot be inspected for another reason keeps its list entry.
func (s *Source) inspectAll(ctx context.Context, list client.ContainerListResult) ([]stream.Container, error) {
	out := make([]stream.Container, len(list.Items))
	gone := make([]bool, len(list.Items))
	var wg sync.WaitGroup
	for i := range list.Items {
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-s.sem }()
			sum := &list.Items[i]
			res, err := s.inspect(ctx, sum.ID)
			switch {
			case err == nil:
				out[i] = fromInspect(&res.Container, time.Now())
			case cerrdefs.IsNotFound(err):
				gone[i] = true
			default:
				if ctx.Err() == nil {
					s.logf("inspect %.12s: %v", sum.ID, err)
				}
				out[i] = fromSummary(sum)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	kept := out[:0]
	for i, c := range out {
		if !gone[i] {
			kept = append(kept, c)
		}
	}
	return kept, nil
}

// collected says whether a container in this state has stats to collect.
// Paused containers keep their stream: they still hold memory.
func collected(state string) bool {
	return state == "running" || state == "paused"
}

func (s *Source) alive(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.containers[id]
	return e != nil && collected(e.c.State)
}

// delivered says whether a replayed event was passed on before.
func (s *Source) delivered(m events.Message) bool {
	if m.TimeNano < s.lastNano {
		return true
	}
	if m.TimeNano == s.lastNano {
		_, ok := s.lastKeys[IdentifyEvent(m)]
		return ok
	}
	return false
}

func (s *Source) markDelivered(m events.Message) {
	switch {
	case m.TimeNano > s.lastNano:
		s.lastNano = m.TimeNano
		s.lastKeys = map[EventID]struct{}{IdentifyEvent(m): {}}
	case m.TimeNano == s.lastNano:
		s.lastKeys[IdentifyEvent(m)] = struct{}{}
	}
}

// handle applies one event to the state, then passes it on: a client that
// reacts to the event already finds the state it describes.
func (s *Source) handle(ctx context.Context, workers *sync.WaitGroup, coll collector, m events.Message, apply bool) {
	if apply {
		switch m.Type {
		case events.ContainerEventType:
			s.applyContainer(ctx, workers, coll, m)
		case events.NetworkEventType:
			// Connecting or disconnecting changes the container's networks,
			// which only an inspect tells.
			if m.Action == events.ActionConnect || m.Action == events.ActionDisconnect {
				if id := m.Actor.Attributes["container"]; id != "" {
					s.mu.Lock()
					if e := s.containers[id]; e != nil {
						s.requestInspect(ctx, workers, coll, id, e)
					}
					s.mu.Unlock()
				}
			}
		}
	}
	s.cfg.Sink.Event(m)
}

// Container actions that change nothing the Source reports. stop and kill
// are followed by die, which carries the change.
var passive = map[string]bool{
	"attach": true, "detach": true, "resize": true, "top": true, "copy": true,
	"archive-path": true, "extract-to-dir": true, "export": true, "commit": true,
	"exec_create": true, "exec_start": true, "exec_die": true, "exec_detach": true,
	"stop": true, "kill": true, "checkpoint": true,
}

// applyContainer updates a container from one of its events without asking
// the Engine first; where the event cannot tell everything, an inspect
// follows in the background.
func (s *Source) applyContainer(ctx context.Context, workers *sync.WaitGroup, coll collector, m events.Message) {
	id := m.Actor.ID
	if id == "" {
		return
	}
	action, detail, _ := strings.Cut(string(m.Action), ": ")
	if passive[action] {
		return
	}
	at := eventTime(m)
	attrs := m.Actor.Attributes

	if action == string(events.ActionDestroy) {
		s.mu.Lock()
		// Stats end before the removal, so none follows it.
		coll.stop(id)
		if _, ok := s.containers[id]; ok {
			delete(s.containers, id)
			s.cfg.Sink.Remove(id)
		}
		s.mu.Unlock()
		return
	}

	s.mu.Lock()
	e := s.containers[id]
	inspect := false
	if e == nil {
		e = &entry{c: placeholder(id, attrs, at)}
		s.containers[id] = e
		inspect = true
	}
	e.gen++
	c := e.c
	switch events.Action(action) {
	case events.ActionCreate:
		c.State = "created"
		inspect = true
	case events.ActionStart, events.ActionRestart:
		c.State = "running"
		c.StartedAt = at
		c.ExitCode = 0
		if c.Health != "" {
			c.Health = "starting"
		}
		// Published ports and addresses are assigned on start.
		inspect = true
	case events.ActionDie:
		c.State = "exited"
		c.FinishedAt = at
		if code, err := strconv.Atoi(attrs["exitCode"]); err == nil {
			c.ExitCode = code
		}
		// A restart policy may have made it restarting instead.
		inspect = true
	case events.ActionPause:
		c.State = "paused"
	case events.ActionUnPause:
		c.State = "running"
	case events.ActionHealthStatus:
		if detail != "" {
			c.Health = detail
		} else {
			inspect = true
		}
	case events.ActionRename:
		if n := strings.TrimPrefix(attrs["name"], "/"); n != "" {
			c.Name = n
		}
		inspect = true
	case events.ActionOOM:
		c.OOMKilled = true
	default:
		// update and whatever this version does not know.
		inspect = true
	}
	c.Status = stream.StatusText(c, time.Now())
	e.c = c
	s.cfg.Sink.Upsert(c)
	s.follow(coll, c)
	if inspect {
		s.requestInspect(ctx, workers, coll, id, e)
	}
	s.mu.Unlock()
}

// follow starts or stops collecting c's stats to match its state. It runs
// under s.mu so that the collector sees starts and stops in the order the
// state changed, whichever goroutine changed it. That is safe: stop waits
// only for a sample being handed to the sink, and stats goroutines never
// take s.mu while handing one over.
func (s *Source) follow(coll collector, c stream.Container) {
	if collected(c.State) {
		coll.start(c.ID, c)
	} else {
		coll.stop(c.ID)
	}
}

// placeholder is what an event alone tells of a container not seen before.
// A create event's attributes are the labels plus image and name.
func placeholder(id string, attrs map[string]string, at time.Time) stream.Container {
	c := stream.Container{
		ID:      id,
		Name:    strings.TrimPrefix(attrs["name"], "/"),
		Image:   attrs["image"],
		Created: at,
		State:   "created",
	}
	labels := maps.Clone(attrs)
	delete(labels, "name")
	delete(labels, "image")
	if len(labels) > 0 {
		c.Labels = labels
	}
	setCompose(&c)
	return c
}

func eventTime(m events.Message) time.Time {
	if m.TimeNano != 0 {
		return time.Unix(0, m.TimeNano).UTC()
	}
	return time.Unix(m.Time, 0).UTC()
}

// requestInspect makes sure an inspect of id starts after this point.
// Called with s.mu held.
func (s *Source) requestInspect(ctx context.Context, workers *sync.WaitGroup, coll collector, id string, e *entry) {
	if e.inspecting {
		e.again = true
		return
	}
	e.inspecting = true
	workers.Go(func() { s.inspectWorker(ctx, coll, id) })
}

// inspectWorker inspects id until a result is not overtaken by an event, or
// staleRetries times. A result overtaken gives only the fields events never
// carry; the event-driven ones stay.
func (s *Source) inspectWorker(ctx context.Context, coll collector, id string) {
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		e := s.containers[id]
		if e == nil {
			s.mu.Unlock()
			return
		}
		gen := e.gen
		e.again = false
		s.mu.Unlock()

		var (
			res client.ContainerInspectResult
			err error
		)
		select {
		case s.sem <- struct{}{}:
			res, err = s.inspect(ctx, id)
			<-s.sem
		case <-ctx.Done():
			err = ctx.Err()
		}

		s.mu.Lock()
		if e = s.containers[id]; e == nil {
			s.mu.Unlock()
			return
		}
		if err != nil {
			e.inspecting = false
			s.mu.Unlock()
			if ctx.Err() == nil && !cerrdefs.IsNotFound(err) {
				s.logf("inspect %.12s: %v", id, err)
			}
			return
		}
		fresh := fromInspect(&res.Container, time.Now())
		if e.gen != gen {
			fresh = mergeStatic(e.c, fresh)
			e.again = true
		}
		if !sameState(e.c, fresh) {
			// Normally events start and stop stats; this covers a state
			// only an inspect showed, such as restarting after a die.
			if collected(fresh.State) != collected(e.c.State) {
				s.follow(coll, fresh)
			}
			e.c = fresh
			s.cfg.Sink.Upsert(fresh)
		}
		retry := e.again && attempt < staleRetries
		if !retry {
			e.inspecting = false
		}
		s.mu.Unlock()
		if !retry {
			return
		}
	}
}

func (s *Source) inspect(ctx context.Context, id string) (client.ContainerInspectResult, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return s.cfg.Client.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
}

// mergeStatic takes from an inspect that may be older than cur the fields
// no event changes, and keeps cur's event-driven ones.
func mergeStatic(cur, fresh stream.Container) stream.Container {
	out := cur
	out.Image = fresh.Image
	out.Command = fresh.Command
	out.Created = fresh.Created
	out.Labels = fresh.Labels
	out.Project = fresh.Project
	out.Service = fresh.Service
	out.Ports = fresh.Ports
	out.Networks = fresh.Networks
	if out.Name == "" {
		out.Name = fresh.Name
	}
	return out
}

// sameState compares two states apart from the status text, which changes
// with the clock alone.
func sameState(a, b stream.Container) bool {
	a.Status, b.Status = "", ""
	return reflect.DeepEqual(a, b)
}
