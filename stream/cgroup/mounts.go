package cgroup

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultRoot is where hosts mount their cgroup hierarchies.
const DefaultRoot = "/sys/fs/cgroup"

// membership is one line of /proc/<pid>/cgroup: a v1 hierarchy with its
// controllers (hier > 0), or the v2 unified hierarchy (hier 0).
type membership struct {
	hier        int
	controllers []string
	path        string
}

func parseMemberships(b []byte) ([]membership, error) {
	var out []membership
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		if len(line) == 0 {
			continue
		}
		parts := strings.SplitN(string(line), ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("bad line %q", line)
		}
		var m membership
		if _, err := fmt.Sscan(parts[0], &m.hier); err != nil {
			return nil, fmt.Errorf("bad hierarchy id in %q", line)
		}
		if parts[1] != "" {
			m.controllers = strings.Split(parts[1], ",")
		}
		m.path = parts[2]
		out = append(out, m)
	}
	return out, nil
}

// mount is a cgroup filesystem mount from mountinfo: root is the cgroup
// the mount shows at its mount point, relative to the reader's cgroup
// namespace, like the paths in /proc/<pid>/cgroup.
type mount struct {
	v2      bool
	options []string // v1 superblock options: the controllers, name=...
	root    string
	point   string
}

func (m mount) has(controller string) bool {
	for _, o := range m.options {
		if o == controller {
			return true
		}
	}
	return false
}

// dir is where cgroup path p shows under this mount, or "" if the mount
// does not reach it (a mount of a subtree, as in a container).
func (m mount) dir(p string) string {
	if m.root == "/" {
		return path.Join(m.point, p)
	}
	if p == m.root {
		return m.point
	}
	if strings.HasPrefix(p, m.root+"/") {
		return path.Join(m.point, p[len(m.root):])
	}
	return ""
}

// parseMounts reads the cgroup mounts of a mountinfo file. Mount points
// under DefaultRoot are moved under cgroupRoot, so tests (and a streamer
// that sees the host's cgroupfs elsewhere) can point at another tree.
func parseMounts(b []byte, cgroupRoot string) ([]mount, error) {
	return readMounts(bytes.NewReader(b), cgroupRoot)
}

var cgroupFSType = []byte(" - cgroup")

// readMounts is parseMounts from a reader. Only cgroup lines are turned
// into strings: on a host with 200 containers mountinfo is hundreds of
// kilobytes of their overlay and shm mounts.
func readMounts(r io.Reader, cgroupRoot string) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), cgroupFSType) {
			continue
		}
		// id parent maj:min root point options [optional...] - fstype source superoptions
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		lf, rf := strings.Fields(left), strings.Fields(right)
		if len(lf) < 5 || len(rf) < 3 {
			continue
		}
		var m mount
		switch rf[0] {
		case "cgroup":
		case "cgroup2":
			m.v2 = true
		default:
			continue
		}
		m.options = strings.Split(rf[2], ",")
		m.root = unescape(lf[3])
		m.point = rebase(unescape(lf[4]), cgroupRoot)
		out = append(out, m)
	}
	return out, sc.Err()
}

// mountCacheTTL is how long the host's cgroup mounts, read from the real
// /proc, serve every Probe: they do not change while containers come and
// go, and reading mountinfo once per container start cost 30 MB of
// allocations (and the start-up's peak RSS) for 100 containers.
const mountCacheTTL = 30 * time.Second

var mountCache struct {
	mu         sync.Mutex
	cgroupRoot string
	mounts     []mount
	read       time.Time
}

// cgroupMounts returns the cgroup mounts procRoot's mountinfo lists, nil
// (the usual layout under cgroupRoot) when it cannot be read. Those of the
// real /proc are cached for mountCacheTTL; other roots (tests' trees) are
// read every time.
func cgroupMounts(procRoot, cgroupRoot string) ([]mount, error) {
	cache := procRoot == "/proc"
	if cache {
		mountCache.mu.Lock()
		defer mountCache.mu.Unlock()
		if mountCache.cgroupRoot == cgroupRoot && !mountCache.read.IsZero() && time.Since(mountCache.read) < mountCacheTTL {
			return mountCache.mounts, nil
		}
	}
	f, err := os.Open(filepath.Join(procRoot, "self", "mountinfo"))
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	mounts, err := readMounts(f, cgroupRoot)
	if err != nil {
		return nil, err
	}
	if cache {
		mountCache.cgroupRoot, mountCache.mounts, mountCache.read = cgroupRoot, mounts, time.Now()
	}
	return mounts, nil
}

func rebase(p, cgroupRoot string) string {
	if cgroupRoot == "" || cgroupRoot == DefaultRoot {
		return p
	}
	if p == DefaultRoot {
		return cgroupRoot
	}
	if strings.HasPrefix(p, DefaultRoot+"/") {
		return path.Join(cgroupRoot, p[len(DefaultRoot):])
	}
	return p
}

// unescape undoes mountinfo's octal escapes (\040 for a space and so on).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// containerPath cuts a cgroup path after the element that names the
// container: "/docker/<id>" (cgroupfs driver), ".../docker-<id>.scope"
// (systemd driver). A process that moved itself into a child cgroup (systemd
// in a container moves to init.scope) still belongs to the container's
// cgroup, which is the one the Engine reports. ok is false when no element
// carries the id.
func containerPath(p, id string) (string, bool) {
	elems := strings.Split(p, "/")
	for i, e := range elems {
		if hasID(e, id) {
			return strings.Join(elems[:i+1], "/"), true
		}
	}
	return "", false
}

// hasID reports whether e carries id as a whole word: not a prefix or
// suffix of a longer hex string.
func hasID(e, id string) bool {
	for off := 0; ; {
		i := strings.Index(e[off:], id)
		if i < 0 {
			return false
		}
		i += off
		j := i + len(id)
		if (i == 0 || !isHex(e[i-1])) && (j == len(e) || !isHex(e[j])) {
			return true
		}
		off = i + 1
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

// validID wants the full id: cgroup paths carry all 64 digits, and a
// prefix must not match another container's.
func validID(id string) error {
	if len(id) != 64 {
		return fmt.Errorf("container id %q is not a full 64-digit id", id)
	}
	for i := 0; i < len(id); i++ {
		if !isHex(id[i]) {
			return fmt.Errorf("container id %q is not lowercase hex", id)
		}
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
