package plugin

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/windows"

	"github.com/docker-live/docker-live/streamer"
)

// passFile makes w inheritable and hands it to the child, whose
// --ready-fd or --engine-fd then names the handle's value: Windows has no
// numbered file descriptors to pass (exec.Cmd.ExtraFiles is not supported
// there), but an inherited handle keeps its value in the child.
func passFile(cmd *exec.Cmd, w *os.File) string {
	h := windows.Handle(w.Fd())
	_ = windows.SetHandleInformation(h, windows.HANDLE_FLAG_INHERIT, windows.HANDLE_FLAG_INHERIT)
	attrs := sysProcAttr(cmd)
	attrs.AdditionalInheritedHandles = append(attrs.AdditionalInheritedHandles, syscall.Handle(h))
	return strconv.FormatUint(uint64(h), 10)
}

// detachAttrs starts the child without a console (DETACHED_PROCESS), so it
// outlives the terminal that started it, and in its own process group
// (CREATE_NEW_PROCESS_GROUP), so Ctrl+C in that terminal does not reach it:
// Windows' counterparts of setsid.
func detachAttrs(cmd *exec.Cmd) {
	attrs := sysProcAttr(cmd)
	attrs.CreationFlags |= detachedCreationFlags
	attrs.HideWindow = true
}

func sysProcAttr(cmd *exec.Cmd) *syscall.SysProcAttr {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	return cmd.SysProcAttr
}

// terminate ends a child that was not ready in time. Windows has no
// SIGTERM for a process without a console; TerminateProcess is the way.
func terminate(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
		p.Release()
	}
}

// noStreamerListens reports a dial error that means no streamer serves the
// pipe (it does not exist), as opposed to one that refused us.
func noStreamerListens(err error) bool {
	return errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) || errors.Is(err, os.ErrNotExist)
}

// engineHandle hands the Engine hand-off to the child over a pipe that a
// goroutine writes (Windows cannot unlink an open file; the plugin waits
// for the child's "ready", by which time the child has read it all). The
// TLS key it may hold is never on disk, on a command line or in the
// environment. The caller closes the returned read end once the child has
// it.
func engineHandle(dir string, e streamer.Engine) (*os.File, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	go func() {
		_, _ = w.Write(data)
		w.Close()
	}()
	return r, nil
}
