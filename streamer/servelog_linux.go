package streamer

import (
	"os"
	"syscall"
)

// redirectStdio points file descriptors 1 and 2 at f (linux/arm64 has no
// dup2, so dup3).
func redirectStdio(f *os.File) {
	_ = syscall.Dup3(int(f.Fd()), 1, 0)
	_ = syscall.Dup3(int(f.Fd()), 2, 0)
}
