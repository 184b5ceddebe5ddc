package e2e

// Helpers shared by every e2e test. All docker commands go through the real
// docker CLI with this run's DOCKER_CONFIG (see dockerEnv), and everything a
// test creates is removed in t.Cleanup, also when the test fails.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// commandTimeout bounds every short docker command, so a hung Engine fails
// the test instead of the whole run's -timeout.
const commandTimeout = 2 * time.Minute

// dockerCmd runs `docker args...` and returns its stdout with surrounding
// white space trimmed. A non-zero exit fails the test with stderr.
func dockerCmd(t testing.TB, args ...string) string {
	t.Helper()
	stdout, stderr, code := dockerTry(t, args...)
	if code != 0 {
		t.Fatalf("docker %s: exit code %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr))
	}
	return strings.TrimSpace(stdout)
}

// dockerTry runs `docker args...` and returns its raw stdout, stderr and
// exit code without judging them. The exit code is -1 when docker could not
// be started or timed out (stderr then says why).
func dockerTry(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return dockerTryEnv(t, nil, args...)
}

// dockerTryEnv is dockerTry with extra KEY=VALUE environment entries that
// override this run's defaults (e.g. another DOCKER_CONFIG).
func dockerTryEnv(t testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = dockerEnv(env)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return out.String(), fmt.Sprintf("timed out after %v; stderr: %s", commandTimeout, errb.String()), -1
	case errors.As(err, &exitErr):
		return out.String(), errb.String(), exitErr.ExitCode()
	case err != nil:
		return out.String(), err.Error(), -1
	}
	return out.String(), errb.String(), 0
}

// Proc is a long-running docker command started by startDocker.
type Proc struct {
	// Lines delivers stdout line by line; it is closed at EOF.
	Lines <-chan string

	cmd        *exec.Cmd
	args       []string
	stdout     *os.File // read end of the stdout pipe
	stderr     lockedBuffer
	stopped    chan struct{} // closed when the test no longer wants lines
	readerDone chan struct{}
	done       chan struct{} // closed once the process has been reaped
	waitErr    error
	stop       sync.Once
}

// startDocker starts `docker args...` (e.g. `live watch --format json`) in
// its own process group and streams its stdout into p.Lines. On t.Cleanup
// the whole group (docker and the plugin it runs) is killed; a streamer the
// plugin detaches with setsid survives that and is stopped by TestMain.
func startDocker(t testing.TB, args ...string) *Proc {
	t.Helper()
	return startDockerEnv(t, nil, args...)
}

// startDockerEnv is startDocker with extra KEY=VALUE environment entries.
func startDockerEnv(t testing.TB, env []string, args ...string) *Proc {
	t.Helper()
	lines := make(chan string, 4096)
	p := &Proc{
		Lines:      lines,
		args:       args,
		stopped:    make(chan struct{}),
		readerDone: make(chan struct{}),
		done:       make(chan struct{}),
	}
	p.launch(t, "docker", args, dockerEnv(env), func(pr io.Reader) {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-p.stopped:
				// Nobody reads any more: drain so the process never blocks.
			}
		}
		close(lines)
	})
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			if s := strings.TrimSpace(p.Stderr()); s != "" {
				t.Logf("stderr of docker %s:\n%s", strings.Join(args, " "), s)
			}
		}
	})
	return p
}

// launch starts name with args and env in its own process group, and runs
// read on its stdout in a goroutine (p.readerDone closes when read returns).
// A goroutine reaps the process. The process is registered with procs, so
// that a signal can kill it, in the same step as it starts.
func (p *Proc) launch(t testing.TB, name string, args, env []string, read func(stdout io.Reader)) {
	t.Helper()
	// An os.Pipe rather than StdoutPipe: reaping the process must not
	// depend on stdout reaching EOF, which a detached grandchild that kept
	// the pipe open would delay for ever.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	p.stdout = pr
	p.cmd = exec.Command(name, args...)
	p.cmd.Env = env
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Stdout = pw
	p.cmd.Stderr = &p.stderr
	// The plugin may start a streamer, which only cleanUp can stop.
	done := beginCreate(t)
	err = p.cmd.Start()
	if err == nil {
		procs.add(p)
	}
	done()
	pw.Close()
	if err != nil {
		pr.Close()
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	go func() {
		defer close(p.readerDone)
		read(pr)
	}()
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
		procs.remove(p)
	}()
}

// procSet tracks the running Procs, so that a signal can kill them all.
type procSet struct {
	mu sync.Mutex
	m  map[*Proc]bool
}

var procs procSet

func (s *procSet) add(p *Proc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[*Proc]bool{}
	}
	s.m[p] = true
}

func (s *procSet) remove(p *Proc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, p)
}

// killAllProcs kills every Proc still running (on interrupt of the run).
func killAllProcs() {
	procs.mu.Lock()
	all := make([]*Proc, 0, len(procs.m))
	for p := range procs.m {
		all = append(all, p)
	}
	procs.mu.Unlock()
	for _, p := range all {
		p.Kill()
	}
}

// Stderr returns what the command has written to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Signal sends sig to the command's whole process group, as a terminal's
// Ctrl-C would.
func (p *Proc) Signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Kill kills the process group, discards unread output and waits until the
// process is reaped. Safe to call more than once.
func (p *Proc) Kill() {
	p.stop.Do(func() {
		// Also when docker itself has exited: the plugin may linger.
		p.Signal(syscall.SIGKILL)
		close(p.stopped)
		<-p.done
		select {
		case <-p.readerDone:
		case <-time.After(2 * time.Second):
			// Some process outside the group still holds stdout open.
		}
		p.stdout.Close()
	})
	<-p.done
}

// Wait waits up to timeout for the command to exit by itself and returns its
// exit code, or fails the test. Stdout lines still unread stay in Lines.
func (p *Proc) Wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("docker %s did not exit within %v; stderr: %s", strings.Join(p.args, " "), timeout, p.Stderr())
	}
	var exitErr *exec.ExitError
	if errors.As(p.waitErr, &exitErr) {
		return exitErr.ExitCode()
	}
	if p.waitErr != nil {
		t.Fatalf("docker %s: %v", strings.Join(p.args, " "), p.waitErr)
	}
	return 0
}

// Exited reports whether the command has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// nextLine returns the next stdout line of p, failing the test when none
// arrives within timeout or stdout ends.
func nextLine(t testing.TB, p *Proc, timeout time.Duration) string {
	t.Helper()
	select {
	case line, ok := <-p.Lines:
		if !ok {
			t.Fatalf("docker %s: stdout ended; stderr: %s", strings.Join(p.args, " "), p.Stderr())
		}
		return line
	case <-time.After(timeout):
		t.Fatalf("docker %s: no output line within %v; stderr: %s", strings.Join(p.args, " "), timeout, p.Stderr())
	}
	return ""
}

// waitLine reads p's stdout until a line satisfies match and returns it,
// failing the test after timeout with desc. Lines that do not match are
// dropped.
func waitLine(t testing.TB, p *Proc, timeout time.Duration, desc string, match func(line string) bool) string {
	t.Helper()
	deadline := time.After(timeout)
	var last string
	for {
		select {
		case line, ok := <-p.Lines:
			if !ok {
				t.Fatalf("waiting for %s: docker %s: stdout ended (last line %q); stderr: %s",
					desc, strings.Join(p.args, " "), last, p.Stderr())
			}
			if match(line) {
				return line
			}
			last = line
		case <-deadline:
			t.Fatalf("waiting for %s: none within %v (last line %q); stderr: %s", desc, timeout, last, p.Stderr())
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond every 100 ms until it returns true, failing the test
// with desc after timeout.
func waitFor(t testing.TB, timeout time.Duration, desc string, cond func() bool) {
	t.Helper()
	eventually(t, timeout, func() error {
		if cond() {
			return nil
		}
		return errors.New(desc)
	})
}

// eventually polls check every 100 ms until it returns nil, failing the test
// with check's last error after timeout; prefer it to waitFor when the
// failure message should show the last observed value.
func eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var nameSeq atomic.Int64

// uniqueName returns a container/network/volume name unique to this run,
// e.g. dle2e-1a2b3c4d-net-7.
func uniqueName(prefix string) string {
	return fmt.Sprintf("dle2e-%s-%s-%d", runID, prefix, nameSeq.Add(1))
}

// testLabel is the per-test label (key=value) runHelper, createNetwork and
// createVolume add; filter on it to see only one test's objects.
func testLabel(t testing.TB) string {
	return labelTest + "=" + runID + "/" + t.Name()
}

// labelArgs returns the --label flags for an object created by test t.
func labelArgs(t testing.TB) []string {
	return append(runLabels(), "--label", testLabel(t))
}

// HelperOpts describes a helper container for runHelper. The zero value
// runs `helper sleep` with no network and no health check.
type HelperOpts struct {
	// Name is the container name; empty means uniqueName("c").
	Name string
	// Network is the network to join; empty means "none".
	Network string
	// Args are the helper's arguments (see testdata/helper); empty means the
	// image's CMD, sleep.
	Args []string
	// Memory is a --memory limit such as "64m"; empty means none.
	Memory string
	// Health keeps the image's 1 s HEALTHCHECK. Off by default because each
	// check is an exec (events, CPU) that most tests do not want.
	Health bool
	// Labels are extra labels.
	Labels map[string]string
	// Volumes are -v specs, e.g. createVolume(t)+":/data".
	Volumes []string
	// RunArgs are extra `docker run` flags, placed before the image.
	RunArgs []string
	// Create only creates the container (docker create) without starting it.
	Create bool
}

// Container identifies a container made by runHelper.
type Container struct {
	ID   string // full ID
	Name string // name without the leading slash
}

// runHelper starts (or, with opts.Create, creates) a detached container from
// the helper image, labelled with the run and test labels. t.Cleanup removes
// it with its anonymous volumes, and logs its output if the test failed.
func runHelper(t testing.TB, opts HelperOpts) Container {
	t.Helper()
	name := opts.Name
	if name == "" {
		name = uniqueName("c")
	}
	network := opts.Network
	if network == "" {
		network = "none"
	}
	args := []string{"run", "-d"}
	if opts.Create {
		args = []string{"create"}
	}
	args = append(args, "--name", name, "--network", network)
	args = append(args, labelArgs(t)...)
	for k, v := range opts.Labels {
		args = append(args, "--label", k+"="+v)
	}
	if opts.Memory != "" {
		args = append(args, "--memory", opts.Memory)
	}
	if !opts.Health {
		args = append(args, "--no-healthcheck")
	}
	for _, v := range opts.Volumes {
		args = append(args, "-v", v)
	}
	args = append(args, opts.RunArgs...)
	args = append(args, imageRef)
	args = append(args, opts.Args...)

	done := beginCreate(t)
	stdout, stderr, code := dockerTry(t, args...)
	done()
	id := strings.TrimSpace(stdout)
	if id != "" {
		// Registered before checking the exit code: docker run can create the
		// container and then fail to start it.
		t.Cleanup(func() { removeContainer(t, id) })
	}
	if code != 0 {
		t.Fatalf("docker %s: exit code %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr))
	}
	return Container{ID: id, Name: name}
}

func removeContainer(t testing.TB, id string) {
	if t.Failed() {
		if out, errOut, code := dockerTry(t, "logs", "--tail", "20", id); code == 0 {
			if s := strings.TrimSpace(out + errOut); s != "" {
				t.Logf("last output of container %.12s:\n%s", id, s)
			}
		}
	}
	if _, stderr, code := dockerTry(t, "rm", "-f", "-v", id); code != 0 && !strings.Contains(stderr, "No such container") {
		t.Errorf("removing container %.12s: %s", id, strings.TrimSpace(stderr))
	}
}

// createNetwork creates an --internal network (no route out) labelled for
// this run and test, removed on t.Cleanup after the containers on it.
func createNetwork(t testing.TB) string {
	t.Helper()
	name := uniqueName("net")
	done := beginCreate(t)
	defer done()
	dockerCmd(t, append(append([]string{"network", "create", "--internal"}, labelArgs(t)...), name)...)
	t.Cleanup(func() {
		if _, stderr, code := dockerTry(t, "network", "rm", name); code != 0 {
			t.Errorf("removing network %s: %s", name, strings.TrimSpace(stderr))
		}
	})
	return name
}

// createVolume creates a local volume labelled for this run and test,
// removed on t.Cleanup after the containers using it.
func createVolume(t testing.TB) string {
	t.Helper()
	name := uniqueName("vol")
	done := beginCreate(t)
	defer done()
	dockerCmd(t, append(append([]string{"volume", "create"}, labelArgs(t)...), name)...)
	t.Cleanup(func() {
		if _, stderr, code := dockerTry(t, "volume", "rm", "-f", name); code != 0 {
			t.Errorf("removing volume %s: %s", name, strings.TrimSpace(stderr))
		}
	})
	return name
}

// ContainerState is the part of `docker inspect`'s .State tests look at.
type ContainerState struct {
	Status     string // created, running, paused, restarting, exited, dead
	Running    bool
	Paused     bool
	OOMKilled  bool
	Pid        int
	ExitCode   int
	StartedAt  time.Time
	FinishedAt time.Time
	Health     *struct {
		Status        string // starting, healthy, unhealthy
		FailingStreak int
	}
}

// HealthStatus returns the health status, or "" without a health check.
func (s ContainerState) HealthStatus() string {
	if s.Health == nil {
		return ""
	}
	return s.Health.Status
}

// inspectState returns the container's state from `docker inspect`.
func inspectState(t testing.TB, id string) ContainerState {
	t.Helper()
	var s ContainerState
	out := dockerCmd(t, "inspect", "--type", "container", "--format", "{{json .State}}", id)
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("decoding state of %.12s: %v: %s", id, err, out)
	}
	return s
}

// waitState waits until the container's state satisfies cond and returns
// that state; desc names the awaited condition in the failure message.
func waitState(t testing.TB, id string, timeout time.Duration, desc string, cond func(ContainerState) bool) ContainerState {
	t.Helper()
	var s ContainerState
	eventually(t, timeout, func() error {
		s = inspectState(t, id)
		if cond(s) {
			return nil
		}
		return fmt.Errorf("container %.12s: want %s, have status=%s exit=%d health=%q",
			id, desc, s.Status, s.ExitCode, s.HealthStatus())
	})
	return s
}

// StatsSample is one `docker stats --no-stream` row, in numbers. Sizes are
// bytes as docker stats prints them (so rounded to its three digits).
type StatsSample struct {
	CPUPerc    float64
	MemPerc    float64
	MemUsage   float64
	MemLimit   float64
	NetRx      float64
	NetTx      float64
	BlockRead  float64
	BlockWrite float64
	PIDs       int
	Raw        map[string]string // the row as docker printed it
}

// dockerStats runs `docker stats --no-stream` for one container (about 2 s,
// as the CLI waits for a second sample) and parses the row. Fields docker
// prints as "--" (container not running) come back as 0.
func dockerStats(t testing.TB, id string) StatsSample {
	t.Helper()
	out := dockerCmd(t, "stats", "--no-stream", "--no-trunc", "--format", "{{json .}}", id)
	raw := map[string]string{}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("decoding docker stats output: %v: %s", err, out)
	}
	s := StatsSample{Raw: raw}
	s.CPUPerc, _ = parsePercent(raw["CPUPerc"])
	s.MemPerc, _ = parsePercent(raw["MemPerc"])
	s.MemUsage, s.MemLimit, _ = parseSizePair(raw["MemUsage"])
	s.NetRx, s.NetTx, _ = parseSizePair(raw["NetIO"])
	s.BlockRead, s.BlockWrite, _ = parseSizePair(raw["BlockIO"])
	s.PIDs, _ = strconv.Atoi(raw["PIDs"])
	return s
}

func parsePercent(s string) (float64, error) {
	return strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
}

// parseSizePair parses docker stats' "used / limit" or "rx / tx" columns.
func parseSizePair(s string) (a, b float64, err error) {
	left, right, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("not a size pair: %q", s)
	}
	if a, err = parseSize(left); err != nil {
		return 0, 0, err
	}
	if b, err = parseSize(right); err != nil {
		return 0, 0, err
	}
	return a, b, nil
}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$`)

// sizeUnits covers both of docker's styles: binary (MiB) for memory and
// decimal (MB) for network and block I/O.
var sizeUnits = map[string]float64{
	"": 1, "B": 1,
	"kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50,
}

// parseSize parses a size as docker prints it, e.g. "64.5MiB" or "1.2kB".
func parseSize(s string) (float64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("not a size: %q", s)
	}
	unit, ok := sizeUnits[m[2]]
	if !ok {
		return 0, fmt.Errorf("unknown unit in %q", s)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v * unit, err
}
