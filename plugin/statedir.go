package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// ensureDir makes the state folder 0700 whatever the umask, and tightens an
// existing one.
func (p streamerPaths) ensureDir() error {
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(p.Dir, 0o700)
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
	data, err := os.ReadFile(path)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("%s: %v", path, err)
	}
	return info, nil
}

// writeFile0600 replaces path atomically with a 0600 file, whatever the umask.
func writeFile0600(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.tmp.%d", path, os.Getpid())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
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
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	_ = f.Chmod(0o600)
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
