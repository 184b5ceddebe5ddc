//go:build !windows

package plugin

import (
	"context"
	"syscall"
	"time"
)

func stopProcess(ctx context.Context, pid int) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return err
	}
	deadline := time.Now().Add(stopWait)
	for time.Now().Before(deadline) {
		if !processAlive(pid) || isZombie(pid) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // poll interval for the exit
		}
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}
