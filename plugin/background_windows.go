package plugin

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/windows"
)

// passReadyPipe makes w inheritable and hands it to the child, whose
// --ready-fd then names the handle's value: Windows has no numbered file
// descriptors to pass (exec.Cmd.ExtraFiles is not supported there), but an
// inherited handle keeps its value in the child.
func passReadyPipe(cmd *exec.Cmd, w *os.File) string {
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
