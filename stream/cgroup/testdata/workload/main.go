// Command workload runs inside the containers the cgroup package's live
// test and record.sh start: it makes every counter the direct reader and
// the Engine's stats API report move by a known amount. It lives under
// testdata so ./... builds skip it; build it with CGO_ENABLED=0 for a
// FROM-scratch image.
//
//	workload work MEM_MIB DISK_MIB   hold MEM_MIB of touched memory, write
//	                                 DISK_MIB and read half of it back, both
//	                                 past the page cache, echo TCP on :9000,
//	                                 then keep one CPU busy
//	workload send HOST:PORT BYTES    send BYTES to the echo server, read them
//	                                 back, print "sent", then idle
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	var err error
	switch {
	case len(os.Args) == 4 && os.Args[1] == "work":
		err = work(atoi(os.Args[2]), atoi(os.Args[3]))
	case len(os.Args) == 4 && os.Args[1] == "send":
		err = send(os.Args[2], atoi(os.Args[3]))
	default:
		err = fmt.Errorf("usage: workload work MEM_MIB DISK_MIB | send HOST:PORT BYTES")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "workload:", err)
		os.Exit(1)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "workload: %q is not a count\n", s)
		os.Exit(2)
	}
	return n
}

// mem stays reachable so its pages stay charged to the container.
var mem []byte

func work(memMiB, diskMiB int) error {
	mem = make([]byte, memMiB<<20)
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1
	}
	if diskMiB > 0 {
		if err := disk("/workload.bin", diskMiB); err != nil {
			return err
		}
	}
	l, err := net.Listen("tcp", ":9000")
	if err != nil {
		return err
	}
	go echo(l)
	fmt.Println("working")
	x := uint64(1)
	for {
		for range 1 << 20 {
			x = x*2862933555777941757 + 3037000493
		}
		if x == 0 {
			fmt.Println(mem[0])
		}
	}
}

// disk writes n MiB and reads half of it back, both with O_DIRECT, so that
// the blkio write and read counters move for this container. Buffered
// writes would count for whoever writes the pages back: on a busy host
// another process's sync (an overlay unmount, say) often does that before
// our fsync, and the container then shows no block writes at all. A
// page-cache hit on the read would count nothing either.
func disk(path string, n int) error {
	// O_DIRECT wants a block-aligned buffer.
	raw := make([]byte, 2<<20)
	skip := (4096 - int(uintptr(unsafe.Pointer(&raw[0]))%4096)) % 4096
	buf := raw[skip : skip+1<<20]
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_DIRECT, 0o644)
	if err != nil {
		return err
	}
	for range n {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	g, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return err
	}
	defer g.Close()
	for range n / 2 {
		if _, err := io.ReadFull(g, buf); err != nil {
			return err
		}
	}
	return nil
}

func echo(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}

func send(addr string, n int) error {
	var c net.Conn
	var err error
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c, err = net.Dial("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.CopyN(io.Discard, c, int64(n))
		done <- err
	}()
	buf := make([]byte, 64<<10)
	for left := n; left > 0; {
		k := min(left, len(buf))
		if _, err := c.Write(buf[:k]); err != nil {
			return err
		}
		left -= k
	}
	if err := <-done; err != nil {
		return err
	}
	fmt.Println("sent")
	for { // idle, keeping the container and its counters as they are
		time.Sleep(time.Hour)
	}
}
