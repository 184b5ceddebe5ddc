package streamer

import (
	"os"

	"golang.org/x/sys/windows"
)

// redirectStdio makes f the standard output and error handles, which a
// panic's trace and a child inherit.
func redirectStdio(f *os.File) {
	_ = windows.SetStdHandle(windows.STD_OUTPUT_HANDLE, windows.Handle(f.Fd()))
	_ = windows.SetStdHandle(windows.STD_ERROR_HANDLE, windows.Handle(f.Fd()))
}
