package stream

import "testing"

func TestContainerMatcher(t *testing.T) {
	web := &Container{ID: "abc123def", Name: "/web-1", Project: "shop", Labels: map[string]string{"tier": "front", "team": "a"}}
	cases := []struct {
		name   string
		filter ContainerFilter
		want   bool
	}{
		{"empty matches all", ContainerFilter{}, true},
		{"name substring", ContainerFilter{Names: []string{"web"}}, true},
		{"name anchored with slash", ContainerFilter{Names: []string{"^/web-1$"}}, true},
		{"name anchored without slash", ContainerFilter{Names: []string{"^web-1$"}}, true},
		{"name other", ContainerFilter{Names: []string{"db"}}, false},
		{"names are ORed", ContainerFilter{Names: []string{"db", "web"}}, true},
		{"id prefix", ContainerFilter{IDs: []string{"abc"}}, true},
		{"id full", ContainerFilter{IDs: []string{"abc123def"}}, true},
		{"id longer than the id", ContainerFilter{IDs: []string{"abc123def0"}}, false},
		{"id not a prefix", ContainerFilter{IDs: []string{"123"}}, false},
		{"ids are ORed", ContainerFilter{IDs: []string{"zzz", "abc1"}}, true},
		{"project", ContainerFilter{Projects: []string{"shop"}}, true},
		{"project other", ContainerFilter{Projects: []string{"blog"}}, false},
		{"label key", ContainerFilter{Labels: []string{"tier"}}, true},
		{"label key=value", ContainerFilter{Labels: []string{"tier=front"}}, true},
		{"label wrong value", ContainerFilter{Labels: []string{"tier=back"}}, false},
		{"labels are ANDed", ContainerFilter{Labels: []string{"tier=front", "team=b"}}, false},
		{"lists are ANDed", ContainerFilter{Names: []string{"web"}, Projects: []string{"blog"}}, false},
		{"all lists match", ContainerFilter{Names: []string{"web"}, IDs: []string{"ab"}, Labels: []string{"team=a"}, Projects: []string{"shop"}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewContainerMatcher(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(web); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestContainerMatcherEmptyIsNil(t *testing.T) {
	m, err := NewContainerMatcher(ContainerFilter{})
	if err != nil || m != nil {
		t.Fatalf("empty filter: got %v, %v; want nil, nil", m, err)
	}
}

func TestContainerMatcherBadName(t *testing.T) {
	if _, err := NewContainerMatcher(ContainerFilter{Names: []string{"("}}); err == nil {
		t.Fatal("invalid name pattern accepted")
	}
}

func TestIsActive(t *testing.T) {
	for state, want := range map[string]bool{"running": true, "paused": true, "restarting": true, "created": false, "exited": false, "dead": false, "removing": false, "": false} {
		if got := IsActive(state); got != want {
			t.Errorf("IsActive(%q) = %v, want %v", state, got, want)
		}
	}
}
