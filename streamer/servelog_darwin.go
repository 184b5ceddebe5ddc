package streamer

import (
	"os"
	"syscall"
)

// redirectStdio points file descriptors 1 and 2 at f (macOS has no dup3).
func redirectStdio(f *os.File) {
	_ = syscall.Dup2(int(f.Fd()), 1)
	_ = syscall.Dup2(int(f.Fd()), 2)
}
