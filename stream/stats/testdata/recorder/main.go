// Command recorder is the workload inside the containers whose Engine stats
// records became the cgroup v1 fixtures next to it; record.sh drives it.
// It lives under testdata so the go tool ignores it in ./... builds.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: recorder burn | serve PORT | send HOST:PORT")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "burn":
		err = burn()
	case "serve":
		err = serve(arg(2))
	case "send":
		err = send(arg(2))
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "recorder:", err)
		os.Exit(1)
	}
}

func arg(i int) string {
	if len(os.Args) <= i {
		fmt.Fprintln(os.Stderr, "recorder: missing argument")
		os.Exit(2)
	}
	return os.Args[i]
}

// held keeps the touched pages reachable so the memory stays charged to the
// container's cgroup for the whole recording.
var held []byte

// burn keeps one CPU busy, holds 48 MiB of touched anonymous memory, and
// writes a synced file and reads it back past the page cache so both blkio
// counters are non-zero (the kernel counts them only for a cgroup with a
// throttle limit, which record.sh sets).
func burn() error {
	held = make([]byte, 48<<20)
	for i := range held {
		held[i] = byte(i)
	}
	f, err := os.Create("/scratch.bin")
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for range 8 {
		if _, err := f.Write(buf); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := readDirect("/scratch.bin", 4<<20); err != nil {
		return err
	}
	x := uint64(1)
	for {
		for range 1 << 20 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if x == 0 {
			fmt.Println(held[0])
		}
	}
}

// readDirect reads n bytes of path with O_DIRECT, which needs a buffer
// aligned to the logical block size.
func readDirect(path string, n int) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	const align = 4096
	raw := make([]byte, (1<<20)+align)
	off := align - int(uintptr(unsafe.Pointer(&raw[0]))%align)
	buf := raw[off%align:][:1<<20]
	for done := 0; done < n; done += len(buf) {
		if _, err := io.ReadFull(f, buf); err != nil {
			return err
		}
	}
	return nil
}

// serve echoes every connection back so both peers count rx and tx.
func serve(port string) error {
	l, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}

// send streams about 6 MB/s to the server and drains the echo.
func send(addr string) error {
	var c net.Conn
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err = net.Dial("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	go func() { _, _ = io.Copy(io.Discard, c) }()
	buf := make([]byte, 64<<10)
	for {
		if _, err := c.Write(buf); err != nil {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
