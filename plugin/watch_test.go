package plugin

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/liveclient"
)

var clock0 = time.Date(2026, 12, 2, 15, 1, 22, 0, time.UTC)

func TestHeaderSaysStaleWithTheSilence(t *testing.T) {
	wv := &watchView{context: "default", opts: watchOptions{interval: time.Second}}
	v := view{conn: liveclient.State{Mode: liveclient.ModeLive, Stale: true, LastHeard: clock0}, haveState: true}
	h := wv.header(v, clock0.Add(7*time.Second))
	if h.Mode != output.ModeStale || h.Detail != "7s without a message from the streamer" {
		t.Errorf("stale header = %q (%q)", h.Mode, h.Detail)
	}
	v.conn = liveclient.State{Mode: liveclient.ModeLive}
	if h := wv.header(v, clock0); h.Mode != output.ModeLive {
		t.Errorf("live header = %q", h.Mode)
	}
}

func TestHeaderAndNoticeSayWhyPolling(t *testing.T) {
	wv := &watchView{context: "default", opts: watchOptions{interval: time.Second}}
	v := view{conn: liveclient.State{Mode: liveclient.ModePolling, Err: fmt.Errorf("dial: %w", errStreamerStopped)}, haveState: true}
	if h := wv.header(v, clock0); !strings.Contains(h.Detail, "stopped by 'docker live stop'") {
		t.Errorf("polling after stop: detail %q", h.Detail)
	}
	v.conn.Err = errors.New("connection refused")
	if h := wv.header(v, clock0); !strings.HasPrefix(h.Detail, "streamer unavailable") {
		t.Errorf("polling otherwise: detail %q", h.Detail)
	}
	if !errors.Is(errStreamerStopped, liveclient.ErrFallBackNow) {
		t.Error("a stop must make the client fall back at once")
	}
}

func TestConnNoticesStaleOnceAndBack(t *testing.T) {
	var buf bytes.Buffer
	n := newConnNotices(&buf, true)
	n.now = func() time.Time { return clock0.Add(3 * time.Second) }
	n.report(liveclient.State{Mode: liveclient.ModeLive}, time.Second)
	n.report(liveclient.State{Mode: liveclient.ModeLive, Stale: true, LastHeard: clock0}, time.Second)
	n.report(liveclient.State{Mode: liveclient.ModeLive, Stale: true, LastHeard: clock0}, time.Second)
	n.report(liveclient.State{Mode: liveclient.ModeLive}, time.Second)
	want := "docker live: stale: no message from the streamer for 3s (last at 15:01:22)\n" +
		"docker live: live: the streamer answers again\n"
	if buf.String() != want {
		t.Errorf("notices\n got %q\nwant %q", buf.String(), want)
	}
}

func TestResolveArgsAsDocker(t *testing.T) {
	list := []stream.Container{
		{ID: "abc111", Name: "web"}, {ID: "abc222", Name: "db"}, {ID: "fff000", Name: "abc"},
	}
	missing, err := resolveArgs([]string{"web", "abc1", "nope", "fff"}, list)
	if err != nil || strings.Join(missing, ",") != "nope" {
		t.Errorf("resolveArgs = %q, %v", missing, err)
	}
	// "abc" is a name: the name wins over the ambiguous prefix, as in docker.
	if _, err := resolveArgs([]string{"abc"}, list); err != nil {
		t.Errorf("name abc: %v", err)
	}
	if _, err := resolveArgs([]string{"ab"}, list); err == nil || err.Error() != "Multiple IDs found with provided prefix: ab" {
		t.Errorf("ambiguous prefix: %v", err)
	}
	if err := noSuchContainers([]string{"a", "b"}); err.Error() != "No such container: a\nNo such container: b" {
		t.Errorf("noSuchContainers = %q", err)
	}
}

func TestStatusFilterImpliesAll(t *testing.T) {
	fs, _ := parseWatchFilters([]string{"status=exited"})
	wv := &watchView{filters: fs}
	if !wv.visible(&stream.Container{State: "exited"}) {
		t.Error("status=exited without -a hides the exited container; docker ps lists it")
	}
	if wv.visible(&stream.Container{State: "running"}) {
		t.Error("status=exited shows a running container")
	}
	plain := &watchView{}
	if plain.visible(&stream.Container{State: "exited"}) {
		t.Error("without -a or a status filter an exited container shows")
	}
}

func TestStopMarkHonouredOnlyAfterFirstDial(t *testing.T) {
	paths := pathsForDir(t.TempDir())
	before := time.Now().Add(-time.Minute)
	if stoppedSince(paths, before) {
		t.Fatal("stopped without a mark")
	}
	markStopped(paths, 42)
	if !stoppedSince(paths, before) {
		t.Error("a stop after the first dial is not honoured")
	}
	if stoppedSince(paths, time.Now().Add(time.Minute)) {
		t.Error("a stop before the command started is honoured: a new command must start a streamer")
	}
}

func TestUsageErrorsExit125(t *testing.T) {
	err := usageError(errors.New("invalid --sort"))
	var se cli.StatusError
	if !errors.As(err, &se) || se.StatusCode != 125 || err.Error() != "invalid --sort" {
		t.Errorf("usageError = %#v", err)
	}
}
