package e2e

// Issue "faults, load and bad input": bad input on the command line and
// Engines that cannot be reached. Every mistake must end in a short, clear
// error and a non-zero exit within a bounded time, never a stack trace.

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fltCLIRun runs `docker args...` under env for at most timeout and returns
// stderr, the exit code (-1 when it was still running at the timeout, and
// was then killed) and how long it ran.
func fltCLIRun(t testing.TB, env []string, timeout time.Duration, args ...string) (stdout, stderr string, code int, took time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = dockerEnv(env)
	// Kill the plugin too, not only the docker CLI.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A streamer it starts must not hold the output pipes open for ever.
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	began := time.Now()
	err := cmd.Run()
	took = time.Since(began)
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		code = -1
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code, took
}

var fltCLICrashRE = regexp.MustCompile(`(?m)^goroutine \d+|panic:|runtime error|\.go:\d+`)

// fltCLINoticeRE matches the one-line notices of how a client reaches the
// streamer (starting it, polling, live again): they report progress, not
// the error, so they do not count against its length.
var fltCLINoticeRE = regexp.MustCompile(`^(docker live: (live|polling|reconnecting): |starting the docker live streamer )`)

// fltCLICheckClear fails unless stderr, without connection notices, is at
// most maxLines lines, carries no stack trace, and matches want.
func fltCLICheckClear(t testing.TB, what, stderr string, maxLines int, want *regexp.Regexp) {
	t.Helper()
	var kept []string
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !fltCLINoticeRE.MatchString(line) {
			kept = append(kept, line)
		}
	}
	msg := strings.TrimSpace(strings.Join(kept, "\n"))
	if fltCLICrashRE.MatchString(stderr) {
		t.Errorf("%s: stderr looks like a crash:\n%s", what, stderr)
		return
	}
	if msg == "" {
		t.Errorf("%s: nothing on stderr but notices: %q", what, stderr)
		return
	}
	if n := strings.Count(msg, "\n") + 1; n > maxLines {
		t.Errorf("%s: %d lines on stderr, want at most %d:\n%s", what, n, maxLines, msg)
	}
	if want != nil && !want.MatchString(msg) {
		t.Errorf("%s: stderr %q does not match %q", what, msg, want)
	}
}

// TestCLIErrorBadFlags gives every command flags and values it must refuse.
func TestCLIErrorBadFlags(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	cases := []struct {
		args []string
		want string // regexp the one-line error must match
	}{
		{[]string{"live", "watch", "--filter", "foo=bar"}, `invalid --filter key "foo"`},
		{[]string{"live", "watch", "--filter", "nokey"}, `invalid --filter "nokey"`},
		{[]string{"live", "watch", "--filter", "status=zzz"}, `invalid --filter status=zzz`},
		{[]string{"live", "watch", "--filter", "health=sick"}, `invalid --filter health=sick`},
		{[]string{"live", "watch", "--format", "{{.Nope"}, `invalid --format template`},
		{[]string{"live", "watch", "--format", "{{.NoSuchField}}"}, `invalid --format template.*NoSuchField`},
		{[]string{"live", "watch", "--format", "table {{.Name"}, `invalid --format template`},
		{[]string{"live", "watch", "--sort", "zzz"}, `invalid --sort "zzz"`},
		{[]string{"live", "watch", "--interval", "10ms"}, `invalid --interval`},
		{[]string{"live", "events", "--filter", "bogus=1"}, `invalid --filter key "bogus"`},
		{[]string{"live", "events", "--filter", "noeq"}, `invalid --filter "noeq"`},
		{[]string{"live", "events", "--format", "{{.Nope"}, `invalid --format template`},
		{[]string{"live", "events", "--format", "{{.NoSuchField}}"}, `invalid --format template.*NoSuchField`},
		{[]string{"live", "events", "--since", "garbage"}, `invalid --since "garbage"`},
		{[]string{"live", "events", "--until", "yesterday-ish"}, `invalid --until`},
		{[]string{"live", "version", "--format", "{{.Nope}}"}, `invalid --format template.*Nope`},
		{[]string{"live", "status", "--format", "{{.Nope}}"}, `invalid --format template.*Nope`},
		{[]string{"live", "serve", "--listen", "nonsense"}, `invalid --listen "nonsense"`},
		{[]string{"live", "serve", "--stats-source", "x"}, `invalid --stats-source "x"`},
		{[]string{"live", "serve", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"}, `need --listen`},
		{[]string{"live", "serve", "--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent/cert.pem"}, `--tls-cert and --tls-key go together`},
		{[]string{"live", "serve", "--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"}, `cannot load --tls-cert /nonexistent/cert.pem`},
		{[]string{"live", "serve", "--metrics-labels", "a.b,a-b"}, `invalid --metrics-labels: "a.b" and "a-b"`},
		{[]string{"live", "events", "extra-arg"}, `accepts no arguments|unknown command|"extra-arg"`},
	}
	for _, tc := range cases {
		what := "docker " + strings.Join(tc.args, " ")
		_, stderr, code, took := fltCLIRun(t, env, 20*time.Second, tc.args...)
		if code <= 0 {
			t.Errorf("%s: exit %d after %v, want a failure exit; stderr: %s", what, code, took.Round(time.Millisecond), stderr)
			continue
		}
		fltCLICheckClear(t, what, stderr, 1, regexp.MustCompile(tc.want))
		// Usage errors exit 125, as docker's own flag errors do; a stray
		// argument is cobra's to refuse.
		if owned := tc.args[len(tc.args)-1] != "extra-arg"; owned && code != 125 {
			t.Errorf("%s: exit %d, want 125 (a usage error)", what, code)
		}
		if took > 10*time.Second {
			t.Errorf("%s: took %v to refuse its arguments", what, took)
		}
	}
}

// TestCLIErrorUnknownFlagOrCommand: unknown flags follow docker's own
// commands (the error line, then docker's usage hint, exit 125); an
// unknown subcommand must fail, not print help and succeed.
func TestCLIErrorUnknownFlagOrCommand(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	// docker's own shape for an unknown flag, as the reference.
	_, refErr, refCode, _ := fltCLIRun(t, env, 20*time.Second, "ps", "--bogus")
	refLines := strings.Count(strings.TrimSpace(refErr), "\n") + 1
	for _, tc := range []struct {
		args  []string
		first string // the error line
	}{
		{[]string{"live", "watch", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"live", "events", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"live", "serve", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"live", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"live", "watch", "--interval", "soon"}, `invalid argument "soon" for "--interval" flag: must be a duration like "30s" or "5m"`},
		{[]string{"live", "watch", "--no-stream=maybe"}, `invalid argument "maybe" for "--no-stream" flag`},
	} {
		what := "docker " + strings.Join(tc.args, " ")
		_, stderr, code, _ := fltCLIRun(t, env, 20*time.Second, tc.args...)
		if code != refCode {
			t.Errorf("%s: exit %d, want %d as docker ps --bogus", what, code, refCode)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(stderr), "\n")
		if !strings.HasPrefix(first, tc.first) {
			t.Errorf("%s: first stderr line %q, want %q", what, first, tc.first)
		}
		fltCLICheckClear(t, what, stderr, refLines, nil)
	}
	_, stderr, code, _ := fltCLIRun(t, env, 20*time.Second, "live", "nosuchcmd")
	if code <= 0 {
		t.Errorf("docker live nosuchcmd: exit %d, want a failure exit (as docker container nosuchcmd); stderr: %q", code, stderr)
	}
	fltCLICheckClear(t, "docker live nosuchcmd", stderr, refLines, regexp.MustCompile(`nosuchcmd`))
}

// TestCLIErrorNoEngine points the commands at Engines that are not there:
// with -H and through a context whose endpoint does not exist.
func TestCLIErrorNoEngine(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	ctxName := "dlive-e2e-" + runID
	if _, stderr, code := dockerTryEnv(t, env, "context", "create", ctxName, "--docker", "host=unix:///nonexistent.sock"); code != 0 {
		t.Fatalf("docker context create: %s", stderr)
	}
	t.Cleanup(func() {
		if _, stderr, code := dockerTryEnv(t, env, "context", "rm", "-f", ctxName); code != 0 {
			t.Errorf("docker context rm %s: %s", ctxName, stderr)
		}
	})
	engineRE := regexp.MustCompile(`(?i)engine|daemon|nonexistent`)
	for _, target := range []struct {
		name   string
		global []string
	}{
		{"-H unix:///nonexistent", []string{"-H", "unix:///nonexistent"}},
		{"context " + ctxName, []string{"--context", ctxName}},
	} {
		t.Run(target.name, func(t *testing.T) {
			t.Parallel()
			run := func(timeout time.Duration, args ...string) (string, string, int, time.Duration) {
				return fltCLIRun(t, env, timeout, append(append([]string{}, target.global...), args...)...)
			}

			_, stderr, code, took := run(20*time.Second, "live", "version")
			if code <= 0 {
				t.Errorf("live version: exit %d, want a failure exit", code)
			}
			fltCLICheckClear(t, "live version", stderr, 1, regexp.MustCompile(`nonexistent`))
			if took > 10*time.Second {
				t.Errorf("live version took %v", took)
			}

			// --no-stream must not print an empty table as if the Engine
			// had no containers: it must fail, saying why.
			stdout, stderr, code, took := run(20*time.Second, "live", "watch", "--no-stream")
			if code <= 0 || took > 10*time.Second {
				t.Errorf("live watch --no-stream: exit %d after %v, want a failure exit within 10 s; stdout %q", code, took.Round(time.Millisecond), stdout)
			}
			fltCLICheckClear(t, "live watch --no-stream", stderr, 1, engineRE)

			// events keeps trying (the Engine may come up), but must say at
			// once that it cannot reach it.
			_, stderr, code, _ = run(8*time.Second, "live", "events")
			if code > 0 {
				fltCLICheckClear(t, "live events", stderr, 1, engineRE)
			} else {
				fltCLICheckClear(t, "live events (still running after 8 s)", stderr, 1, engineRE)
			}
		})
	}
}
