package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/stats"
)

// maxPollStats bounds the one-shot stats requests in flight per poll. A
// busy Engine takes a second or more for each; docker stats asks for all
// at once.
const maxPollStats = 32

// Poll feeds sink by asking the Engine directly, once at once and then every
// interval, until ctx is done (then it returns nil). It is the fallback for
// when no streamer answers: each round is one container list (inspecting
// every container would cost too much at this rate) and one one-shot stats
// request per running container. The Engine's one-shot answer has no
// previous CPU reading, so the one of the round before stands in for it:
// a container's samples are sent from its second round on. Engine errors are reported through
// EngineStatus and polling goes on.
func Poll(ctx context.Context, c EngineAPI, sink stream.Sink, interval time.Duration) error {
	return PollSampled(ctx, c, sink, interval, nil)
}

// PollSampled is Poll that takes stats only of the running containers
// sample accepts (nil: all of them). Every container is still listed. A
// client that shows a few containers of many does not pay for the rest:
// on a busy Engine a one-shot stats request takes a second or more.
func PollSampled(ctx context.Context, c EngineAPI, sink stream.Sink, interval time.Duration, sample func(*stream.Container) bool) error {
	if c == nil {
		return errors.New("poll: no Engine client")
	}
	if sink == nil {
		return errors.New("poll: no sink")
	}
	if interval <= 0 {
		return fmt.Errorf("poll: interval must be positive, got %s", interval)
	}
	p := &poller{client: c, sink: sink, sample: sample, prev: map[string]pollPrev{}}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p.round(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type poller struct {
	client    EngineAPI
	sink      stream.Sink
	sample    func(*stream.Container) bool // nil: every running container
	connected bool
	reported  bool // unavailable was reported for this outage
	prev      map[string]pollPrev
}

// pollPrev is what one round keeps of a container for the next.
type pollPrev struct {
	cpu    container.CPUStats
	read   time.Time
	sample stream.Stats
}

func (p *poller) round(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if !p.connected {
		v, err := p.client.ServerVersion(ctx, client.ServerVersionOptions{})
		if err != nil {
			p.unavailable(ctx, err)
			return
		}
		p.connected, p.reported = true, false
		p.sink.EngineStatus(stream.EngineStatus{State: stream.EngineConnected, Version: v.Version, APIVersion: v.APIVersion})
	}
	list, err := p.client.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		p.unavailable(ctx, err)
		return
	}
	all := make([]stream.Container, 0, len(list.Items))
	var running []string
	for i := range list.Items {
		c := fromSummary(&list.Items[i])
		if collected(c.State) && (p.sample == nil || p.sample(&c)) {
			running = append(running, c.ID)
		}
		all = append(all, c)
	}
	p.sink.Reset(all)
	p.stats(ctx, running)
}

func (p *poller) unavailable(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	p.connected = false
	if !p.reported {
		p.sink.EngineStatus(stream.EngineStatus{State: stream.EngineUnavailable, Error: err.Error()})
		p.reported = true
	}
}

// stats takes one sample of each running container, maxPollStats at a time,
// and forgets the containers no longer running.
func (p *poller) stats(ctx context.Context, ids []string) {
	next := make(map[string]pollPrev, len(ids))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxPollStats)
	for _, id := range ids {
		prev, hasPrev := p.prev[id]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			rec, err := p.oneShot(ctx, id)
			if err != nil {
				if hasPrev {
					mu.Lock()
					next[id] = prev
					mu.Unlock()
				}
				return
			}
			var prevSample *stream.Stats
			if hasPrev {
				rec.PreCPUStats = prev.cpu
				rec.PreRead = prev.read
				prevSample = &prev.sample
			}
			s := stats.FromAPI(id, rec, prevSample)
			s.Source = string(StatsAPI)
			// A first reading has no CPU or rate delta: it would show 0 %
			// and 0 B/s, which reads as idle. It is kept for the next
			// round, as the streamer's sources hold theirs back, and the
			// container shows "--" until then.
			if hasPrev {
				p.sink.Stats(s)
			}
			mu.Lock()
			next[id] = pollPrev{cpu: rec.CPUStats, read: rec.Read, sample: s}
			mu.Unlock()
		})
	}
	wg.Wait()
	p.prev = next
}

func (p *poller) oneShot(ctx context.Context, id string) (*container.StatsResponse, error) {
	res, err := p.client.ContainerStats(ctx, id, client.ContainerStatsOptions{Stream: false, IncludePreviousSample: false})
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var rec container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&rec); err != nil {
		return nil, err
	}
	if rec.Read.IsZero() {
		return nil, errors.New("not running")
	}
	return &rec, nil
}
