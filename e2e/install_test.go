package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// installHome is a fresh HOME without DOCKER_CONFIG, as a new user has it:
// install.sh and docker use ~/.docker, as the README says. Go keeps the
// real build cache, so the builds stay warm.
type installHome struct {
	t    *testing.T
	home string
	env  []string
}

func newInstallHome(t *testing.T) *installHome {
	t.Helper()
	home, err := os.MkdirTemp(tmpRoot, "h") // short: sockets go under it
	if err != nil {
		t.Fatal(err)
	}
	var goEnv []string
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
		out, err := exec.Command("go", "env", k).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", k, err)
		}
		goEnv = append(goEnv, k+"="+strings.TrimSpace(string(out)))
	}
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_CONFIG=") && !strings.HasPrefix(kv, "DOCKER_LIVE_STREAMER=") {
			base = append(base, kv)
		}
	}
	h := &installHome{t: t, home: home, env: mergeEnv(base, append(goEnv, "HOME="+home))}
	t.Cleanup(func() {
		// Whatever the test left running under this HOME goes first.
		h.run(nil, "docker", "live", "stop", "--all")
		_ = os.RemoveAll(home)
	})
	return h
}

// run runs argv under the home's environment plus extra, and returns its
// stdout, stderr and exit code.
func (h *installHome) run(extra []string, argv ...string) (string, string, int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = h.home
	cmd.Env = mergeEnv(h.env, extra)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		h.t.Fatalf("%s: timed out; stderr: %s", strings.Join(argv, " "), errb.String())
	case errors.As(err, &exitErr):
		return out.String(), errb.String(), exitErr.ExitCode()
	case err != nil:
		h.t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	return out.String(), errb.String(), 0
}

// must runs argv and fails the test unless it exits 0.
func (h *installHome) must(extra []string, argv ...string) string {
	h.t.Helper()
	out, errOut, code := h.run(extra, argv...)
	if code != 0 {
		h.t.Fatalf("%s: exit %d:\n%s%s", strings.Join(argv, " "), code, out, errOut)
	}
	return out
}

// files lists every path under HOME (folders with a trailing /).
func (h *installHome) files() []string {
	h.t.Helper()
	var list []string
	_ = filepath.WalkDir(h.home, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == h.home {
			return nil
		}
		rel, _ := filepath.Rel(h.home, p)
		if d.IsDir() {
			rel += "/"
		}
		list = append(list, rel)
		return nil
	})
	return list
}

// watchNoStream runs `docker live watch --no-stream`, which must print
// the table. A cold start on a busy host may serve before the Engine's
// first list is in (the streamer waits 3 s for it, then says "not
// connected yet" rather than block); then the streamer must connect, and
// the next watch must succeed.
func (h *installHome) watchNoStream() {
	h.t.Helper()
	out, errOut, code := h.run(nil, "docker", "live", "watch", "--no-stream")
	if code == 0 && strings.HasPrefix(out, "NAME") {
		return
	}
	if !strings.Contains(errOut, "not connected yet") {
		h.t.Fatalf("docker live watch --no-stream: exit %d:\n%s%s", code, out, errOut)
	}
	waitFor(h.t, 60*time.Second, "the streamer to connect to the Engine", func() bool {
		list := h.status()
		return len(list) == 1 && list[0].Engine == "connected"
	})
	if out := h.must(nil, "docker", "live", "watch", "--no-stream"); !strings.HasPrefix(out, "NAME") {
		h.t.Fatalf("docker live watch --no-stream printed no table: %q", out)
	}
}

// versionJSON is docker live version --format json.
type versionJSON struct {
	Version                string `json:"version"`
	StreamerVersion        string `json:"streamer_version"`
	StreamerPath           string `json:"streamer_path"`
	StreamerError          string `json:"streamer_error"`
	RunningStreamerVersion string `json:"running_streamer_version"`
	RunningStreamerPID     int    `json:"running_streamer_pid"`
}

func (h *installHome) version() (versionJSON, string, int) {
	h.t.Helper()
	out, errOut, code := h.run(nil, "docker", "live", "version", "--format", "json")
	var v versionJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		h.t.Fatalf("docker live version --format json: %v: %q %s", err, out, errOut)
	}
	return v, errOut, code
}

func (h *installHome) status() []streamerStatus {
	h.t.Helper()
	out := h.must(nil, "docker", "live", "status", "--format", "json")
	var list []streamerStatus
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var s streamerStatus
		if err := dec.Decode(&s); err != nil {
			h.t.Fatalf("status json: %v: %s", err, out)
		}
		list = append(list, s)
	}
	return list
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// TestInstallUpgradeUninstall follows the README on a fresh HOME: install
// and watch; an upgrade while a streamer runs (it keeps running, the next
// start is the new version); a mismatched pair refused in one line; and an
// uninstall that leaves nothing it installed.
func TestInstallUpgradeUninstall(t *testing.T) {
	h := newInstallHome(t)
	script := filepath.Join(repoRoot, "install.sh")
	plugin := filepath.Join(h.home, ".docker", "cli-plugins", "docker-live")
	streamerBin := filepath.Join(h.home, ".docker", "docker-live", "docker-live-streamer")
	before := h.files()

	// Fresh install, as the README's "Set up on a fresh machine": ./install.sh && docker live watch.
	h.must([]string{"VERSION=e2e-old"}, script)
	// What install.sh put in: new paths under ~/.docker (the Go toolchain
	// keeps its own files, such as telemetry counters, under ~/.config).
	installed := slices.DeleteFunc(h.files(), func(p string) bool {
		return slices.Contains(before, p) || !strings.HasPrefix(p, ".docker/")
	})
	if len(installed) < 4 {
		t.Fatalf("install.sh added %q under ~/.docker, want at least both binaries and their folders", installed)
	}
	for _, p := range []string{plugin, streamerBin} {
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			t.Fatalf("install.sh left no executable at %s (%v)", p, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(plugin)); len(entries) != 1 {
		t.Errorf("cli-plugins holds %d entries, want only docker-live (the streamer must not sit there)", len(entries))
	}
	if help := h.must(nil, "docker", "--help"); strings.Contains(help, "Invalid Plugins") || strings.Contains(help, "live-streamer") {
		t.Errorf("docker --help lists a broken plugin after install:\n%s", help)
	}
	h.watchNoStream()
	v, errOut, code := h.version()
	if code != 0 || v.Version != "e2e-old" || v.StreamerVersion != "e2e-old" || v.StreamerPath != streamerBin {
		t.Fatalf("version after install: exit %d %+v %s", code, v, errOut)
	}
	list := h.status()
	if len(list) != 1 || list[0].Version != "e2e-old" {
		t.Fatalf("after watch, status lists %+v, want the one streamer it started", list)
	}
	old := list[0]
	exe, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(old.PID), "exe"))
	if exe != streamerBin {
		t.Errorf("the streamer runs %q, want the streamer binary %s (not the plugin)", exe, streamerBin)
	}

	// Upgrade while it runs: both files are replaced (new inodes), the old
	// streamer keeps serving, and watch attaches to it.
	oldInodes := []uint64{inode(t, plugin), inode(t, streamerBin)}
	h.must([]string{"VERSION=e2e-new"}, script)
	if newInodes := []uint64{inode(t, plugin), inode(t, streamerBin)}; newInodes[0] == oldInodes[0] || newInodes[1] == oldInodes[1] {
		t.Errorf("install.sh wrote into the old files (inodes %v then %v), not renamed new ones over them", oldInodes, newInodes)
	}
	if processGone(old.PID) {
		t.Fatalf("the running streamer (pid %d) died during the upgrade", old.PID)
	}
	if health := healthOver(t, old.Socket); health["version"] != "e2e-old" || int(health["pid"].(float64)) != old.PID {
		t.Errorf("after the upgrade the old streamer answers %v", health)
	}
	h.watchNoStream()
	v, errOut, code = h.version()
	if code != 0 || v.Version != "e2e-new" || v.StreamerVersion != "e2e-new" || v.RunningStreamerVersion != "e2e-old" || v.RunningStreamerPID != old.PID {
		t.Errorf("version during the upgrade: exit %d %+v %s; want the new pair and the old streamer running", code, v, errOut)
	}
	// The next start uses the new binary.
	h.must(nil, "docker", "live", "stop")
	h.must(nil, "docker", "live", "serve", "--detach")
	list = h.status()
	if len(list) != 1 || list[0].PID == old.PID {
		t.Fatalf("after stop and serve --detach, status lists %+v", list)
	}
	if health := healthOver(t, list[0].Socket); health["version"] != "e2e-new" {
		t.Errorf("the streamer started after the upgrade answers version %v, want e2e-new", health["version"])
	}

	// A mismatched pair: a streamer binary of another version (the
	// harness's, e2e-test) is refused in one line, by version and at start.
	other := []string{"DOCKER_LIVE_STREAMER=" + streamerPath}
	h.must(nil, "docker", "live", "stop")
	for _, argv := range [][]string{{"docker", "live", "version"}, {"docker", "live", "serve", "--detach"}} {
		_, errOut, code := h.run(other, argv...)
		msg := strings.TrimSpace(errOut)
		if code == 0 || strings.Contains(msg, "\n") || !strings.Contains(msg, streamerPath) || !strings.Contains(msg, pluginVersion) || !strings.Contains(msg, "e2e-new") {
			t.Errorf("%s with a streamer binary of another version: exit %d, stderr %q; want one line naming the file and both versions", strings.Join(argv, " "), code, errOut)
		}
	}
	if list := h.status(); len(list) != 0 {
		t.Errorf("a mismatched streamer binary was left running: %+v", list)
	}

	// Uninstall: stops what runs and removes everything install.sh put in.
	h.must(nil, "docker", "live", "serve", "--detach")
	running := h.status()
	out := h.must(nil, script, "--uninstall")
	for _, s := range running {
		waitFor(t, 10*time.Second, "the streamer to exit on uninstall", func() bool { return processGone(s.PID) })
	}
	after := h.files()
	for _, p := range installed {
		// ~/.docker is the docker CLI's own folder: it stays.
		if slices.Contains(after, p) && p != ".docker/" {
			t.Errorf("%s is still there after install.sh --uninstall (%s)", p, strings.TrimSpace(out))
		}
	}
	for _, p := range after {
		if strings.HasPrefix(p, ".docker/live/") || strings.HasPrefix(p, ".docker/docker-live") {
			t.Errorf("%s is still there after install.sh --uninstall", p)
		}
	}
	if _, _, code := h.run(nil, "docker", "live", "version"); code == 0 {
		t.Error("docker live version still works after install.sh --uninstall")
	}
}
