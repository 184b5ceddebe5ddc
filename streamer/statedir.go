// Package streamer is the long-lived streamer's side of docker live: its
// serve options and flags, its foreground runtime, and the state folder it
// keeps (lock, socket, token, info.json, serve.log). It must not import
// github.com/docker/cli (see docs/architecture.md "What the streamer links";
// TestStreamerLinksNoDockerCLI guards it): the plugin resolves the Docker
// context and hands the result over.
package streamer

import (
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
)

// Paths are the files of one context's streamer. They live in a
// 0700 folder named by a short hash of context and endpoint, so that the
// socket path stays far below the 108-byte limit of Unix socket names.
type Paths struct {
	Dir    string
	Socket string
	Token  string
	Lock   string
	Info   string
	Log    string
}

// Key names a streamer. The context name alone is not enough:
// "default" follows DOCKER_HOST and -H.
func Key(contextName, endpoint string) string {
	sum := sha256.Sum256([]byte(contextName + "\x00" + endpoint))
	return hex.EncodeToString(sum[:6])
}

func PathsForDir(dir string) Paths {
	return Paths{
		Dir:    dir,
		Socket: socketIn(dir),
		Token:  filepath.Join(dir, "token"),
		Lock:   filepath.Join(dir, "lock"),
		Info:   filepath.Join(dir, "info.json"),
		Log:    filepath.Join(dir, "serve.log"),
	}
}

// EnsureDir makes live/ and the state folder 0700 whatever the umask, and
// refuses to use either when it is not safe: the folder holds the token, the
// lock, the log and the PID that `stop` signals, so whoever can replace
// them can read the stream or make us signal or append to a file of theirs
// choosing. Each must be a real folder (not a symbolic link), owned by the
// current user and writable by nobody else.
func (p Paths) EnsureDir() error {
	root := filepath.Dir(p.Dir)
	if err := os.MkdirAll(filepath.Dir(root), 0o700); err != nil {
		return err
	}
	for _, dir := range []string{root, p.Dir} {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := CheckPrivateDir(dir); err != nil {
			return err
		}
	}
	// Only our own folder is tightened: live/ may have been opened up on
	// purpose (to let another user into one of its folders, say).
	return makePrivate(p.Dir)
}

// UnsafePathError names a state path we refuse to use and why, in one line.
type UnsafePathError struct {
	Path string
	Why  string
}

func (e *UnsafePathError) Error() string {
	return fmt.Sprintf("refusing to use %s: %s", e.Path, e.Why)
}

// CheckPrivateDir checks dir without following a symbolic link: it must be
// a folder of the current user that group and others cannot write to.
func CheckPrivateDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return &UnsafePathError{dir, "it is a symbolic link (remove it; only a real folder of yours is used)"}
	}
	if !st.IsDir() {
		return &UnsafePathError{dir, "it is not a folder"}
	}
	if err := checkOwner(dir, st); err != nil {
		return err
	}
	return checkWriters(dir, st)
}

// OpenPrivate opens a file in the state folder without following a
// symbolic link, and checks that it is a regular file of ours: another user
// must not make us read, chmod or append to a file of their choosing.
func OpenPrivate(path string, flag int) (*os.File, error) {
	f, err := openNoFollow(path, flag)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = &UnsafePathError{path, "it is not a regular file"}
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

// ReadPrivate reads a whole file through OpenPrivate.
func ReadPrivate(path string) ([]byte, error) {
	f, err := OpenPrivate(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// Info is written by a running streamer to info.json, and is what
// `docker live status --format json` prints (with the live counters added).
type Info struct {
	Context     string    `json:"context"`
	Endpoint    string    `json:"endpoint"`
	PID         int       `json:"pid"`
	Started     time.Time `json:"started"`
	Clients     int       `json:"clients"`
	Containers  int       `json:"containers"`
	Socket      string    `json:"socket"`
	Listen      string    `json:"listen,omitempty"`
	TLS         bool      `json:"tls,omitempty"` // Listen speaks TLS
	Log         string    `json:"log,omitempty"`
	TokenFile   string    `json:"token_file,omitempty"`
	Version     string    `json:"version"`
	StatsSource string    `json:"stats_source,omitempty"`
	Engine      string    `json:"engine,omitempty"`
}

func ReadInfo(path string) (Info, error) {
	var info Info
	data, err := ReadPrivate(path)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("%s: %v", path, err)
	}
	return info, nil
}

// WriteFile0600 replaces path atomically with a 0600 file, whatever the
// umask. The temporary file is new (O_EXCL) and never a link another user
// planted; the rename replaces a link at path rather than follow it.
func WriteFile0600(path string, data []byte) error {
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

// LockFile takes the streamer's exclusive lock without waiting. The kernel
// drops it when the process dies, so a crashed streamer never blocks a new one.
func LockFile(path string) (*os.File, error) {
	f, err := OpenPrivate(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	if err := lockNoWait(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

var ErrLocked = errors.New("locked")
