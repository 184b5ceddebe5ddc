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
		Socket: socketIn(dir),
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
	return makePrivate(p.Dir)
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
	return checkWriters(dir, st)
}

// openPrivate opens a file in the state folder without following a
// symbolic link, and checks that it is a regular file of ours: another user
// must not make us read, chmod or append to a file of their choosing.
func openPrivate(path string, flag int) (*os.File, error) {
	f, err := openNoFollow(path, flag)
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
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
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
	if err := lockNoWait(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

var errLocked = errors.New("locked")

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
