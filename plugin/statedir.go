package plugin

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"

	"github.com/docker-live/docker-live/streamer"
)

// The state folder's files and checks live in package streamer, which the
// streamer binary shares; these names keep the plugin's commands short.
type (
	streamerPaths   = streamer.Paths
	streamerInfo    = streamer.Info
	unsafePathError = streamer.UnsafePathError
)

var errLocked = streamer.ErrLocked

func pathsForDir(dir string) streamerPaths                { return streamer.PathsForDir(dir) }
func readInfo(path string) (streamerInfo, error)          { return streamer.ReadInfo(path) }
func writeFile0600(path string, data []byte) error        { return streamer.WriteFile0600(path, data) }
func lockFile(path string) (*os.File, error)              { return streamer.LockFile(path) }
func openPrivate(path string, flag int) (*os.File, error) { return streamer.OpenPrivate(path, flag) }
func checkPrivateDir(dir string) error                    { return streamer.CheckPrivateDir(dir) }
func processAlive(pid int) bool                           { return streamer.ProcessAlive(pid) }
func isZombie(pid int) bool                               { return streamer.IsZombie(pid) }
func holdsLock(pid int, path string) bool                 { return streamer.HoldsLock(pid, path) }

// stateRoot is ${DOCKER_CONFIG:-$HOME/.docker}/live (honouring --config).
func stateRoot() string {
	return filepath.Join(config.Dir(), "live")
}

func pathsFor(dockerCli command.Cli) streamerPaths {
	return pathsForDir(filepath.Join(stateRoot(), streamer.Key(dockerCli.CurrentContext(), dockerCli.DockerEndpoint().Host)))
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
