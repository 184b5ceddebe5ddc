// Package e2e runs the real docker-live plugin through the real docker CLI
// against the real Docker Engine.
//
// TestMain builds the plugin into a temporary DOCKER_CONFIG and the helper
// image (see testdata/), labels everything the run creates with
// docker-live-e2e=<runID>, and removes it all at the end, on SIGINT/SIGTERM,
// and (for runs whose process has died) at the start of the next run.
// Without a Docker Engine the package is skipped, unless CI is set.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Label keys put on every container, network and volume the run creates.
const (
	// labelRun's value is runID; cleanup filters on it.
	labelRun = "docker-live-e2e"
	// labelPID and labelHost identify the creating process, so that a later
	// run can tell leftovers of a dead run from those of a live one.
	labelPID  = "docker-live-e2e.pid"
	labelHost = "docker-live-e2e.host"
	// labelTest's value is runID + "/" + t.Name(), unique per test and run.
	labelTest = "docker-live-e2e.test"
)

// Set up by TestMain before any test runs.
var (
	// repoRoot is the module root (the parent of e2e/).
	repoRoot string
	// tmpRoot holds dockerConfig (and so the plugin's state folder, which
	// keeps streamers of concurrent runs apart); removed at the end.
	tmpRoot string
	// dockerConfig is this run's DOCKER_CONFIG: the plugin and nothing else.
	dockerConfig string
	// pluginPath is the docker-live binary in dockerConfig/cli-plugins.
	pluginPath string
	// streamerPath is the streamer binary, where install.sh puts it:
	// dockerConfig/docker-live/docker-live-streamer.
	streamerPath string
	// imageRef is the helper image, tagged by a hash of its content.
	imageRef string
	// runID is unique to this test process.
	runID string
	// runLabel is labelRun=runID, ready for --label and --filter label=.
	runLabel string
	// hostname goes into labelHost.
	hostname string
)

// pluginVersion is what the test build of the plugin reports.
const pluginVersion = "e2e-test"

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if out, err := commandOutput(30*time.Second, nil, "docker", "info", "--format", "{{.ServerVersion}}"); err != nil {
		msg := fmt.Sprintf("no Docker Engine answers `docker info`: %s", oneLine(out+" "+err.Error()))
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "e2e: FAIL: CI is set and %s\n", msg)
			return 1
		}
		fmt.Printf("e2e: SKIP: %s (set CI=1 to make this a failure)\n", msg)
		return 0
	}
	if err := setUp(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: set-up failed: %v\n", err)
		cleanUp()
		return 1
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "e2e: got %v, removing this run's containers, networks and volumes\n", s)
		cleanUp()
		os.Exit(1)
	}()

	code := m.Run()
	signal.Stop(sigs)
	cleanUp()
	return code
}

func setUp() error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	repoRoot = filepath.Dir(wd)
	hostname, _ = os.Hostname()
	var id [4]byte
	_, _ = rand.Read(id[:])
	runID = hex.EncodeToString(id[:])
	runLabel = labelRun + "=" + runID

	// Short, because the plugin puts Unix sockets under DOCKER_CONFIG.
	tmpRoot, err = os.MkdirTemp("", "dle2e-")
	if err != nil {
		return err
	}
	dockerConfig = filepath.Join(tmpRoot, "config")
	pluginPath = filepath.Join(dockerConfig, "cli-plugins", "docker-live")
	streamerPath = filepath.Join(dockerConfig, "docker-live", "docker-live-streamer")
	for _, dir := range []string{filepath.Dir(pluginPath), filepath.Dir(streamerPath)} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}

	removeDeadRunsLeftovers()

	// The two builds are independent; together they dominate set-up time.
	var wg sync.WaitGroup
	var pluginErr, imageErr error
	wg.Go(func() { pluginErr = buildPlugin() })
	wg.Go(func() { imageErr = buildImage() })
	wg.Wait()
	return errors.Join(pluginErr, imageErr)
}

// buildPlugin builds the plugin and the streamer binary with the same flags
// as install.sh (CGO off, -trimpath, -s -w), so the install test finds the
// Go build cache warm, and puts them where install.sh does.
func buildPlugin() error {
	env := mergeEnv(os.Environ(), []string{"CGO_ENABLED=0"})
	for _, b := range []struct{ out, pkg string }{{pluginPath, "./cmd/docker-live"}, {streamerPath, "./cmd/docker-live-streamer"}} {
		out, err := commandOutputIn(repoRoot, 5*time.Minute, env, "go", "build", "-trimpath",
			"-ldflags", "-s -w -X main.version="+pluginVersion, "-o", b.out, b.pkg)
		if err != nil {
			return fmt.Errorf("building %s: %v\n%s", b.pkg, err, out)
		}
	}
	return nil
}

// buildImage builds the helper statically, tags the image by a hash of the
// binary and the Dockerfile, and skips docker build when that tag exists.
func buildImage() error {
	ctxDir := filepath.Join(tmpRoot, "image")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		return err
	}
	helper := filepath.Join(ctxDir, "helper")
	out, err := commandOutputIn(filepath.Join(repoRoot, "e2e", "testdata", "helper"), 5*time.Minute,
		mergeEnv(os.Environ(), []string{"CGO_ENABLED=0", "GOOS=linux"}), "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", helper, ".")
	if err != nil {
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

	if _, err := commandOutput(time.Minute, dockerEnv(nil), "docker", "image", "inspect", "--format", "{{.Id}}", imageRef); err == nil {
		return nil
	}
	// The legacy builder works on every Engine from 20.10 on and needs no
	// buildx; fall back to the CLI's default for Engines that dropped it.
	args := []string{"docker", "build", "-q", "--label", "docker-live-e2e-helper=1", "-t", imageRef, ctxDir}
	out, err = commandOutput(2*time.Minute, dockerEnv([]string{"DOCKER_BUILDKIT=0"}), args...)
	if err != nil {
		out2, err2 := commandOutput(2*time.Minute, dockerEnv(nil), args...)
		if err2 != nil {
			return fmt.Errorf("docker build of %s failed with the legacy builder (%v: %s) and with the default one (%v: %s)",
				imageRef, err, oneLine(out), err2, oneLine(out2))
		}
	}
	return nil
}

var (
	cleanUpOnce sync.Once
	// creating is read-held while a docker command creates a labelled
	// object; cleanUp write-locks it (for good) so that nothing is created
	// after, or while, it lists what to remove.
	creating sync.RWMutex
	closing  atomic.Bool
)

// beginCreate guards the creation of a labelled object: it fails the test
// once the run is being torn down. Call the returned func when the object
// exists (or creation failed).
func beginCreate(t testing.TB) (done func()) {
	t.Helper()
	creating.RLock()
	if closing.Load() {
		creating.RUnlock()
		t.Fatal("the e2e run is being torn down")
	}
	return creating.RUnlock
}

// cleanUp kills the docker commands tests started, stops this run's
// streamers and removes everything labelled with this run's label. It is
// safe to call more than once and from a signal handler while tests run.
func cleanUp() {
	cleanUpOnce.Do(func() {
		if runID == "" {
			return
		}
		closing.Store(true)
		creating.Lock()
		killAllProcs()
		if _, err := os.Stat(pluginPath); err == nil {
			// Errors are expected while the plugin has no stop command.
			_, _ = commandOutput(30*time.Second, dockerEnv(nil), "docker", "live", "stop", "--all")
		}
		removeLabelled(runLabel)
		if tmpRoot != "" {
			_ = os.RemoveAll(tmpRoot)
		}
	})
}

// removeLabelled removes containers (with their anonymous volumes), then
// networks, then volumes that carry label (key=value).
func removeLabelled(label string) {
	env := dockerEnv(nil)
	list := func(args ...string) []string {
		out, err := commandOutput(time.Minute, env, append([]string{"docker"}, args...)...)
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: cleanup: docker %s: %v: %s\n", strings.Join(args, " "), err, oneLine(out))
			return nil
		}
		return strings.Fields(out)
	}
	rm := func(ids []string, args ...string) {
		if len(ids) == 0 {
			return
		}
		full := append(append([]string{"docker"}, args...), ids...)
		if out, err := commandOutput(2*time.Minute, env, full...); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: cleanup: %s: %v: %s\n", strings.Join(full[:len(args)+1], " "), err, oneLine(out))
		}
	}
	rm(list("ps", "-aq", "--no-trunc", "--filter", "label="+label), "rm", "-f", "-v")
	rm(list("network", "ls", "-q", "--no-trunc", "--filter", "label="+label), "network", "rm")
	rm(list("volume", "ls", "-q", "--filter", "label="+label), "volume", "rm", "-f")
}

// removeDeadRunsLeftovers removes what earlier runs on this host left behind
// (after a crash, a timeout panic or SIGKILL). A run counts as dead when its
// process is gone; runs of other hosts and live runs are never touched.
func removeDeadRunsLeftovers() {
	env := dockerEnv(nil)
	format := fmt.Sprintf(`{{.Label %q}} {{.Label %q}} {{.Label %q}}`, labelRun, labelPID, labelHost)
	dead := map[string]bool{}
	for _, kind := range [][]string{{"ps", "-a"}, {"network", "ls"}, {"volume", "ls"}} {
		args := append([]string{"docker"}, kind...)
		args = append(args, "--filter", "label="+labelRun, "--format", format)
		out, err := commandOutput(time.Minute, env, args...)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) != 3 || f[2] != hostname || f[0] == runID {
				continue
			}
			pid, err := strconv.Atoi(f[1])
			if err != nil || pid <= 0 {
				continue
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil && pid != os.Getpid() {
				continue
			}
			dead[f[0]] = true
		}
	}
	for id := range dead {
		fmt.Fprintf(os.Stderr, "e2e: removing leftovers of dead run %s\n", id)
		removeLabelled(labelRun + "=" + id)
	}
}

// runLabels returns the --label flags every object of this run carries.
func runLabels() []string {
	return []string{
		"--label", runLabel,
		"--label", labelPID + "=" + strconv.Itoa(os.Getpid()),
		"--label", labelHost + "=" + hostname,
	}
}

// dockerEnv is the environment of every docker command the tests run:
// this run's DOCKER_CONFIG, then extra (KEY=VALUE) entries, which win over
// anything inherited.
func dockerEnv(extra []string) []string {
	set := append([]string{"DOCKER_CONFIG=" + dockerConfig}, extra...)
	return mergeEnv(os.Environ(), set)
}

// mergeEnv returns base with every KEY=VALUE of set replacing base's KEY.
func mergeEnv(base, set []string) []string {
	keys := map[string]bool{}
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		keys[k] = true
	}
	var env []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !keys[k] {
			env = append(env, kv)
		}
	}
	return append(env, set...)
}

// commandOutput runs argv with env (nil = inherited) and returns its
// trimmed combined output; for use where no *testing.T exists.
func commandOutput(timeout time.Duration, env []string, argv ...string) (string, error) {
	return commandOutputIn("", timeout, env, argv...)
}

func commandOutputIn(dir string, timeout time.Duration, env []string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v", timeout)
	}
	return strings.TrimSpace(buf.String()), err
}

// oneLine squeezes command output into one line for error messages.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
