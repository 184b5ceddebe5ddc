package plugin

import (
	"testing"

	"github.com/moby/moby/api/types/events"

	"github.com/docker-live/docker-live/stream"
)

// Issue 15: the CLI's name filter was a substring while the protocol's was
// an exact name. Both are docker ps' regular expressions now.
func TestWatchNameFilterIsRegexAsDockerPs(t *testing.T) {
	fs, err := parseWatchFilters([]string{"name=^extra-[12]$"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"extra-1": true, "extra-2": true, "extra-3": false, "my-extra-1": false} {
		if got := fs.matchContainer(&stream.Container{Name: name}); got != want {
			t.Errorf("name=^extra-[12]$ on %q = %v, want %v", name, got, want)
		}
	}
	// A plain word still matches as a substring, as docker ps does.
	fs, _ = parseWatchFilters([]string{"name=web"})
	if !fs.matchContainer(&stream.Container{Name: "shop-web-1"}) {
		t.Error("name=web should match shop-web-1")
	}
}

func TestWatchNameFilterRejectsBadRegex(t *testing.T) {
	if _, err := parseWatchFilters([]string{"name=a(b"}); err == nil {
		t.Fatal("want an error for name=a(b")
	}
}

func TestWatchFilterUnknownKeyAndStatus(t *testing.T) {
	if _, err := parseWatchFilters([]string{"colour=red"}); err == nil {
		t.Error("unknown key accepted")
	}
	if _, err := parseWatchFilters([]string{"status=sleeping"}); err == nil {
		t.Error("unknown status accepted")
	}
	if _, err := parseWatchFilters([]string{"nokey"}); err == nil {
		t.Error("filter without = accepted")
	}
}

func TestWatchFiltersMatchAsDockerPs(t *testing.T) {
	web := &stream.Container{ID: "abc123", Name: "/shop-web-1", State: "running", Health: "healthy", Image: "nginx:1.27",
		Project: "shop", Labels: map[string]string{"tier": "front", "team": "a"}}
	plain := &stream.Container{ID: "fff000", Name: "/db", State: "exited", Image: "postgres@sha256:0123"}
	for _, tc := range []struct {
		filters   []string
		web, want bool // want: plain's answer
	}{
		{nil, true, true},
		{[]string{"id=abc"}, true, false},
		{[]string{"id=abc", "id=fff"}, true, true}, // values of one key are ORed
		{[]string{"label=tier"}, true, false},
		{[]string{"label=tier=front"}, true, false},
		{[]string{"label=tier=front", "label=team=b"}, false, false}, // labels all must match
		{[]string{"status=running"}, true, false},
		{[]string{"status=running", "status=exited"}, true, true},
		{[]string{"health=healthy"}, true, false},
		{[]string{"health=none"}, false, true},
		{[]string{"ancestor=nginx"}, true, false},
		{[]string{"ancestor=nginx:1.27"}, true, false},
		{[]string{"ancestor=ngin"}, false, false},
		{[]string{"ancestor=postgres"}, false, true},
		{[]string{"project=shop"}, true, false},
		{[]string{"name=web", "status=exited"}, false, false}, // keys are ANDed
		{[]string{"name=web", "project=shop", "label=team", "id=abc1", "health=healthy", "status=running"}, true, false},
	} {
		fs, err := parseWatchFilters(tc.filters)
		if err != nil {
			t.Fatalf("%q: %v", tc.filters, err)
		}
		if got := fs.matchContainer(web); got != tc.web {
			t.Errorf("%q on web = %v, want %v", tc.filters, got, tc.web)
		}
		if got := fs.matchContainer(plain); got != tc.want {
			t.Errorf("%q on db = %v, want %v", tc.filters, got, tc.want)
		}
	}
}

func TestEventFiltersMatchAsDockerEvents(t *testing.T) {
	start := &events.Message{Type: events.ContainerEventType, Action: "start", Scope: "local",
		Actor: events.Actor{ID: "abc123", Attributes: map[string]string{"name": "web", "image": "nginx:1.27", "tier": "front"}}}
	exec := &events.Message{Type: events.ContainerEventType, Action: "exec_start: sh -c true",
		Actor: events.Actor{ID: "abc123", Attributes: map[string]string{"name": "web"}}}
	connect := &events.Message{Type: events.NetworkEventType, Action: "connect", Scope: "local",
		Actor: events.Actor{ID: "net1", Attributes: map[string]string{"name": "bridge", "container": "abc123"}}}
	pull := &events.Message{Type: events.ImageEventType, Action: "pull", Actor: events.Actor{ID: "sha256:99", Attributes: map[string]string{"name": "nginx:1.27"}}}
	for _, tc := range []struct {
		filters []string
		want    [4]bool // start, exec, connect, pull
	}{
		{nil, [4]bool{true, true, true, true}},
		{[]string{"type=container"}, [4]bool{true, true, false, false}},
		{[]string{"type=network", "type=image"}, [4]bool{false, false, true, true}},
		{[]string{"event=start"}, [4]bool{true, false, false, false}},
		{[]string{"event=exec_start"}, [4]bool{false, true, false, false}}, // without its ": detail"
		{[]string{"container=web"}, [4]bool{true, true, false, false}},     // by name
		{[]string{"container=abc"}, [4]bool{true, true, false, false}},     // by id prefix
		{[]string{"image=nginx"}, [4]bool{true, false, false, false}},      // a container's image, without tag
		{[]string{"image=nginx:1.27"}, [4]bool{true, false, false, true}},  // and an image event's name
		{[]string{"network=bridge"}, [4]bool{false, false, true, false}},
		{[]string{"label=tier=front"}, [4]bool{true, false, false, false}},
		{[]string{"scope=local"}, [4]bool{true, false, true, false}},
		{[]string{"type=container", "event=start", "container=web"}, [4]bool{true, false, false, false}},
	} {
		fs, err := parseFilters(tc.filters, eventFilterKeys)
		if err != nil {
			t.Fatalf("%q: %v", tc.filters, err)
		}
		for i, ev := range []*events.Message{start, exec, connect, pull} {
			if got := fs.matchEvent(ev); got != tc.want[i] {
				t.Errorf("%q on %s %s = %v, want %v", tc.filters, ev.Type, ev.Action, got, tc.want[i])
			}
		}
	}
}
