package plugin

import (
	"context"
	"os"
	ossignal "os/signal"
	"sync"
	"syscall"

	"github.com/docker/cli/cli"
)

// usageError is a bad flag value: exit status 125, as docker's own flag
// errors (and cobra's, through cli.FlagErrorFunc) have.
func usageError(err error) error {
	return cli.StatusError{Cause: err, Status: err.Error(), StatusCode: 125}
}

// interruptKey holds the signal that ended a command's context.
type interruptKey struct{}

type interruptSignal struct {
	mu  sync.Mutex
	sig os.Signal
}

// withInterrupt returns a context cancelled by SIGINT or SIGTERM (or by
// the docker CLI, which cancels the plugin's context on Ctrl-C when its
// output is not a terminal), remembering which, for interrupted.
func withInterrupt(parent context.Context) (context.Context, context.CancelFunc) {
	rec := &interruptSignal{}
	ctx, cancel := context.WithCancel(context.WithValue(parent, interruptKey{}, rec))
	sigs := make(chan os.Signal, 1)
	ossignal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			rec.mu.Lock()
			rec.sig = s
			rec.mu.Unlock()
			cancel()
		case <-done:
		}
	}()
	return ctx, func() {
		ossignal.Stop(sigs)
		close(done)
		cancel()
	}
}

// exitProcess ends the process; tests replace it.
var exitProcess = os.Exit

// interrupted ends a command that was interrupted as docker stats does:
// status 130 for Ctrl-C (SIGINT, or the docker CLI cancelling the plugin),
// 143 for SIGTERM, and nothing printed. It returns nil when ctx was not
// cancelled. The plugin framework would print an empty line for an
// empty StatusError, hence the direct exit.
func interrupted(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	code := 130
	if rec, ok := ctx.Value(interruptKey{}).(*interruptSignal); ok {
		rec.mu.Lock()
		if rec.sig == syscall.SIGTERM {
			code = 143
		}
		rec.mu.Unlock()
	}
	exitProcess(code)
	return nil
}
