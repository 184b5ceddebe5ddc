//go:build !windows

package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/docker-live/docker-live/streamer"
)

// passFile hands f to the child and returns the descriptor number that
// names it there (ExtraFiles start at 3).
func passFile(cmd *exec.Cmd, f *os.File) string {
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	return strconv.Itoa(2 + len(cmd.ExtraFiles))
}

// detachAttrs puts the child in its own session: no terminal signals from
// the shell that started it.
func detachAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}

// terminate asks a child that was not ready in time to exit.
func terminate(pid int) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
}

// noStreamerListens reports a dial error that means no streamer serves the
// socket (so one may be started), as opposed to one that refused us.
func noStreamerListens(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}

// engineHandle writes the Engine hand-off to an unnamed private file the
// child inherits: created in the 0700 state folder and unlinked at once,
// so the TLS key it may hold is never on disk under a name, on a command
// line or in the environment, and it survives an exec (a pipe's writer
// would not). The caller closes it once the child has it.
func engineHandle(dir string, e streamer.Engine) (*os.File, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "engine-*")
	if err != nil {
		return nil, fmt.Errorf("cannot hand the Engine over: %v", err)
	}
	_ = os.Remove(f.Name())
	if _, err := f.Write(data); err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot hand the Engine over: %v", err)
	}
	return f, nil
}
