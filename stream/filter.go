package stream

import (
	"slices"
	"strings"
)

// IsEmpty reports whether f selects every container.
func (f ContainerFilter) IsEmpty() bool {
	return len(f.Names) == 0 && len(f.IDs) == 0 && len(f.Labels) == 0 && len(f.Projects) == 0
}

// ContainerMatcher is a ContainerFilter prepared once for matching: names
// compiled, sets instead of lists, so that matching a container costs a few
// map lookups however long the filter is. It is the one meaning of a
// container filter: the hub's subscriptions and the CLI's --filter name=,
// id=, label= and project= both use it. A nil matcher matches everything.
type ContainerMatcher struct {
	names    NameMatcher // docker ps' regular expressions
	idLens   []int       // the distinct lengths of the ids, each a prefix
	ids      map[string]bool
	projects map[string]bool
	labels   []labelMatch
}

type labelMatch struct {
	key, value string
	hasValue   bool
}

// NewContainerMatcher prepares f: OR within a list, AND across lists, every
// label required. It is nil for an empty filter; an invalid name pattern is
// an error naming it.
func NewContainerMatcher(f ContainerFilter) (*ContainerMatcher, error) {
	if f.IsEmpty() {
		return nil, nil
	}
	names, err := CompileNames(f.Names)
	if err != nil {
		return nil, err
	}
	m := &ContainerMatcher{names: names}
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
	return m, nil
}

// Match reports whether c passes the filter: its name matches a pattern,
// its id starts with one of the ids, its project is one of the projects,
// and it carries every label (key, or key=value).
func (m *ContainerMatcher) Match(c *Container) bool {
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
