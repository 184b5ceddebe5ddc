package plugin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli"
	"github.com/moby/moby/api/types/events"
	"github.com/spf13/cobra"

	"github.com/docker-live/docker-live/output"
)

func isUsageError(err error) bool {
	var se cli.StatusError
	return errors.As(err, &se) && se.StatusCode == 125
}

func TestWatchFlagsToOptions(t *testing.T) {
	var defaults watchOptions
	addWatchFlags(&cobra.Command{}, &defaults)
	if defaults.sort != "name" || defaults.interval != time.Second || defaults.all || defaults.format != "" || defaults.poll {
		t.Errorf("defaults = %+v", defaults)
	}
	var opts watchOptions
	cmd := &cobra.Command{}
	addWatchFlags(cmd, &opts)
	err := cmd.ParseFlags([]string{"-a", "-f", "name=web", "--filter", "label=a=b", "--sort", "cpu", "--no-stream",
		"--no-trunc", "--format", "json", "--interval", "2s", "--poll"})
	if err != nil {
		t.Fatal(err)
	}
	want := watchOptions{all: true, filters: []string{"name=web", "label=a=b"}, sort: "cpu", noStream: true, noTrunc: true,
		format: "json", interval: 2 * time.Second, poll: true}
	if opts.all != want.all || strings.Join(opts.filters, "|") != strings.Join(want.filters, "|") || opts.sort != want.sort ||
		opts.noStream != want.noStream || opts.noTrunc != want.noTrunc || opts.format != want.format || opts.interval != want.interval || opts.poll != want.poll {
		t.Errorf("options = %+v, want %+v", opts, want)
	}
}

func TestNewWatchViewChecksOptions(t *testing.T) {
	good := watchOptions{sort: "name", interval: time.Second}
	wv, err := newWatchView(good, "ctx")
	if err != nil || wv.format.Kind != output.FormatTable || wv.context != "ctx" {
		t.Fatalf("newWatchView(defaults) = %+v, %v", wv, err)
	}
	for _, tc := range []struct {
		format string
		kind   output.FormatKind
		tmpl   bool
	}{
		{"table", output.FormatTable, false},
		{"json", output.FormatJSON, false},
		{"{{.Name}} {{.CPUPerc}}", output.FormatTemplate, true},
		{"table {{.Name}}\t{{.MemUsage}}", output.FormatTable, true},
	} {
		o := good
		o.format = tc.format
		wv, err := newWatchView(o, "")
		if err != nil || wv.format.Kind != tc.kind || (wv.format.Template != nil) != tc.tmpl {
			t.Errorf("--format %q: kind %v template %v err %v; want kind %v template %v", tc.format, wv.format.Kind, wv.format.Template != nil, err, tc.kind, tc.tmpl)
		}
	}
	for _, tc := range []struct {
		change func(*watchOptions)
		want   string
	}{
		{func(o *watchOptions) { o.sort = "colour" }, `invalid --sort "colour"`},
		{func(o *watchOptions) { o.interval = 500 * time.Millisecond }, "invalid --interval 500ms"},
		{func(o *watchOptions) { o.format = "{{.Nope}}" }, "Nope"},
		{func(o *watchOptions) { o.filters = []string{"colour=red"} }, `invalid --filter key "colour"`},
		{func(o *watchOptions) { o.filters = []string{"health=great"} }, "invalid --filter health=great"},
		{func(o *watchOptions) { o.filters = []string{"name=a("} }, "invalid --filter name"},
	} {
		o := good
		tc.change(&o)
		_, err := newWatchView(o, "")
		if !isUsageError(err) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("options %+v: err %v; want a one-line usage error with %q", o, err, tc.want)
		}
	}
}

func TestEventsFlagsToOptions(t *testing.T) {
	var opts eventsOptions
	cmd := &cobra.Command{}
	addEventsFlags(cmd, &opts)
	if err := cmd.ParseFlags([]string{"-f", "type=container", "--filter", "event=start", "--since", "10m", "--until", "0", "--format", "json"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(opts.filters, "|") != "type=container|event=start" || opts.since != "10m" || opts.until != "0" || opts.format != "json" {
		t.Errorf("options = %+v", opts)
	}
}

func TestParseEventsOptionsWithItsClock(t *testing.T) {
	now := clock0 // the injected clock: durations count back from it
	req, err := parseEventsOptions(eventsOptions{since: "10m", until: "1700000000.5", filters: []string{"type=container"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !req.since.Equal(now.Add(-10*time.Minute)) || !req.until.Equal(time.Unix(1700000000, 5e8)) || !req.start.Equal(now) {
		t.Errorf("since %s until %s start %s", req.since, req.until, req.start)
	}
	if got := req.filters["type"]; len(got) != 1 || got[0] != "container" {
		t.Errorf("filters = %v", req.filters)
	}
	if req, err := parseEventsOptions(eventsOptions{}, now); err != nil || !req.since.IsZero() || !req.until.IsZero() {
		t.Errorf("no --since/--until: %+v, %v", req, err)
	}
	for _, tc := range []struct {
		opts eventsOptions
		want string
	}{
		{eventsOptions{since: "yesterday"}, `invalid --since "yesterday"`},
		{eventsOptions{until: "10x"}, `invalid --until "10x"`},
		{eventsOptions{filters: []string{"colour=red"}}, `invalid --filter key "colour"`},
		{eventsOptions{filters: []string{"type"}}, `invalid --filter "type"`},
		{eventsOptions{format: "{{.Nope"}, "template"},
	} {
		_, err := parseEventsOptions(tc.opts, now)
		if !isUsageError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v; want a usage error with %q", tc.opts, err, tc.want)
		}
	}
}

func TestParseEventsOptionsFormats(t *testing.T) {
	ev := events.Message{Type: events.ContainerEventType, Action: "start", TimeNano: clock0.UnixNano(),
		Actor: events.Actor{ID: "abc123", Attributes: map[string]string{"name": "web"}}}
	for _, tc := range []struct{ format, want string }{
		{"{{.Action}} {{.Actor.Attributes.name}}", "start web\n"},
		{"json", `"Action":"start"`},
		{"", "container start abc123 (name=web)\n"},
	} {
		req, err := parseEventsOptions(eventsOptions{format: tc.format}, clock0)
		if err != nil {
			t.Fatalf("--format %q: %v", tc.format, err)
		}
		line, err := req.format.In(time.UTC).Append(nil, ev)
		if err != nil || !strings.Contains(string(line), tc.want) {
			t.Errorf("--format %q printed %q (%v), want it to hold %q", tc.format, line, err, tc.want)
		}
	}
}
