package plugin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
)

// streamerPaths are the files of one context's streamer. They live in a
// 0700 folder named by a short hash of context and endpoint, so that the
// socket path stays far below the 108-byte limit of Unix socket names.
type streamerPaths struct {
	Dir    string
	Socket string
	Token  string
	Lock   string
	Info   string
	Log    string
}

// stateRoot is ${DOCKER_CONFIG:-$HOME/.docker}/live (honouring --config).
func stateRoot() string {
	return filepath.Join(config.Dir(), "live")
}

// streamerKey names a streamer. The context name alone is not enough:
// "default" follows DOCKER_HOST and -H.
func streamerKey(contextName, endpoint string) string {
	sum := sha256.Sum256([]byte(contextName + "\x00" + endpoint))
	return hex.EncodeToString(sum[:6])
}

func pathsForDir(dir string) streamerPaths {
	return streamerPaths{
		Dir:    dir,
		Socket: filepath.Join(dir, "live.sock"),
		Token:  filepath.Join(dir, "token"),
		Lock:   filepath.Join(dir, "lock"),
		Info:   filepath.Join(dir, "info.json"),
		Log:    filepath.Join(dir, "serve.log"),
	}
}

func pathsFor(dockerCli command.Cli) streamerPaths {
	return pathsForDir(filepath.Join(stateRoot(), streamerKey(dockerCli.CurrentContext(), dockerCli.DockerEndpoint().Host)))
}

// ensureDir makes live/ and the state folder 0700 whatever the umask, and
// refuses to use either when it is not safe: the folder holds the token, the
// lock, the log and the PID that `stop` signals, so whoever can replace
// them can read the stream or make us signal or append to a file of theirs
// choosing. Each must be a real folder (not a symbolic link), owned by the
// current user and writable by nobody else.
func (p streamerPaths) ensureDir() error {
	root := filepath.Dir(p.Dir)
	if err := os.MkdirAll(filepath.Dir(root), 0o700); err != nil {
		return err
	}
	for _, dir := range []string{root, p.Dir} {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := checkPrivateDir(dir); err != nil {
			return err
		}
	}
	// Only our own folder is tightened: live/ may have been opened up on
	// purpose (to let another user into one of its folders, say).
	return os.Chmod(p.Dir, 0o700)
}

// unsafePathError names a state path we refuse to use and why, in one line.
type unsafePathError struct {
	path string
	why  string
}

func (e *unsafePathError) Error() string {
	return fmt.Sprintf("refusing to use %s: %s", e.path, e.why)
}

// checkPrivateDir checks dir without following a symbolic link: it must be
// a folder of the current user that group and others cannot write to.
func checkPrivateDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return &unsafePathError{dir, "it is a symbolic link (remove it; only a real folder of yours is used)"}
	}
	if !st.IsDir() {
		return &unsafePathError{dir, "it is not a folder"}
	}
	if err := checkOwner(dir, st); err != nil {
		return err
	}
	if st.Mode().Perm()&0o022 != 0 {
		return &unsafePathError{dir, fmt.Sprintf("group or others may write to it (mode %04o; chmod go-w it)", st.Mode().Perm())}
	}
	return nil
}

// checkOwner refuses what another user owns.
func checkOwner(path string, st fs.FileInfo) error {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Getuid(); int(sys.Uid) != uid {
		return &unsafePathError{path, fmt.Sprintf("it is owned by uid %d, not by you (uid %d)", sys.Uid, uid)}
	}
	return nil
}

// openPrivate opens a file in the state folder without following a
// symbolic link, and checks that it is a regular file of ours: another user
// must not make us read, chmod or append to a file of their choosing.
func openPrivate(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &unsafePathError{path, "it is a symbolic link (remove it)"}
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = &unsafePathError{path, "it is not a regular file"}
	}
	if err == nil {
		err = checkOwner(path, st)
	}
	if err == nil && flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		// Created 0600, but an older file may have had looser bits.
		err = f.Chmod(0o600)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// readPrivate reads a whole file through openPrivate.
func readPrivate(path string) ([]byte, error) {
	f, err := openPrivate(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// streamerInfo is written by a running streamer to info.json, and is what
// `docker live status --format json` prints (with the live counters added).
type streamerInfo struct {
	Context     string    `json:"context"`
	Endpoint    string    `json:"endpoint"`
	PID         int       `json:"pid"`
	Started     time.Time `json:"started"`
	Clients     int       `json:"clients"`
	Containers  int       `json:"containers"`
	Socket      string    `json:"socket"`
	Listen      string    `json:"listen,omitempty"`
	Log         string    `json:"log,omitempty"`
	TokenFile   string    `json:"token_file,omitempty"`
	Version     string    `json:"version"`
	StatsSource string    `json:"stats_source,omitempty"`
	Engine      string    `json:"engine,omitempty"`
}

func readInfo(path string) (streamerInfo, error) {
	var info streamerInfo
	data, err := readPrivate(path)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("%s: %v", path, err)
	}
	return info, nil
}

// writeFile0600 replaces path atomically with a 0600 file, whatever the
// umask. The temporary file is new (O_EXCL) and never a link another user
// planted; the rename replaces a link at path rather than follow it.
func writeFile0600(path string, data []byte) error {
	var f *os.File
	var tmp string
	for range 10 {
		var suffix [6]byte
		_, _ = rand.Read(suffix[:])
		tmp = fmt.Sprintf("%s.tmp.%d.%s", path, os.Getpid(), hex.EncodeToString(suffix[:]))
		var err error
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	if f == nil {
		return fmt.Errorf("cannot create a temporary file beside %s", path)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// lockFile takes the streamer's exclusive lock without waiting. The kernel
// drops it when the process dies, so a crashed streamer never blocks a new one.
func lockFile(path string) (*os.File, error) {
	f, err := openPrivate(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return f, nil
}

var errLocked = errors.New("locked")

// processAlive reports whether pid exists (signal 0 checks without sending).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// listStreamerDirs returns every state folder under the root.
func listStreamerDirs() ([]streamerPaths, error) {
	entries, err := os.ReadDir(stateRoot())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []streamerPaths
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, pathsForDir(filepath.Join(stateRoot(), e.Name())))
		}
	}
	return out, nil
}

// isZombie reports a process that has exited but was not reaped yet (a
// detached streamer's parent may be gone only later).
func isZombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

// verifiedStreamer reads paths' info.json and reports whether its PID is
// the running streamer of this folder: it answered /v1/health on the
// socket with that PID, or it holds the folder's lock. Anything else in
// info.json (left by a streamer killed with SIGKILL, its PID since reused,
// or planted) must never be signalled; such a stale file is removed when
// nobody holds the lock.
func verifiedStreamer(ctx context.Context, paths streamerPaths) (streamerInfo, bool) {
	if err := checkPrivateDir(paths.Dir); err != nil {
		// Nothing in an unsafe folder is trusted, or touched.
		return streamerInfo{}, false
	}
	info, err := readInfo(paths.Info)
	if err != nil || !processAlive(info.PID) {
		removeStaleInfo(paths)
		return info, false
	}
	hctx, cancel := context.WithTimeout(ctx, time.Second)
	health, err := streamerHealth(hctx, paths.Socket)
	cancel()
	if err == nil {
		if pid, ok := health["pid"].(float64); ok && int(pid) == info.PID {
			return info, true
		}
	}
	if holdsLock(info.PID, paths.Lock) {
		return info, true
	}
	removeStaleInfo(paths)
	return info, false
}

// removeStaleInfo removes info.json when no streamer holds the lock, so
// that no later command trusts its PID.
func removeStaleInfo(paths streamerPaths) {
	if _, err := os.Lstat(paths.Info); err != nil {
		return
	}
	lock, err := lockFile(paths.Lock)
	if err != nil {
		return
	}
	defer lock.Close()
	_ = os.Remove(paths.Info)
}

// holdsLock reports whether process pid holds the flock on path, from
// /proc/locks, whose lines read
// "1: FLOCK  ADVISORY  WRITE 2217 08:01:1234567 0 EOF" (device in hex,
// inode in decimal).
func holdsLock(pid int, path string) bool {
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	major := (sys.Dev>>8)&0xfff | (sys.Dev>>32)&^0xfff
	minor := sys.Dev&0xff | (sys.Dev>>12)&^0xff
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, sys.Ino)
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" { // "->" marks a waiter, not a holder
			continue
		}
		if f[4] == strconv.Itoa(pid) && f[5] == want {
			return true
		}
	}
	return false
}
