package streamer

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func parse(t *testing.T, args ...string) (Options, *pflag.FlagSet) {
	t.Helper()
	var o Options
	f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	BindFlags(f, &o)
	if err := f.Parse(args); err != nil {
		t.Fatal(err)
	}
	return o, f
}

// serve's flags are the plugin's interface: their names must not change
// when they move (docker live serve --help stays as it was).
func TestBindFlagsDeclaresServeFlags(t *testing.T) {
	_, f := parse(t)
	var names []string
	f.VisitAll(func(fl *pflag.Flag) { names = append(names, fl.Name) })
	want := []string{"allow-origin", "detach", "history", "idle-timeout", "listen", "max-connections", "ready-fd", "stats-source"}
	for _, n := range want {
		if !slices.Contains(names, n) {
			t.Errorf("flag --%s is missing (have %v)", n, names)
		}
	}
	if fl := f.Lookup("ready-fd"); fl == nil || !fl.Hidden {
		t.Error("--ready-fd must be hidden")
	}
	if fl := f.Lookup("detach"); fl == nil || fl.Shorthand != "d" {
		t.Error("--detach must keep its -d")
	}
}

func TestResolveDefaultsAndChecks(t *testing.T) {
	o, f := parse(t)
	if err := o.Resolve(f); err != nil || o.IdleTimeout != 0 {
		t.Errorf("foreground without --idle-timeout: %v, idle %s; want 0 (runs until stopped)", err, o.IdleTimeout)
	}
	o, f = parse(t, "--detach")
	if err := o.Resolve(f); err != nil || o.IdleTimeout != DefaultIdleTimeout {
		t.Errorf("--detach: %v, idle %s; want the default", err, o.IdleTimeout)
	}
	o, f = parse(t, "--listen", "8080")
	if err := o.Resolve(f); err != nil || o.Listen != "127.0.0.1:8080" {
		t.Errorf("--listen 8080: %v, %q; want loopback", err, o.Listen)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--stats-source", "x"}, `invalid --stats-source "x"`},
		{[]string{"--history", "25h"}, "invalid --history 25h0m0s"},
		{[]string{"--max-connections", "0"}, "invalid --max-connections 0"},
		{[]string{"--listen", "nonsense"}, `invalid --listen "nonsense"`},
	} {
		o, f := parse(t, tc.args...)
		err := o.Resolve(f)
		if !IsUsageError(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want a usage error with %q", tc.args, err, tc.want)
		}
	}
}

// Args hands every serve flag to the streamer binary, and parsing them
// back gives the same options: a new flag travels without a line of code.
func TestArgsRoundTrip(t *testing.T) {
	in := Options{IdleTimeout: 0, Listen: "127.0.0.1:9", AllowOrigins: []string{"http://a", "http://b,c"},
		StatsSource: "api", History: 90 * time.Second, MaxConns: 7, Detach: true, ReadyFD: 5}
	args := in.Args()
	for _, a := range args {
		if strings.HasPrefix(a, "--detach") || strings.HasPrefix(a, "--ready-fd") {
			t.Errorf("Args hands over %s, which the plugin keeps", a)
		}
	}
	out, f := parse(t, args...)
	if err := out.Resolve(f); err != nil {
		t.Fatal(err)
	}
	in.Detach, in.ReadyFD = false, 0
	if !slices.Equal(out.AllowOrigins, in.AllowOrigins) {
		t.Errorf("origins %q, want %q (args %q)", out.AllowOrigins, in.AllowOrigins, args)
	}
	out.AllowOrigins, in.AllowOrigins = nil, nil
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip gave %+v, want %+v (args %q)", out, in, args)
	}
}

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	if o.IdleTimeout != DefaultIdleTimeout || o.StatsSource != "auto" || o.History != DefaultHistory || o.MaxConns < 1 || o.Detach {
		t.Errorf("DefaultOptions() = %+v", o)
	}
}
