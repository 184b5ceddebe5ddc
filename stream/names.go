package stream

import (
	"fmt"
	"regexp"
	"strings"
)

// NameMatcher is a compiled name filter: a container matches when any of
// its patterns does. Patterns are regular expressions, as in `docker ps
// --filter name=`: unanchored (so a plain word matches as a substring) and
// tried against the name both with and without docker's leading slash, so
// that "^web$" and "^/web$" both match the container web. The CLI's
// --filter name= and the protocol's filter.names share this one meaning.
type NameMatcher []*regexp.Regexp

// CompileNames compiles name patterns; an invalid one is an error naming it.
func CompileNames(patterns []string) (NameMatcher, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	m := make(NameMatcher, 0, len(patterns))
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("invalid name pattern %q: %s", p, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		m = append(m, re)
	}
	return m, nil
}

// Match reports whether name matches any pattern. An empty matcher
// matches every name.
func (m NameMatcher) Match(name string) bool {
	if len(m) == 0 {
		return true
	}
	bare := strings.TrimPrefix(name, "/")
	for _, re := range m {
		if re.MatchString(bare) || re.MatchString("/"+bare) {
			return true
		}
	}
	return false
}
