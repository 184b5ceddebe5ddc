package hub

import (
	"slices"
	"strings"

	"github.com/docker-live/docker-live/stream"
)

// filterMatcher is a subscription's container filter, prepared once at
// subscribe (stream.ContainerMatcher). Subscribers with the same filter
// share one matcher (the hub interns them by key), so a stats batch is
// filtered and encoded once per distinct filter, not per subscriber.
type filterMatcher struct {
	key  string
	refs int // subscribers sharing it; guarded by the hub's lock
	*stream.ContainerMatcher
}

// newFilterMatcher prepares f, which validate accepted; nil for an empty
// filter, which matches everything.
func newFilterMatcher(f stream.ContainerFilter) *filterMatcher {
	if f.IsEmpty() {
		return nil
	}
	cm, _ := stream.NewContainerMatcher(f) // validate checked the names
	return &filterMatcher{key: filterKey(f), ContainerMatcher: cm}
}

// matches says whether c passes the filter. A nil matcher matches
// everything.
func (m *filterMatcher) matches(c *stream.Container) bool {
	return m == nil || m.Match(c)
}

// filterKey identifies a filter whatever the order of its lists. It is
// computed once per subscription (sorting thousands of names on every
// stats flush cost a core).
func filterKey(f stream.ContainerFilter) string {
	parts := func(l []string) string { return strings.Join(slices.Sorted(slices.Values(l)), "\x00") }
	return parts(f.Names) + "\x01" + parts(f.IDs) + "\x01" + parts(f.Labels) + "\x01" + parts(f.Projects)
}

// internFilterLocked returns the hub's matcher for m's key, so that equal
// filters share one; h.mu is held.
func (h *Hub) internFilterLocked(m *filterMatcher) *filterMatcher {
	if m == nil {
		return nil
	}
	if have, ok := h.filters[m.key]; ok {
		have.refs++
		return have
	}
	m.refs = 1
	h.filters[m.key] = m
	return m
}

// releaseFilterLocked drops one subscriber's hold on m; h.mu is held.
func (h *Hub) releaseFilterLocked(m *filterMatcher) {
	if m == nil {
		return
	}
	if m.refs--; m.refs <= 0 {
		delete(h.filters, m.key)
	}
}
