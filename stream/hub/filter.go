package hub

import (
	"slices"
	"strings"

	"github.com/docker-live/docker-live/stream"
)

// filterMatcher is a subscription's container filter, prepared once at
// subscribe: sets instead of lists, so that matching a container costs a
// few map lookups however long the filter is. Subscribers with the same
// filter share one matcher (the hub interns them by key), so a stats batch
// is filtered and encoded once per distinct filter, not per subscriber.
type filterMatcher struct {
	key      string
	refs     int                // subscribers sharing it; guarded by the hub's lock
	names    stream.NameMatcher // docker ps' regular expressions, compiled once
	idLens   []int              // the distinct lengths of the ids, each a prefix
	ids      map[string]bool
	projects map[string]bool
	labels   []labelMatch
}

type labelMatch struct {
	key, value string
	hasValue   bool
}

// newFilterMatcher prepares f, which validate accepted; nil for an empty
// filter, which matches everything.
func newFilterMatcher(f stream.ContainerFilter) *filterMatcher {
	if filterIsEmpty(f) {
		return nil
	}
	m := &filterMatcher{key: filterKey(f)}
	m.names, _ = stream.CompileNames(f.Names) // validate checked them
	if len(f.IDs) > 0 {
		m.ids = make(map[string]bool, len(f.IDs))
		for _, id := range f.IDs {
			m.ids[id] = true
			if !slices.Contains(m.idLens, len(id)) {
				m.idLens = append(m.idLens, len(id))
			}
		}
	}
	if len(f.Projects) > 0 {
		m.projects = make(map[string]bool, len(f.Projects))
		for _, p := range f.Projects {
			m.projects[p] = true
		}
	}
	for _, l := range f.Labels {
		k, v, hasValue := strings.Cut(l, "=")
		m.labels = append(m.labels, labelMatch{k, v, hasValue})
	}
	return m
}

// matches applies the filter as matches does: OR within a list, AND across
// lists. A nil matcher matches everything.
func (m *filterMatcher) matches(c *stream.Container) bool {
	if m == nil {
		return true
	}
	if !m.names.Match(c.Name) {
		return false
	}
	if m.ids != nil && !slices.ContainsFunc(m.idLens, func(n int) bool { return n <= len(c.ID) && m.ids[c.ID[:n]] }) {
		return false
	}
	if m.projects != nil && !m.projects[c.Project] {
		return false
	}
	for _, l := range m.labels {
		got, ok := c.Labels[l.key]
		if !ok || (l.hasValue && got != l.value) {
			return false
		}
	}
	return true
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
