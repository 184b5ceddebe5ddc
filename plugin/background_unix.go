//go:build !windows

package plugin

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// passReadyPipe hands w to the child as file descriptor 3 and returns the
// --ready-fd value that names it there.
func passReadyPipe(cmd *exec.Cmd, w *os.File) string {
	cmd.ExtraFiles = []*os.File{w}
	return strconv.Itoa(3)
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
