//go:build !windows

package main

import (
	"os"
	"syscall"

	"github.com/docker-live/docker-live/streamer"
)

func dupFD(f *os.File) (int, error) { return syscall.Dup(int(f.Fd())) }

func DefaultOptionsForTest() streamer.Options { return streamer.DefaultOptions() }
