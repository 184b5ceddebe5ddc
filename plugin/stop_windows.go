package plugin

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/windows"
)

// stopProcess ends the streamer with TerminateProcess and waits until it
// is gone. A detached streamer has no console, so there is no signal that
// asks it to shut down gracefully: its pipe closes with it, and the next
// command removes its stale info.json (no one holds the lock any more).
func stopProcess(ctx context.Context, pid int) error {
	h, err := windows.OpenProcess(windows.PROCESS_TERMINATE|windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	if err := windows.TerminateProcess(h, 1); err != nil {
		return err
	}
	deadline := time.Now().Add(stopWait)
	for time.Now().Before(deadline) {
		ev, err := windows.WaitForSingleObject(h, 20) // poll interval (ms) for the exit, so ctx is honoured
		if err != nil {
			return err
		}
		if ev == windows.WAIT_OBJECT_0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("pid %d is still running %s after TerminateProcess", pid, stopWait)
}
