package e2e

// A private Docker Engine per test, for what must not be done to the shared
// one: stopping and killing dockerd (TestFaultEngineRestart), and container
// churn whose connection counts must not mix with other tests' containers
// (TestChurn500). It is the same dockerd binary with its own data root,
// exec root, socket, pid file, managed containerd and cgroup parent, and no
// networking of its own (--bridge=none, no iptables), so it cannot fight
// the main daemon. Everything it leaves (processes, mounts, cgroups, files)
// is removed on cleanup, and at the next start when a run died.

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
)

// fltDaemonPrefix names the private daemons' folders in os.TempDir().
const fltDaemonPrefix = "dlpd-"

// fltDaemon is a private dockerd.
type fltDaemon struct {
	dir    string // everything of the daemon lives here
	host   string // unix://dir/d.sock
	cgroup string // cgroup parent of its containers
	env    []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// fltNewDaemon starts a private dockerd, loads the helper image into it and
// removes it all on cleanup. env is the docker commands' extra environment.
func fltNewDaemon(t *testing.T, env []string) *fltDaemon {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a private dockerd needs root")
	}
	if _, err := exec.LookPath("dockerd"); err != nil {
		t.Skip("no dockerd binary to run a private Engine")
	}
	fltRemoveDeadDaemons(t)
	dir, err := os.MkdirTemp("", fltDaemonPrefix)
	if err != nil {
		t.Fatal(err)
	}
	d := &fltDaemon{
		dir:    dir,
		host:   "unix://" + filepath.Join(dir, "d.sock"),
		cgroup: "dle2e-" + runID + "-" + filepath.Base(dir),
		env:    env,
	}
	owner := fmt.Sprintf("%d %s %s\n", os.Getpid(), hostname, d.cgroup)
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(owner), 0o600); err != nil {
		t.Fatal(err)
	}
	// A config file of its own: the main daemon's daemon.json (hosts,
	// data-root, ...) must not apply to it.
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.destroy(t) })
	d.start(t)
	d.loadImage(t)
	return d
}

// global is the -H flag that points a docker command at this daemon.
func (d *fltDaemon) global() []string { return []string{"-H", d.host} }

// docker runs a docker command against this daemon and fails on error.
func (d *fltDaemon) docker(t testing.TB, args ...string) string {
	t.Helper()
	full := append(d.global(), args...)
	stdout, stderr, code := dockerTryEnv(t, d.env, full...)
	if code != 0 {
		t.Fatalf("docker %s: exit %d: %s", strings.Join(full, " "), code, strings.TrimSpace(stderr))
	}
	return strings.TrimSpace(stdout)
}

func (d *fltDaemon) start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(d.dir, "dockerd.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("dockerd",
		"--config-file", filepath.Join(d.dir, "daemon.json"),
		"--data-root", filepath.Join(d.dir, "data"),
		"--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "dockerd.pid"),
		"-H", d.host,
		"--bridge=none", "--iptables=false", "--ip-masq=false", "--ip6tables=false",
		"--cgroup-parent", "/"+d.cgroup,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group for cleanup. No parent-death signal: Go fires
	// it when the forking OS thread ends, which the runtime may do at any
	// time; a run that dies leaves the daemon to fltRemoveDeadDaemons.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dockerd: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	d.mu.Lock()
	d.cmd, d.exited = cmd, exited
	d.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("the private dockerd exited while starting; its log ends:\n%s", d.logTail(15))
		default:
		}
		if _, _, code := dockerTryEnv(t, d.env, "-H", d.host, "version", "--format", "{{.Server.Version}}"); code == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the private dockerd did not answer within 60 s; its log ends:\n%s", d.logTail(15))
		}
		time.Sleep(200 * time.Millisecond) // poll interval while dockerd starts
	}
}

// logTail returns the last n lines of dockerd's log, without its gRPC
// connection chatter, which drowns everything else while containerd is away.
func (d *fltDaemon) logTail(n int) string {
	data, _ := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
	var kept []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.Contains(line, "module=grpc") {
			kept = append(kept, line)
		}
	}
	return fltTail(strings.Join(kept, "\n"), n)
}

// running returns the daemon's process while it runs.
func (d *fltDaemon) running() (*exec.Cmd, chan struct{}, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return nil, nil, false
	}
	select {
	case <-d.exited:
		return d.cmd, d.exited, false
	default:
		return d.cmd, d.exited, true
	}
}

// stop sends sig to dockerd and waits until it has exited.
func (d *fltDaemon) stop(t testing.TB, sig syscall.Signal, timeout time.Duration) {
	t.Helper()
	cmd, exited, ok := d.running()
	if !ok {
		t.Fatal("the private dockerd is not running")
	}
	// dockerd 20.10 reuses a containerd it finds alive by its pid file, and
	// the one it manages dies with dockerd (parent-death signal): starting
	// again before it is reaped waits for a dead containerd and fails. So
	// wait for that containerd too.
	containerd := 0
	if data, err := os.ReadFile(filepath.Join(d.dir, "exec", "containerd", "containerd.pid")); err == nil {
		containerd, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(timeout):
		t.Fatalf("the private dockerd did not exit within %v of %v; its log ends:\n%s", timeout, sig, d.logTail(15))
	}
	if containerd > 0 {
		// Gone from /proc, not only dead: dockerd's liveness probe (signal 0)
		// also succeeds on a zombie that init has not reaped yet.
		waitFor(t, 30*time.Second, "the private dockerd's containerd to be reaped", func() bool {
			_, err := os.Stat(fmt.Sprintf("/proc/%d", containerd))
			return err != nil
		})
	}
}

func (d *fltDaemon) loadImage(t testing.TB) {
	t.Helper()
	copyHelperImage(t, "the private dockerd", dockerEnv(d.env), "-H", d.host)
}

// copyHelperImage copies the helper image from the main Engine into another
// one (what, for messages), with no registry: docker save from the main
// Engine piped into docker load, run with env and hostArgs (such as -H).
func copyHelperImage(t testing.TB, what string, env []string, hostArgs ...string) {
	t.Helper()
	save := exec.Command("docker", "save", imageRef)
	save.Env = dockerEnv(nil)
	load := exec.Command("docker", append(hostArgs, "load", "-q")...)
	load.Env = env
	pipe, err := save.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	load.Stdin = pipe
	var saveErr, loadOut strings.Builder
	save.Stderr = &saveErr
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := save.Start(); err != nil {
		t.Fatal(err)
	}
	lerr := load.Run()
	serr := save.Wait()
	if lerr != nil || serr != nil {
		t.Fatalf("loading %s into %s: save: %v %s; load: %v %s", imageRef, what, serr, saveErr.String(), lerr, loadOut.String())
	}
}

// destroy removes the daemon and all it made, whatever state it is in.
func (d *fltDaemon) destroy(t testing.TB) {
	if cmd, exited, ok := d.running(); ok {
		// Removing the containers first lets dockerd shut down quickly
		// and unmount what it mounted.
		if ids, _, code := dockerTryEnv(t, d.env, "-H", d.host, "ps", "-aq"); code == 0 && strings.TrimSpace(ids) != "" {
			args := append([]string{"-H", d.host, "rm", "-f", "-v"}, strings.Fields(ids)...)
			_, _, _ = dockerTryEnv(t, d.env, args...)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	if t.Failed() {
		t.Logf("private dockerd log ends:\n%s", d.logTail(30))
	}
	if err := fltReapDaemonDir(d.dir, d.cgroup); err != nil {
		t.Errorf("cleaning up the private dockerd: %v", err)
	}
}

// fltRemoveDeadDaemons removes what private daemons of runs that died
// left behind (processes, mounts, cgroups, folders); daemons of live runs
// and of other hosts are left alone.
func fltRemoveDeadDaemons(t testing.TB) {
	for dir, owner := range deadRunDirs(fltDaemonPrefix, 3) {
		t.Logf("removing the private dockerd of a dead run: %s", dir)
		if err := fltReapDaemonDir(dir, owner[2]); err != nil {
			t.Logf("cleaning up %s: %v", dir, err)
		}
	}
}

// deadRunDirs finds the folders named prefix* in os.TempDir() whose
// "owner" file ("pid host ...", fields words in all) names a process of
// this host that has died, with that file's words.
func deadRunDirs(prefix string, fields int) map[string][]string {
	dead := map[string][]string{}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(data))
		if len(f) != fields || f[1] != hostname {
			continue
		}
		if pid, err := strconv.Atoi(f[0]); err != nil || fltAlive(pid) {
			continue
		}
		dead[dir] = f
	}
	return dead
}

// fltReapDaemonDir kills every process of a private daemon (dockerd,
// containerd and shims by their command lines, which name dir; container
// processes by its cgroup), unmounts everything under dir, removes dir and
// the cgroups.
func fltReapDaemonDir(dir, cgroup string) error {
	return fltReapDir(dir, fltCgroupDirs(cgroup))
}

// fltReapDir kills the processes whose command lines name dir and those in
// cgroups, unmounts everything under dir, and removes dir and the cgroups.
// It serves both private daemons: dockerd (fltReapDaemonDir) and Podman
// (pmReapDir).
func fltReapDir(dir string, cgroups []string) error {
	var errs []error
	for attempt := 0; attempt < 50; attempt++ {
		pids := fltPIDsNaming(dir)
		for _, cg := range cgroups {
			pids = append(pids, fltCgroupPIDs(cg)...)
		}
		if len(pids) == 0 {
			break
		}
		for _, cg := range cgroups {
			fltThaw(cg)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond) // let the kernel reap them
	}
	mounts, err := fltMountsUnder(dir)
	if err != nil {
		errs = append(errs, err)
	}
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %v", m, err))
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	}
	// Deepest first: a cgroup can only be removed once its children are.
	sort.Slice(cgroups, func(i, j int) bool { return len(cgroups[i]) > len(cgroups[j]) })
	for _, cg := range cgroups {
		if err := os.Remove(cg); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// fltPIDsNaming returns the processes whose command line contains s.
func fltPIDsNaming(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), s) && fltAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// fltCgroupDirs returns every cgroup folder, in every hierarchy, at or
// below the cgroup parent name.
func fltCgroupDirs(name string) []string {
	if name == "" {
		return nil
	}
	var roots []string
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		roots = []string{"/sys/fs/cgroup"}
	} else {
		entries, _ := os.ReadDir("/sys/fs/cgroup")
		for _, e := range entries {
			if e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
				roots = append(roots, filepath.Join("/sys/fs/cgroup", e.Name()))
			}
		}
	}
	var out []string
	for _, r := range roots {
		_ = filepath.WalkDir(filepath.Join(r, name), func(path string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				out = append(out, path)
			}
			return nil
		})
	}
	return out
}

func fltCgroupPIDs(dir string) []int {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// fltThaw unfreezes a paused container's cgroup, so that SIGKILL reaches it.
func fltThaw(dir string) {
	_ = os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0)
	_ = os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0"), 0)
}

// fltMountsUnder lists the mount points at or below dir, deepest first.
func fltMountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := fltUnescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, sc.Err()
}

// fltUnescapeMount undoes mountinfo's octal escapes (\040 for a space).
func fltUnescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestFaultEngineRestart stops the Engine (SIGTERM) and starts it again,
// then kills it (SIGKILL) and starts it again, under a streamer with a
// WebSocket client and a `watch`. The streamer must stay up, the clients
// must see the Engine go unavailable and come back, the state must match
// docker ps after each recovery, and changes after it must be delivered.
func TestFaultEngineRestart(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	d := fltNewDaemon(t, env)
	label := "dle2e-priv=" + runID
	run := func(cmd ...string) string {
		args := append(append([]string{}, cmd...), "--network", "none", "--no-healthcheck", "--label", label, "--label", runLabel, imageRef)
		return d.docker(t, args...)
	}
	running := run("run", "-d")
	paused := run("run", "-d")
	d.docker(t, "pause", paused)
	run("create")
	exited := run("run", "-d")
	d.docker(t, "stop", "-t", "0", exited)

	s := fltServe(t, env, d.global())
	filter := stream.ContainerFilter{Labels: []string{label}}
	client := fltOpen(t, "restart", s.Socket, stream.Subscription{Filter: filter}, nil)
	// Table output on a pipe prints a plain frame on every change, with the
	// status line that names the Engine's state.
	watch := startDockerEnv(t, env, append(d.global(), "live", "watch", "-a")...)
	waitLine(t, watch, 20*time.Second, "watch's first live frame", func(l string) bool { return strings.HasPrefix(l, "● live") })

	matchesPS := func(when string) {
		t.Helper()
		eventually(t, 30*time.Second, func() error {
			want := fltPSStates(t, env, d.global(), "label="+label)
			if len(want) != 4 {
				return fmt.Errorf("%s: docker ps lists %d labelled containers, want 4", when, len(want))
			}
			if diff := fltDiffStates(client.states(), want); diff != "" {
				return fmt.Errorf("%s: the connected client differs from docker ps: %s", when, diff)
			}
			snap, engine, err := fltFreshSnapshot(s.Socket, filter)
			if err != nil {
				return fmt.Errorf("%s: a fresh subscribe: %v", when, err)
			}
			if engine != stream.EngineConnected {
				return fmt.Errorf("%s: a fresh snapshot says the Engine is %q", when, engine)
			}
			if diff := fltDiffStates(snap, want); diff != "" {
				return fmt.Errorf("%s: a fresh snapshot differs from docker ps: %s", when, diff)
			}
			return nil
		})
	}
	matchesPS("before any restart")
	epoch := client.epochNow()

	for _, step := range []struct {
		name string
		sig  syscall.Signal
	}{{"SIGTERM", syscall.SIGTERM}, {"SIGKILL", syscall.SIGKILL}} {
		seen := len(client.engineStates())
		d.stop(t, step.sig, 60*time.Second)
		eventually(t, 20*time.Second, func() error {
			if st := client.engineStates()[seen:]; !slices.Contains(st, stream.EngineUnavailable) {
				return fmt.Errorf("after %s of dockerd the client saw Engine states %v, want %q", step.name, st, stream.EngineUnavailable)
			}
			return nil
		})
		waitLine(t, watch, 20*time.Second, "watch's engine-unavailable frame after "+step.name,
			func(l string) bool { return strings.HasPrefix(l, "● engine-unavailable") })
		if !fltAlive(s.PID) {
			t.Fatalf("the streamer (pid %d) died with the Engine (%s)", s.PID, step.name)
		}
		restartedAt := time.Now()
		d.start(t)
		eventually(t, 30*time.Second, func() error {
			st := client.engineStates()[seen:]
			if len(st) == 0 || st[len(st)-1] != stream.EngineConnected {
				return fmt.Errorf("after dockerd restarted (%s) the client saw Engine states %v, want %q last", step.name, st, stream.EngineConnected)
			}
			return nil
		})
		waitLine(t, watch, 30*time.Second, "watch's live frame after the restart ("+step.name+")",
			func(l string) bool { return strings.HasPrefix(l, "● live") })
		if err := client.ended(); err != nil {
			t.Fatalf("the client's connection ended with the Engine (%s): %v", step.name, err)
		}
		if client.epochNow() != epoch || !fltAlive(s.PID) {
			t.Fatalf("the streamer restarted with the Engine (%s): epoch %s -> %s, pid %d alive %v", step.name, epoch, client.epochNow(), s.PID, fltAlive(s.PID))
		}
		matchesPS("after " + step.name + " and restart")

		// Changes after the restart must reach the client as container
		// messages and events.
		if fltPSStates(t, env, d.global(), "id="+running)[running] != "running" {
			d.docker(t, "start", running)
		}
		d.docker(t, "pause", running)
		d.docker(t, "unpause", running)
		eventually(t, 20*time.Second, func() error {
			var got []string
			for _, ev := range client.eventsCopy() {
				if ev.Actor.ID == running && ev.TimeNano >= restartedAt.UnixNano() {
					got = append(got, string(ev.Action))
				}
			}
			if !slices.Contains(got, "pause") || !slices.Contains(got, "unpause") {
				return fmt.Errorf("after the restart (%s) the client got events %v for the container, want pause and unpause", step.name, got)
			}
			return nil
		})
		matchesPS("after changes following " + step.name)
	}
	if p := client.problemsCopy(); len(p) > 0 {
		t.Errorf("the client's stream broke its contract: %v", p)
	}
}
