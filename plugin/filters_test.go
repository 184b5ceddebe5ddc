package plugin

import (
	"testing"

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
