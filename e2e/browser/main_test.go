// Package browser runs the page of `docker live open` in a real Chromium
// (Debian's, headless) against the real plugin and the real Engine. It is
// a Go module of its own so that chromedp never enters the plugin's
// dependency graph.
//
// It follows the e2e harness's conventions (e2e/main_test.go), with the
// few helpers it needs copied here: the plugin is built into a temporary
// DOCKER_CONFIG, the helper image FROM scratch, everything the run creates
// carries docker-live-e2e=<runID> (with the pid and host labels, so that
// the main harness also removes a dead run's leftovers) and is removed at
// the end. Without an Engine or Chromium the tests are skipped, unless CI
// is set: then that is a failure.
package browser

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	labelRun  = "docker-live-e2e"
	labelPID  = "docker-live-e2e.pid"
	labelHost = "docker-live-e2e.host"
	labelTest = "docker-live-e2e.test"
)

var (
	repoRoot     string
	tmpRoot      string
	pluginPath   string
	imageRef     string
	runID        string
	runLabel     string
	hostname     string
	chromiumPath string
	// artifacts is where screenshots go (printed at the start).
	artifacts string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// need reports a missing prerequisite: a failure on CI, a skip elsewhere.
func need(msg string) int {
	if os.Getenv("CI") != "" {
		fmt.Fprintf(os.Stderr, "browser e2e: FAIL: CI is set and %s\n", msg)
		return 1
	}
	fmt.Printf("browser e2e: SKIP: %s (set CI=1 to make this a failure)\n", msg)
	return 0
}

func runMain(m *testing.M) int {
	chromiumPath = os.Getenv("CHROMIUM")
	if chromiumPath == "" {
		chromiumPath = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		return need(fmt.Sprintf("no Chromium at %s (apt-get install chromium, or set CHROMIUM)", chromiumPath))
	}
	if out, err := run(30*time.Second, "", nil, "docker", "info", "--format", "{{.ServerVersion}}"); err != nil {
		return need("no Docker Engine answers `docker info`: " + oneLine(out))
	}
	if err := setUp(); err != nil {
		fmt.Fprintf(os.Stderr, "browser e2e: set-up failed: %v\n", err)
		cleanUp()
		return 1
	}
	fmt.Printf("browser e2e: screenshots in %s\n", artifacts)
	code := m.Run()
	cleanUp()
	return code
}

func setUp() error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	repoRoot = filepath.Dir(filepath.Dir(wd))
	hostname, _ = os.Hostname()
	var id [4]byte
	_, _ = rand.Read(id[:])
	runID = hex.EncodeToString(id[:])
	runLabel = labelRun + "=" + runID
	artifacts = os.Getenv("DOCKER_LIVE_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(wd, "artifacts")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		return err
	}
	// Short: Unix sockets live under each test's DOCKER_CONFIG.
	if tmpRoot, err = os.MkdirTemp("", "dlbr-"); err != nil {
		return err
	}
	pluginPath = filepath.Join(tmpRoot, "docker-live")
	var wg sync.WaitGroup
	var pluginErr, imageErr error
	wg.Go(func() {
		out, err := run(5*time.Minute, repoRoot, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath",
			"-ldflags", "-s -w -X main.version=e2e-browser", "-o", pluginPath, "./cmd/docker-live")
		if err != nil {
			pluginErr = fmt.Errorf("building the plugin: %v\n%s", err, out)
		}
	})
	var streamerErr error
	if _, err := os.Stat(filepath.Join(repoRoot, "cmd", "docker-live-streamer")); err == nil {
		// The streamer binary, beside the plugin's real file, where the
		// plugin looks for it (a `make build` tree).
		wg.Go(func() {
			out, err := run(5*time.Minute, repoRoot, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath",
				"-ldflags", "-s -w -X main.version=e2e-browser", "-o", filepath.Join(tmpRoot, "docker-live-streamer"), "./cmd/docker-live-streamer")
			if err != nil {
				streamerErr = fmt.Errorf("building the streamer: %v\n%s", err, out)
			}
		})
	}
	wg.Go(func() { imageErr = buildImage() })
	wg.Wait()
	return errors.Join(pluginErr, streamerErr, imageErr)
}

// buildImage builds e2e/testdata's helper image as the main harness does
// (same tag, so either harness reuses the other's).
func buildImage() error {
	ctxDir := filepath.Join(tmpRoot, "image")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		return err
	}
	helper := filepath.Join(ctxDir, "helper")
	if out, err := run(5*time.Minute, filepath.Join(repoRoot, "e2e", "testdata", "helper"), []string{"CGO_ENABLED=0", "GOOS=linux"},
		"go", "build", "-trimpath", "-ldflags", "-s -w", "-o", helper, "."); err != nil {
		return fmt.Errorf("building the helper: %v\n%s", err, out)
	}
	dockerfile, err := os.ReadFile(filepath.Join(repoRoot, "e2e", "testdata", "Dockerfile"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), dockerfile, 0o644); err != nil {
		return err
	}
	bin, err := os.ReadFile(helper)
	if err != nil {
		return err
	}
	h := sha256.New()
	h.Write(bin)
	h.Write(dockerfile)
	imageRef = "docker-live-e2e-helper:" + hex.EncodeToString(h.Sum(nil))[:12]
	if _, err := run(time.Minute, "", nil, "docker", "image", "inspect", "--format", "{{.Id}}", imageRef); err == nil {
		return nil
	}
	args := []string{"docker", "build", "-q", "--label", "docker-live-e2e-helper=1", "-t", imageRef, ctxDir}
	if out, err := run(2*time.Minute, "", []string{"DOCKER_BUILDKIT=0"}, args...); err != nil {
		if out2, err2 := run(2*time.Minute, "", nil, args...); err2 != nil {
			return fmt.Errorf("docker build: %v: %s / %v: %s", err, oneLine(out), err2, oneLine(out2))
		}
	}
	return nil
}

var (
	configsMu sync.Mutex
	configs   []string
)

func cleanUp() {
	configsMu.Lock()
	for _, dir := range configs {
		_, _ = run(30*time.Second, "", []string{"DOCKER_CONFIG=" + dir}, "docker", "live", "stop", "--all")
	}
	configsMu.Unlock()
	out, _ := run(time.Minute, "", nil, "docker", "ps", "-aq", "--no-trunc", "--filter", "label="+runLabel)
	if ids := strings.Fields(out); len(ids) > 0 {
		_, _ = run(2*time.Minute, "", nil, append([]string{"docker", "rm", "-f", "-v"}, ids...)...)
	}
	if tmpRoot != "" {
		_ = os.RemoveAll(tmpRoot)
	}
}

// run runs argv in dir with extra environment entries and returns its
// trimmed combined output.
func run(timeout time.Duration, dir string, env []string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v", timeout)
	}
	return strings.TrimSpace(buf.String()), err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// dockerEnv is a test's own DOCKER_CONFIG holding only the plugin: the
// streamer it starts (and kills) serves nobody else.
type dockerEnv struct {
	t   testing.TB
	dir string
}

func newDockerEnv(t testing.TB) *dockerEnv {
	t.Helper()
	dir, err := os.MkdirTemp(tmpRoot, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "cli-plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(pluginPath, filepath.Join(dir, "cli-plugins", "docker-live")); err != nil {
		t.Fatal(err)
	}
	configsMu.Lock()
	configs = append(configs, dir)
	configsMu.Unlock()
	e := &dockerEnv{t: t, dir: dir}
	t.Cleanup(func() { _, _ = e.try("live", "stop", "--all") })
	return e
}

func (e *dockerEnv) try(args ...string) (string, error) {
	return run(2*time.Minute, "", []string{"DOCKER_CONFIG=" + e.dir}, append([]string{"docker"}, args...)...)
}

func (e *dockerEnv) must(args ...string) string {
	e.t.Helper()
	out, err := e.try(args...)
	if err != nil {
		e.t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

var urlRE = regexp.MustCompile(`http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]{64})`)

// page is what `docker live open` printed.
type openedPage struct {
	Base  string // http://127.0.0.1:PORT/
	Port  int
	Token string
}

func (p openedPage) LoginURL() string { return p.Base + "?token=" + p.Token }

// open runs `docker live open --no-browser [args]`.
func (e *dockerEnv) open(args ...string) openedPage {
	e.t.Helper()
	out := e.must(append([]string{"live", "open", "--no-browser"}, args...)...)
	m := urlRE.FindStringSubmatch(out)
	if m == nil {
		e.t.Fatalf("docker live open printed no URL with a token:\n%s", out)
	}
	port, _ := strconv.Atoi(m[1])
	return openedPage{Base: "http://127.0.0.1:" + m[1] + "/", Port: port, Token: m[2]}
}

// streamerPID reads the pid of the test's streamer from its info.json.
func (e *dockerEnv) streamerPID() int {
	e.t.Helper()
	matches, _ := filepath.Glob(filepath.Join(e.dir, "live", "*", "info.json"))
	if len(matches) != 1 {
		e.t.Fatalf("want one info.json under %s, found %v", e.dir, matches)
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		e.t.Fatal(err)
	}
	var info struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(data, &info); err != nil {
		e.t.Fatal(err)
	}
	return info.PID
}

var nameSeq atomic.Int64

// container is a helper container of this run and test.
type container struct {
	ID, Name string
}

func testLabel(t testing.TB) string {
	return labelTest + "=" + runID + "/" + t.Name()
}

// runHelper starts `helper args...` (default sleep) labelled for the run
// and test, with no network; t.Cleanup removes it.
func runHelper(t testing.TB, prefix string, args ...string) container {
	t.Helper()
	name := fmt.Sprintf("dlbr-%s-%s-%d", runID, prefix, nameSeq.Add(1))
	argv := []string{"docker", "run", "-d", "--name", name, "--network", "none", "--no-healthcheck",
		"--label", runLabel, "--label", labelPID + "=" + strconv.Itoa(os.Getpid()), "--label", labelHost + "=" + hostname,
		"--label", testLabel(t), "--label", "com.docker.compose.project=" + prefix, imageRef}
	argv = append(argv, args...)
	out, err := run(time.Minute, "", nil, argv...)
	id := strings.TrimSpace(out)
	if err != nil {
		if id != "" && len(id) == 64 {
			_, _ = run(time.Minute, "", nil, "docker", "rm", "-f", id)
		}
		t.Fatalf("docker run: %v: %s", err, out)
	}
	t.Cleanup(func() { _, _ = run(time.Minute, "", nil, "docker", "rm", "-f", "-v", id) })
	return container{ID: id, Name: name}
}

func docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := run(time.Minute, "", nil, append([]string{"docker"}, args...)...)
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, desc string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, desc, last)
		}
		time.Sleep(50 * time.Millisecond) // poll interval of a condition, not a wait for time to pass
	}
}
