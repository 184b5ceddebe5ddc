package e2e

// watch --contexts against two real Engines: the shared one (context
// "default") and a private dockerd (privdockerd_test.go) reached through a
// Docker context of its own in the test's DOCKER_CONFIG. Each context gets
// its own streamer, started by the command.

import (
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ctxRow is the part of a watch --format json line the test reads.
type ctxRow struct {
	Context string `json:"context"`
	ID      string `json:"id"`
	State   string `json:"state"`
}

// ctxEventOf matches an events --contexts --format json line of a container's action.
func ctxEventOf(context, id, action string) func(string) bool {
	return func(line string) bool {
		var ev struct {
			Context string
			Action  string
			Actor   struct{ ID string }
		}
		return json.Unmarshal([]byte(line), &ev) == nil && ev.Context == context && ev.Actor.ID == id && ev.Action == action
	}
}

func parseCtxRow(line string) (ctxRow, bool) {
	var r ctxRow
	if err := json.Unmarshal([]byte(line), &r); err != nil || r.ID == "" {
		return r, false
	}
	return r, true
}

// TestContextsTwoEngines: watch --contexts default,<private> shows both
// Engines' labelled containers, each with its context, in --no-stream and
// streaming output; stopping the private Engine marks that context
// unavailable while the shared one keeps updating (a pause still shows);
// --no-stream then prints the shared Engine's rows, names the private
// context on stderr and exits non-zero; an unknown context is exit 125.
func TestContextsTwoEngines(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	d := fltNewDaemon(t, env)
	priv := "priv-" + runID
	if _, stderr, code := dockerTryEnv(t, env, "context", "create", priv, "--docker", "host="+d.host); code != 0 {
		t.Fatalf("docker context create: exit %d: %s", code, stderr)
	}
	label := "dle2e-ctx=" + runID
	mainC := runHelper(t, HelperOpts{Labels: map[string]string{"dle2e-ctx": runID}})
	privC := d.docker(t, "run", "-d", "--network", "none", "--no-healthcheck", "--label", label, "--label", runLabel, imageRef)
	contexts := "default," + priv
	watchArgs := []string{"live", "watch", "--contexts", contexts, "--filter", "label=" + label}
	want := map[string]string{"default": mainC.ID, priv: privC}

	// Streaming: NDJSON lines of both contexts, a plain table whose
	// status lines name each context's state, and both Engines' events.
	evs := startDockerEnv(t, env, "live", "events", "--contexts", contexts, "--filter", "label="+label, "--format", "json")
	js := startDockerEnv(t, env, append(watchArgs, "--format", "json")...)
	seen := map[string]bool{}
	waitLine(t, js, 30*time.Second, "a json line of each context", func(l string) bool {
		if r, ok := parseCtxRow(l); ok && want[r.Context] == r.ID {
			seen[r.Context] = true
		}
		return len(seen) == 2
	})

	// --no-stream, answered by the two streamers the streaming commands
	// started: both Engines' containers, each with its context.
	stdout, stderr, code := dockerTryEnv(t, env, append(watchArgs, "--no-stream", "--format", "json")...)
	if code != 0 {
		t.Fatalf("watch --contexts --no-stream: exit %d: %s", code, stderr)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if r, ok := parseCtxRow(line); ok {
			if got[r.Context] != "" {
				t.Errorf("context %s has two rows: %s", r.Context, stdout)
			}
			got[r.Context] = r.ID
		}
	}
	if len(got) != 2 || got["default"] != want["default"] || got[priv] != want[priv] {
		t.Fatalf("watch --contexts --no-stream rows by context %v, want %v\n%s", got, want, stdout)
	}
	table, _, code := dockerTryEnv(t, env, append(watchArgs, "--no-stream")...)
	if code != 0 || !strings.HasPrefix(table, "CONTEXT ") || !strings.Contains(table, "\ndefault ") || !strings.Contains(table, "\n"+priv+" ") {
		t.Errorf("the --no-stream table lacks a CONTEXT column with both contexts (exit %d):\n%s", code, table)
	}
	tbl := startDockerEnv(t, env, watchArgs...)
	statusLine := func(ctx, mode string) func(string) bool {
		return func(l string) bool { return strings.HasPrefix(l, "● "+ctx+" ") && strings.Contains(l, " "+mode) }
	}
	waitLine(t, tbl, 30*time.Second, "the table's live status line of "+priv, statusLine(priv, "live"))
	d.docker(t, "pause", privC)
	waitLine(t, evs, 20*time.Second, "events' pause of "+priv, ctxEventOf(priv, privC, "pause"))

	// The private Engine goes away: its context says so, the other goes on.
	d.stop(t, syscall.SIGTERM, 60*time.Second)
	waitFor(t, 30*time.Second, "watch --format json saying on stderr that "+priv+"'s Engine is unavailable", func() bool {
		return strings.Contains(js.Stderr(), "docker live: context "+priv+": Engine unavailable")
	})
	waitLine(t, tbl, 30*time.Second, "the table's engine-unavailable status line of "+priv, statusLine(priv, "engine-unavailable"))
	pausing := time.Now()
	dockerCmd(t, "pause", mainC.ID)
	waitLine(t, js, 20*time.Second, "the shared Engine's pause while "+priv+" is down", func(l string) bool {
		r, ok := parseCtxRow(l)
		return ok && r.Context == "default" && r.ID == mainC.ID && r.State == "paused"
	})
	t.Logf("the pause showed %s after docker pause started, with %s down", time.Since(pausing).Round(time.Millisecond), priv)
	waitLine(t, evs, 20*time.Second, "events' pause of default while "+priv+" is down", ctxEventOf("default", mainC.ID, "pause"))
	if !strings.Contains(evs.Stderr(), "docker live: context "+priv+": Engine unavailable") {
		t.Errorf("events does not say on stderr that %s's Engine is unavailable: %q", priv, evs.Stderr())
	}
	waitLine(t, tbl, 20*time.Second, "the table's paused row of default", func(l string) bool {
		return strings.HasPrefix(l, "default ") && strings.Contains(l, " paused ")
	})

	// --no-stream with one context down: the other's rows, the lost one
	// named on stderr, a non-zero exit.
	stdout, stderr, code = dockerTryEnv(t, env, append(watchArgs, "--no-stream", "--format", "json")...)
	if code == 0 || code == 125 {
		t.Errorf("--no-stream with %s down exited %d, want a non-zero status other than 125", priv, code)
	}
	if !strings.Contains(stderr, "context "+priv+": ") {
		t.Errorf("--no-stream does not name %s on stderr: %q", priv, stderr)
	}
	r, ok := parseCtxRow(strings.TrimSpace(stdout))
	if !ok || r.Context != "default" || r.ID != mainC.ID || r.State != "paused" {
		t.Errorf("--no-stream with %s down printed %q, want the shared Engine's paused container only", priv, stdout)
	}

	// An unknown context: one line, exit 125.
	_, stderr, code = dockerTryEnv(t, env, "live", "watch", "--contexts", "default,nosuch-"+runID, "--no-stream")
	if code != 125 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, `unknown context "nosuch-`+runID+`"`) {
		t.Errorf("unknown context: exit %d, stderr %q; want 125 and one line naming it", code, stderr)
	}
}
