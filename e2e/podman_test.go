package e2e

// Podman, the other Engine people run: a smoke test of docker live against
// `podman system service`, which serves a Docker-compatible API (Debian's
// podman 4.3.1 reports API 1.41). The test starts its own service on a
// private socket with its own storage, configuration, locks and events log
// in a temporary folder, so it never touches the shared Docker Engine, the
// host's own Podman storage or another run. The real docker CLI and the
// plugin reach it through DOCKER_HOST. Everything it leaves (containers,
// processes, mounts, cgroups, files) is removed on cleanup, also when the
// test fails, and at the next start when a run died.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pmDirPrefix names the private Podman services' folders in os.TempDir().
const pmDirPrefix = "dlpm-"

// pmService is a private `podman system service`.
type pmService struct {
	dir    string   // everything of the service lives here
	socket string   // dir/podman.sock
	env    []string // the docker commands' extra environment: DOCKER_HOST, DOCKER_CONFIG
	podEnv []string // the podman commands' environment

	cmd    *exec.Cmd
	exited chan struct{}
}

// pmContainersConf is the service's containers.conf. Only the test's own
// needs are here, never in the product:
//   - ulimits: Podman's default nofile and nproc limits exceed this
//     sandbox's hard limits, and runc then refuses to start any container;
//   - cgroupfs: there is no systemd to ask for cgroups;
//   - the file events logger: there is no journald, and `docker events`
//     against Podman reads this log;
//   - file locks in tmp_dir: the default shared-memory segment
//     (/dev/shm/libpod_lock) would be shared with every other Podman of
//     the host, whose lock numbers clash with ours.
//
// static_dir (the state database) is left out on purpose: it defaults to
// graphroot/libpod, and the `podman container cleanup` that conmon runs when
// a container exits gets --root but not static_dir, so setting it elsewhere
// makes every cleanup miss the container.
const pmContainersConf = `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
tmp_dir = "%[1]s/tmp"
volume_path = "%[1]s/volumes"

[network]
network_config_dir = "%[1]s/net"
`

// pmStorageConf keeps images and containers in the test's folder. vfs needs
// no kernel overlay support and mounts nothing for a container's root file
// system; the helper image is a few MiB, so its copies cost nothing.
const pmStorageConf = `[storage]
driver = "vfs"
graphroot = "%[1]s/root"
runroot = "%[1]s/run"
`

// pmNewService starts a private Podman service, loads the helper image into
// it and removes it all on cleanup. Without podman the test is skipped,
// unless CI is set.
func pmNewService(t *testing.T) *pmService {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set and podman is not installed (.ci/run installs it with apt-get install podman)")
		}
		t.Skip("podman is not installed (apt-get install podman); set CI=1 to make this a failure")
	}
	if os.Geteuid() != 0 {
		// Rootless Podman needs subordinate ids and a systemd user session.
		t.Skip("the Podman smoke test runs Podman as root")
	}
	pmRemoveDeadServices(t)
	dir, err := os.MkdirTemp("", pmDirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	s := &pmService{dir: dir, socket: filepath.Join(dir, "podman.sock")}
	t.Cleanup(func() { s.destroy(t) })
	owner := fmt.Sprintf("%d %s\n", os.Getpid(), hostname)
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(owner), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"containers.conf": pmContainersConf, "storage.conf": pmStorageConf} {
		if err := os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, text, dir), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing of the host's or the user's Podman set-up may leak in (an
	// empty CONTAINER_HOST already turns podman into a remote client).
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONTAINER_") && !strings.HasPrefix(kv, "CONTAINERS_") {
			base = append(base, kv)
		}
	}
	s.podEnv = mergeEnv(base, []string{
		"CONTAINERS_CONF=" + filepath.Join(dir, "containers.conf"),
		"CONTAINERS_STORAGE_CONF=" + filepath.Join(dir, "storage.conf"),
	})
	// A DOCKER_CONFIG of the test's own: its streamer is stopped on cleanup,
	// which runs before the service's (cleanups run last-in first-out).
	cfgEnv, _ := fltConfig(t, "")
	s.env = append(cfgEnv, "DOCKER_HOST=unix://"+s.socket, "DOCKER_CONTEXT=")
	s.start(t)
	s.loadImage(t)
	return s
}

func (s *pmService) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.dir, "service.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("podman", "system", "service", "--time=0", "unix://"+s.socket)
	cmd.Env = s.podEnv
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group for cleanup; see fltDaemon.start for why there
	// is no parent-death signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting podman system service: %v", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.exited:
			t.Fatalf("podman system service exited while starting; its log ends:\n%s", s.logTail(15))
		default:
		}
		if out, _, code := dockerTryEnv(t, s.env, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"); code == 0 {
			t.Logf("Podman service answers on %s: version, API: %s", s.socket, strings.TrimSpace(out))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("podman system service did not answer within 60 s; its log ends:\n%s", s.logTail(15))
		}
		time.Sleep(200 * time.Millisecond) // poll interval while the service starts
	}
}

func (s *pmService) logTail(n int) string {
	data, _ := os.ReadFile(filepath.Join(s.dir, "service.log"))
	return fltTail(string(data), n)
}

// loadImage copies the helper image from the main Engine into Podman:
// docker save there, docker load through Podman's compatible API (no
// registry can be reached).
func (s *pmService) loadImage(t *testing.T) {
	t.Helper()
	copyHelperImage(t, "Podman", dockerEnv(s.env))
}

// docker runs a docker command against the Podman service and fails on error.
func (s *pmService) docker(t testing.TB, args ...string) string {
	t.Helper()
	stdout, stderr, code := dockerTryEnv(t, s.env, args...)
	if code != 0 {
		t.Fatalf("docker %s (Podman): exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr))
	}
	return strings.TrimSpace(stdout)
}

// run creates (create) or starts (run -d) a labelled helper container in
// Podman with helperArgs and returns it; t.Cleanup removes it.
func (s *pmService) run(t testing.TB, verb string, runArgs []string, helperArgs ...string) Container {
	t.Helper()
	name := uniqueName("pm")
	args := []string{verb, "--name", name, "--network", "none", "--no-healthcheck"}
	if verb == "run" {
		args = append(args, "-d")
	}
	args = append(append(append(args, labelArgs(t)...), runArgs...), imageRef)
	args = append(args, helperArgs...)
	stdout, stderr, code := dockerTryEnv(t, s.env, args...)
	id := strings.TrimSpace(stdout)
	if id != "" {
		t.Cleanup(func() {
			if _, stderr, code := dockerTryEnv(t, s.env, "rm", "-f", "-v", id); code != 0 && !strings.Contains(stderr, "no such container") {
				t.Errorf("removing Podman container %.12s: %s", id, strings.TrimSpace(stderr))
			}
		})
	}
	if code != 0 {
		t.Fatalf("docker %s (Podman): exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr))
	}
	return Container{ID: id, Name: name}
}

// destroy removes every container of the service, stops it, and removes
// what is left of it: processes, mounts, cgroups and the folder.
func (s *pmService) destroy(t testing.TB) {
	if s.cmd != nil {
		select {
		case <-s.exited:
		default:
			if ids, _, code := dockerTryEnv(t, s.env, "ps", "-aq", "--no-trunc"); code == 0 && strings.TrimSpace(ids) != "" {
				args := append([]string{"rm", "-f", "-v"}, strings.Fields(ids)...)
				if _, stderr, code := dockerTryEnv(t, s.env, args...); code != 0 {
					t.Errorf("removing the Podman containers: %s", strings.TrimSpace(stderr))
				}
			}
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(30 * time.Second):
				t.Errorf("podman system service did not exit within 30 s of SIGTERM; killing it")
				_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
				<-s.exited
			}
		}
		if t.Failed() {
			t.Logf("Podman service log ends:\n%s", s.logTail(30))
		}
	}
	if err := pmReapDir(s.dir); err != nil {
		t.Errorf("cleaning up the Podman service: %v", err)
	}
}

// pmRemoveDeadServices removes what the Podman services of runs that died
// left behind; services of live runs and of other hosts are left alone.
func pmRemoveDeadServices(t testing.TB) {
	for dir := range deadRunDirs(pmDirPrefix, 2) {
		t.Logf("removing the Podman service of a dead run: %s", dir)
		if err := pmReapDir(dir); err != nil {
			t.Logf("cleaning up %s: %v", dir, err)
		}
	}
}

// pmReapDir kills every process of a private Podman service (the service,
// conmon and cleanup processes by their command lines, which name dir; the
// containers' processes by their cgroups, /libpod_parent/libpod-<id> with
// the cgroupfs manager), unmounts everything under dir, and removes dir and
// the containers' cgroups. The container ids come from the storage folder.
func pmReapDir(dir string) error {
	var cgroups []string
	for _, driver := range []string{"vfs", "overlay"} {
		entries, _ := os.ReadDir(filepath.Join(dir, "root", driver+"-containers"))
		for _, e := range entries {
			if fullIDRE.MatchString(e.Name()) {
				cgroups = append(cgroups, fltCgroupDirs("libpod_parent/libpod-"+e.Name())...)
			}
		}
	}
	return fltReapDir(dir, cgroups)
}

// TestPodman runs docker live against a real Podman service: state changes
// in watch, events against docker events on the same socket, CPU % against
// podman stats, and container names against docker stats.
func TestPodman(t *testing.T) {
	t.Parallel()
	s := pmNewService(t)
	t.Run("watch shows state changes", func(t *testing.T) { pmTestWatch(t, s) })
	t.Run("events match docker events", func(t *testing.T) { pmTestEvents(t, s) })
	t.Run("CPU matches podman stats", func(t *testing.T) { pmTestStats(t, s) })
	t.Run("names are whole", func(t *testing.T) { pmTestNames(t, s) })
}

// pmTestWatch follows one container through create, start, pause, unpause,
// stop and kill in a streaming `watch --format json`, and checks the final
// state and exit code with `watch --no-stream` against docker inspect.
func pmTestWatch(t *testing.T, s *pmService) {
	label := "label=" + testLabel(t)
	w := startDockerEnv(t, s.env, "live", "watch", "-a", "--format", "json", "--filter", label)
	c := s.run(t, "create", nil)
	expect := func(after, state string, exitCode float64) {
		t.Helper()
		waitLine(t, w, 30*time.Second, fmt.Sprintf("watch row of %s with state %s after %s", c.Name, state, after), func(line string) bool {
			row, err := parseWatchJSON(line)
			if err != nil {
				t.Fatalf("watch --format json against Podman: %v", err)
			}
			if row["id"] != c.ID {
				t.Fatalf("watch --filter %s printed another container: %s", label, line)
			}
			if row["name"] != c.Name {
				t.Fatalf("watch printed name %q for %s", row["name"], c.Name)
			}
			return row["state"] == state && row["exit_code"] == exitCode
		})
	}
	expect("docker create", "created", 0)
	s.docker(t, "start", c.ID)
	expect("docker start", "running", 0)
	s.docker(t, "pause", c.ID)
	expect("docker pause", "paused", 0)
	s.docker(t, "unpause", c.ID)
	expect("docker unpause", "running", 0)
	// An explicit grace period: containers made through Podman 4.3's
	// compatible API have a stop timeout of 0, so a bare docker stop kills
	// them at once (exit 137). Given time, the helper exits 0 on SIGTERM.
	s.docker(t, "stop", "-t", "10", c.ID)
	expect("docker stop", "exited", 0)
	s.docker(t, "start", c.ID)
	expect("docker start after stop", "running", 0)
	s.docker(t, "kill", c.ID)
	expect("docker kill", "exited", 137)

	// The streamer's snapshot agrees with Podman's own view. Podman reports
	// "stopped" between a container's death and its cleanup, a moment
	// later, so the two may need a moment to agree.
	eventually(t, 10*time.Second, func() error {
		var inspect ContainerState
		if err := json.Unmarshal([]byte(s.docker(t, "inspect", "--type", "container", "--format", "{{json .State}}", c.ID)), &inspect); err != nil {
			t.Fatal(err)
		}
		out := s.docker(t, "live", "watch", "--no-stream", "-a", "--format", "json", "--filter", label)
		row, err := parseWatchJSON(out)
		if err != nil {
			t.Fatalf("watch --no-stream --format json against Podman: %v", err)
		}
		if row["state"] != "exited" || row["state"] != inspect.Status || row["exit_code"] != float64(inspect.ExitCode) {
			return fmt.Errorf("watch --no-stream shows %v (exit %v), docker inspect %s (exit %d), want both exited (137)",
				row["state"], row["exit_code"], inspect.Status, inspect.ExitCode)
		}
		return nil
	})
}

// pmTestEvents runs `docker live events` and `docker events` side by side on
// the Podman socket through a container's whole life, and wants the same
// events, line for line, Podman's own actions included (init, and cleanup,
// which Podman often sends twice).
func pmTestEvents(t *testing.T, s *pmService) {
	filter := "label=" + testLabel(t)
	ref := newEventLines(startDockerEnv(t, s.env, "events", "--format", "json", "--filter", filter))
	ours := newEventLines(startDockerEnv(t, s.env, "live", "events", "--format", "json", "--filter", filter))

	// Neither prints the past without --since: poke with a container of its
	// own until both show one of its events, so both demonstrably listen.
	poke := s.run(t, "run", nil)
	awaitBothListening(t, ref, ours, poke.ID, 5*time.Second, func() {
		s.docker(t, "pause", poke.ID)
		s.docker(t, "unpause", poke.ID)
	})

	from := time.Now().UnixNano()
	c := s.run(t, "run", nil)
	s.docker(t, "pause", c.ID)
	s.docker(t, "unpause", c.ID)
	s.docker(t, "stop", "-t", "10", c.ID)
	s.docker(t, "start", c.ID)
	s.docker(t, "kill", c.ID)
	s.docker(t, "rm", "-f", c.ID)
	var to int64
	for _, l := range []*eventLines{ref, ours} {
		ev := l.until(t, 30*time.Second, "the remove event", func(ev cliEvent) bool { return ev.Action == "remove" && ev.Actor.ID == c.ID })
		to = ev.TimeNano
	}
	want, got := ref.window(from, to), ours.window(from, to)
	if diff := compareEvents(got, want); diff != "" {
		t.Errorf("docker live events vs docker events on Podman: %s", diff)
	}
	actions := map[string]int{}
	for k, n := range want {
		actions[k.Action] += n
	}
	t.Logf("docker events on Podman printed, by action: %v", actions)
	for _, a := range []string{"create", "init", "start", "pause", "unpause", "die", "cleanup", "kill", "remove"} {
		if actions[a] == 0 {
			t.Errorf("docker events on Podman printed no %s event for the container's life: %v", a, actions)
		}
	}
	for k := range want {
		mine, ok := ours.raw[k]
		if !ok {
			continue
		}
		var a, b map[string]any
		_ = json.Unmarshal([]byte(ref.raw[k]), &a)
		_ = json.Unmarshal([]byte(mine), &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("event %s differs:\ndocker events:      %s\ndocker live events: %s", k, ref.raw[k], mine)
		}
	}
}

// pmSample is one CPU % reading and when the test received it.
type pmSample struct {
	at  time.Time
	cpu float64
}

// pmTestStats compares the CPU % of a burner capped at half a CPU
// (--cpus 0.5) in a streaming `docker live watch` with a streaming
// `podman stats`, both running at once. Each samples its own 1 s windows on
// a busy host, so single readings differ by what the load does between
// them; the means over the same 10 s agree within 3 points.
func pmTestStats(t *testing.T, s *pmService) {
	b := s.run(t, "run", []string{"--cpus", "0.5"}, "cpu", "--share", "1")

	var mu sync.Mutex
	var ours, theirs []pmSample
	w := startDockerEnv(t, s.env, "live", "watch", "--format", "json", "--filter", "id="+b.ID)
	go func() {
		for line := range w.Lines {
			row, err := parseWatchJSON(line)
			if err != nil || row["id"] != b.ID || row["state"] != "running" {
				continue
			}
			// null until the streamer has a CPU delta: unknown, not zero.
			cpu, ok := row["cpu_percent"].(float64)
			if !ok {
				continue
			}
			mu.Lock()
			ours = append(ours, pmSample{time.Now(), cpu})
			mu.Unlock()
		}
	}()
	ps := pmStartStats(t, s, b.ID)
	go func() {
		dec := json.NewDecoder(ps.stdout)
		first := true
		for {
			var rows []struct {
				ID         string `json:"id"`
				CPUPercent string `json:"cpu_percent"`
			}
			if err := dec.Decode(&rows); err != nil {
				return
			}
			// The first reading is the average since the container started.
			if first {
				first = false
				continue
			}
			for _, r := range rows {
				v, err := parsePercent(r.CPUPercent)
				if err != nil || !strings.HasPrefix(b.ID, r.ID) {
					continue
				}
				mu.Lock()
				theirs = append(theirs, pmSample{time.Now(), v})
				mu.Unlock()
			}
		}
	}()
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(ours), len(theirs)
	}
	// Warm up: the first readings of both are not yet per-second rates.
	eventually(t, 30*time.Second, func() error {
		if a, b := counts(); a < 3 || b < 2 {
			return fmt.Errorf("readings so far: docker live %d, podman stats %d; podman stats stderr: %s", a, b, ps.stderr.String())
		}
		return nil
	})
	const window = 10 * time.Second
	var tries []string
	for i := range 3 {
		from := time.Now()
		// The measurement is a fixed stretch of time: both tools report
		// once a second, and what is compared is their mean over it.
		time.Sleep(window)
		to := time.Now()
		mu.Lock()
		a, na := pmMean(ours, from, to)
		p, np := pmMean(theirs, from, to)
		mu.Unlock()
		if na < 5 || np < 5 {
			t.Fatalf("in %v docker live gave %d and podman stats %d CPU readings, want at least 5 each; podman stats stderr: %s",
				window, na, np, ps.stderr.String())
		}
		tries = append(tries, fmt.Sprintf("docker live %.2f%% (%d readings) / podman stats %.2f%% (%d)", a, na, p, np))
		if a < 1 {
			t.Fatalf("docker live shows the burner at %.2f%% CPU: no stats from Podman's containers", a)
		}
		if math.Abs(a-p) <= 3 {
			t.Logf("mean CPU %% over %v agrees on try %d: %s", window, i+1, strings.Join(tries, "; "))
			pmCheckStatsSource(t, s)
			return
		}
	}
	t.Errorf("mean CPU %% of the --cpus 0.5 burner over %v never within 3 points of podman stats: %s", window, strings.Join(tries, "; "))
}

// pmCheckStatsSource wants the streamer to read Podman's containers from
// their cgroups (/libpod_parent/libpod-<id> with the cgroupfs manager), as
// it does Docker's on this host: `status` names the source.
func pmCheckStatsSource(t testing.TB, s *pmService) {
	t.Helper()
	var sources []string
	for _, line := range strings.Split(s.docker(t, "live", "status", "--format", "json"), "\n") {
		var st struct {
			Endpoint    string `json:"endpoint"`
			StatsSource string `json:"stats_source"`
		}
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			t.Fatalf("docker live status --format json: %v: %q", err, line)
		}
		if st.Endpoint == "unix://"+s.socket {
			sources = append(sources, st.StatsSource)
		}
	}
	if len(sources) != 1 || !strings.Contains(sources[0], "cgroup") {
		t.Errorf("docker live status shows stats sources %q for the Podman streamer, want one with the cgroup source", sources)
		return
	}
	t.Logf("docker live status: stats source %s", sources[0])
}

func pmMean(samples []pmSample, from, to time.Time) (float64, int) {
	var sum float64
	n := 0
	for _, s := range samples {
		if s.at.After(from) && !s.at.After(to) {
			sum += s.cpu
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// pmProc is a running `podman stats`.
type pmProc struct {
	stdout io.Reader
	stderr *lockedBuffer
}

// pmStartStats starts a streaming `podman stats --format json` for one
// container, as a remote client of the test's service; t.Cleanup kills it.
func pmStartStats(t testing.TB, s *pmService, id string) pmProc {
	t.Helper()
	cmd := exec.Command("podman", "--url", "unix://"+s.socket, "stats", "--format", "json", "--interval", "1", "--no-reset", id)
	cmd.Env = s.podEnv
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting podman stats: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return pmProc{stdout: bufio.NewReader(stdout), stderr: stderr}
}

// pmTestNames checks the known difference the README names: docker stats
// against Podman 4.3 drops the first letter of every container name (it
// strips the leading slash Docker puts before names, which Podman does not
// send), and docker live prints names whole.
func pmTestNames(t *testing.T, s *pmService) {
	c := s.run(t, "run", nil)
	stats := s.docker(t, "stats", "--no-stream", "--format", "{{.Name}}", c.ID)
	live := s.docker(t, "live", "watch", "--no-stream", "--format", "{{.Name}}", "--filter", "id="+c.ID)
	if live != c.Name {
		t.Errorf("docker live watch prints the name %q, want %q", live, c.Name)
	}
	switch stats {
	case c.Name[1:]:
		t.Logf("docker stats prints %q for %q, docker live %q: the difference the README names", stats, c.Name, live)
	case c.Name:
		t.Errorf("docker stats now prints the whole name %q: update the README's Podman section", stats)
	default:
		t.Errorf("docker stats prints the name %q for %q", stats, c.Name)
	}
}
