package hub

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// DocumentQuery chooses what Document holds; it mirrors a subscription.
type DocumentQuery struct {
	Filter stream.ContainerFilter
	// All includes containers that are not running, paused or restarting
	// (as docker ps -a); without it they are left out.
	All     bool
	History stream.HistoryRequest
}

// Document is the body of GET /v1/snapshot: a stream.SnapshotDocument
// encoded under the hub's lock, so that its snapshot, history and position
// are one consistent moment. The filter is checked as a subscription's is,
// and a refusal is a *RequestError with the error frames' codes.
func (h *Hub) Document(q DocumentQuery) ([]byte, error) {
	if _, _, err := validate(stream.Subscription{Protocol: stream.ProtocolVersion, Filter: q.Filter}); err != nil {
		return nil, err
	}
	if q.History.Invalid != "" {
		return nil, badRequest("bad_history", "invalid history %q: use 1, 0 or a duration such as 2m", q.History.Invalid)
	}
	filter, _ := stream.NewContainerMatcher(q.Filter) // validate checked the names
	match := func(c *stream.Container) bool {
		if !q.All && !stream.IsActive(c.State) {
			return false
		}
		return filter.Match(c)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Now()
	snap := &stream.Snapshot{Engine: h.engine, Containers: make([]stream.Container, 0, len(h.containers))}
	for _, id := range slices.Sorted(maps.Keys(h.containers)) {
		c := h.containers[id]
		if !match(c) {
			continue
		}
		cc := *c
		if st, ok := h.stats[id]; ok {
			cc.Stats = &st
		}
		snap.Containers = append(snap.Containers, cc)
	}
	snapJSON, err := json.Marshal(snap)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(snapJSON)+256)
	b = append(b, `{"epoch":`...)
	b = appendJSONString(b, h.epoch)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, h.seq, 10)
	b = append(b, `,"time":"`...)
	b = now.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","snapshot":`...)
	b = append(b, snapJSON...)
	if q.History.Want {
		b = append(b, `,"history":`...)
		b = h.appendHistoryBody(b, match, h.hist.fromSlot(q.History, time.Time{}, now))
	}
	return append(b, "}\n"...), nil
}
