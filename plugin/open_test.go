package plugin

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/docker/cli/cli"
)

func TestOpenBadPortIsUsageError(t *testing.T) {
	for _, port := range []int{-1, 65536} {
		err := runOpen(context.Background(), newFakeCli(t), openOptions{port: port, noBrowser: true}, nil)
		var se cli.StatusError
		if !errors.As(err, &se) || se.StatusCode != 125 {
			t.Errorf("--port %d: %v, want a usage error (125)", port, err)
		}
	}
}

func TestPageURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:8765": "http://127.0.0.1:8765/",
		"0.0.0.0:8765":   "http://127.0.0.1:8765/",
		"[::]:8765":      "http://127.0.0.1:8765/",
		"[::1]:8765":     "http://[::1]:8765/",
	} {
		if got := pageURL(listen, false); got != want {
			t.Errorf("pageURL(%q) = %q, want %q", listen, got, want)
		}
	}
	if got := pageURL("0.0.0.0:8765", true); got != "https://127.0.0.1:8765/" {
		t.Errorf("pageURL of a TLS listener = %q, want https://127.0.0.1:8765/", got)
	}
	if got := listenText(statusRow{streamerInfo: streamerInfo{Listen: "127.0.0.1:1"}, URL: "http://127.0.0.1:1/"}); got != "http://127.0.0.1:1/" {
		t.Errorf("LISTEN column with a URL: %q", got)
	}
	if got := listenText(statusRow{streamerInfo: streamerInfo{Listen: "127.0.0.1:1"}}); got != "127.0.0.1:1" {
		t.Errorf("LISTEN column of a streamer that does not answer: %q", got)
	}
}

func TestNoDesktopNoOpener(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the desktop check is Linux's")
	}
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	if desktopOpener() != nil {
		t.Error("an opener without DISPLAY or WAYLAND_DISPLAY")
	}
}
