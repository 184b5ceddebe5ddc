// Command helper is the only program in the e2e test image (FROM scratch, so
// there is no shell). One static binary plays every workload the end-to-end
// tests need, so that a single small image serves them all.
//
// Usage:
//
//	helper [--health healthy|unhealthy] MODE [flags] [MODE [flags]]...
//	helper health                     # the image's HEALTHCHECK
//	helper flip healthy|unhealthy     # via docker exec: change what health reports
//
// Long-running modes may be chained and then run together, e.g.
//
//	helper cpu --share 0.5 mem --mb 64 serve --port 9000
//
// Modes:
//
//	sleep                                 do nothing
//	cpu   --share F                       burn F CPUs (0.5 = half of one core)
//	mem   --mb N [--ramp D]               allocate and touch N MiB, spread over D
//	serve --port P                        accept TCP connections, discard what arrives
//	send  --to HOST:PORT --mbps N         send N megabits/s (0 = unlimited), redialling
//	disk  --mb N --path FILE [--every D]  write N MiB durably, again every D if set
//	log   --every D [--msg S]             print a numbered line to stdout every D
//	exit  --code N [--after D]            exit with code N after D
//
// The process keeps running until it gets SIGTERM or SIGINT (then it exits 0
// at once, so docker stop is fast) or an exit mode fires. A failing mode
// prints one line to stderr and exits 2.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// healthFile exists while the container should report healthy; the image
// has no /tmp, so it is created on demand (a --read-only container needs
// --tmpfs /tmp).
const healthFile = "/tmp/healthy"

func main() {
	// First of all: PID 1 ignores signals it has no handler for, so docker
	// stop would wait for its timeout, and a SIGTERM that arrives after the
	// Go runtime's own handler is in place but before this one makes the
	// runtime exit 2. On a starved host the gap to the end of set-up is long
	// enough for both. Tests that stop a helper wait for it to be healthy,
	// which setHealth below makes it only after this line.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	log := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "helper: "+format+"\n", args...)
	}
	global := flag.NewFlagSet("helper", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	health := global.String("health", "healthy", "initial health state: healthy or unhealthy")
	if err := global.Parse(os.Args[1:]); err != nil {
		log("%v", err)
		os.Exit(2)
	}
	args := global.Args()
	if len(args) == 0 {
		args = []string{"sleep"}
	}
	switch args[0] {
	case "health":
		if _, err := os.Stat(healthFile); err != nil {
			fmt.Println("unhealthy")
			os.Exit(1)
		}
		fmt.Println("healthy")
		return
	case "flip":
		if len(args) != 2 {
			log("usage: flip healthy|unhealthy")
			os.Exit(2)
		}
		if err := setHealth(args[1]); err != nil {
			log("%v", err)
			os.Exit(2)
		}
		return
	}
	modes, err := parseModes(args)
	if err != nil {
		log("%v", err)
		os.Exit(2)
	}
	if err := setHealth(*health); err != nil {
		log("%v", err)
		os.Exit(2)
	}

	exitc := make(chan int, 1)
	errc := make(chan error, len(modes))
	for _, m := range modes {
		go func() {
			if err := m(exitc); err != nil {
				errc <- err
			}
		}()
	}
	select {
	case s := <-sigs:
		log("got %v, exiting", s)
		os.Exit(0)
	case code := <-exitc:
		os.Exit(code)
	case err := <-errc:
		log("%v", err)
		os.Exit(2)
	}
}

// mode runs until the process ends; it may ask for an exit on exitc.
type mode func(exitc chan<- int) error

// parseModes splits args into chained modes: flag parsing stops at the first
// non-flag word, which starts the next mode.
func parseModes(args []string) ([]mode, error) {
	var modes []mode
	for len(args) > 0 {
		name := args[0]
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var m mode
		switch name {
		case "sleep":
			m = func(chan<- int) error { select {} }
		case "cpu":
			share := fs.Float64("share", 1, "CPUs to burn")
			m = func(chan<- int) error { return burnCPU(*share) }
		case "mem":
			mb := fs.Int("mb", 64, "MiB to hold")
			ramp := fs.Duration("ramp", 0, "spread the allocation over this long")
			m = func(chan<- int) error { return holdMemory(*mb, *ramp) }
		case "serve":
			port := fs.Int("port", 9000, "TCP port to listen on")
			m = func(chan<- int) error { return serve(*port) }
		case "send":
			to := fs.String("to", "", "HOST:PORT to send to")
			mbps := fs.Float64("mbps", 8, "megabits per second, 0 = unlimited")
			m = func(chan<- int) error { return send(*to, *mbps) }
		case "disk":
			mb := fs.Int("mb", 50, "MiB to write")
			path := fs.String("path", "/data/x", "file to write")
			every := fs.Duration("every", 0, "write again this often (0 = once)")
			m = func(chan<- int) error { return writeDisk(*path, *mb, *every) }
		case "log":
			every := fs.Duration("every", time.Second, "interval between lines")
			msg := fs.String("msg", "tick", "text of each line")
			m = func(chan<- int) error { return logLines(*every, *msg) }
		case "exit":
			code := fs.Int("code", 0, "exit code")
			after := fs.Duration("after", 0, "delay before exiting")
			m = func(exitc chan<- int) error {
				time.Sleep(*after)
				exitc <- *code
				return nil
			}
		default:
			return nil, fmt.Errorf("unknown mode %q (want sleep, cpu, mem, serve, send, disk, log, exit, health or flip)", name)
		}
		if err := fs.Parse(args[1:]); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if err := validate(name, fs); err != nil {
			return nil, err
		}
		modes = append(modes, m)
		args = fs.Args()
	}
	return modes, nil
}

func validate(name string, fs *flag.FlagSet) error {
	num := func(flagName string) float64 {
		v, _ := strconv.ParseFloat(fs.Lookup(flagName).Value.String(), 64)
		return v
	}
	switch name {
	case "cpu":
		if s := num("share"); s <= 0 || s > 64 {
			return fmt.Errorf("cpu: --share must be in (0, 64], got %v", s)
		}
	case "mem", "disk":
		if num("mb") < 1 {
			return fmt.Errorf("%s: --mb must be at least 1", name)
		}
	case "send":
		if fs.Lookup("to").Value.String() == "" {
			return errors.New("send: --to HOST:PORT is required")
		}
		if num("mbps") < 0 {
			return errors.New("send: --mbps must not be negative")
		}
	case "log":
		if d, _ := time.ParseDuration(fs.Lookup("every").Value.String()); d <= 0 {
			return errors.New("log: --every must be positive")
		}
	case "exit":
		if c := num("code"); c < 0 || c > 255 {
			return fmt.Errorf("exit: --code must be in [0, 255], got %v", c)
		}
	}
	return nil
}

func setHealth(state string) error {
	switch state {
	case "healthy":
		if err := os.MkdirAll("/tmp", 0o1777); err != nil {
			return err
		}
		return os.WriteFile(healthFile, []byte("ok\n"), 0o644)
	case "unhealthy":
		if err := os.Remove(healthFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return fmt.Errorf("health state must be healthy or unhealthy, got %q", state)
}

// burnCPU spreads share over ceil(share) threads. Each thread measures its
// own CPU time, so time lost to a busy host is made up and the Engine sees
// close to share CPUs.
func burnCPU(share float64) error {
	n := int(math.Ceil(share))
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), n+1))
	for range n {
		go burnThread(share / float64(n))
	}
	select {}
}

func burnThread(share float64) {
	runtime.LockOSThread()
	const period = 20 * time.Millisecond
	// Catch up on at most one window of debt, so a stalled thread does not
	// burn a full core for long afterwards.
	const window = time.Second
	start, used0 := time.Now(), threadCPU()
	for {
		elapsed := time.Since(start)
		if elapsed > window {
			start, used0 = time.Now(), threadCPU()
			continue
		}
		if debt := time.Duration(share*float64(elapsed)) - (threadCPU() - used0); debt > 0 {
			spin(min(debt, period))
		} else {
			time.Sleep(min(-time.Duration(float64(debt)/share), period))
		}
	}
}

func spin(d time.Duration) {
	end := time.Now().Add(d)
	x := 1
	for time.Now().Before(end) {
		for i := range 1000 {
			x = x*31 + i
		}
	}
	sink = x
}

var sink int

func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// held keeps the allocations reachable for the life of the process.
var held [][]byte

func holdMemory(mb int, ramp time.Duration) error {
	step := ramp / time.Duration(mb)
	for range mb {
		b := make([]byte, 1<<20)
		// Writing every page makes the kernel back it, so the cgroup counts it.
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		held = append(held, b)
		if step > 0 {
			time.Sleep(step)
		}
	}
	fmt.Printf("holding %d MiB\n", mb)
	select {}
}

func serve(port int) error {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}()
	}
}

// send keeps redialling, so it may start before its peer is listening.
func send(to string, mbps float64) error {
	buf := make([]byte, 32<<10)
	for i := range buf {
		buf[i] = byte(i)
	}
	bytesPerSec := mbps * 1e6 / 8
	for {
		c, err := net.DialTimeout("tcp", to, 2*time.Second)
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		fmt.Printf("connected to %s\n", to)
		start, sent := time.Now(), 0.0
		for {
			if bytesPerSec > 0 {
				due := start.Add(time.Duration(sent / bytesPerSec * float64(time.Second)))
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				}
			}
			n, err := c.Write(buf)
			sent += float64(n)
			if err != nil {
				break
			}
		}
		c.Close()
	}
}

// writeDisk writes mb MiB that are on the disk before it says so. The bytes
// must also reach the disk from this process: cgroup v1 charges block I/O to
// the cgroup that submits it, and pages the kernel's flusher writes back
// (which it does early on a busy host, whose other writers fill the dirty
// limit) count for the root cgroup, not for this container. A final fsync
// alone then finds little left to write: a test saw 4.2 MB of 50 MiB.
func writeDisk(path string, mb int, every time.Duration) error {
	for {
		if err := writeFile(path, mb); err != nil {
			return err
		}
		fmt.Printf("wrote %d MiB to %s\n", mb, path)
		if every <= 0 {
			select {}
		}
		time.Sleep(every)
	}
}

// writeFile writes with O_DIRECT, so that every write goes to the disk from
// this process and no page waits in the cache. Where the filesystem refuses
// O_DIRECT (EINVAL: tmpfs on older kernels, some overlay set-ups) it writes
// through the cache and syncs each MiB before the next, which leaves the
// flusher at most one MiB to take.
func writeFile(path string, mb int) error {
	const flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	direct := true
	f, err := os.OpenFile(path, flags|syscall.O_DIRECT, 0o644)
	if errors.Is(err, syscall.EINVAL) {
		direct = false
		f, err = os.OpenFile(path, flags, 0o644)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	buf := alignedBuffer(1<<20, 4096)
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	for range mb {
		if _, err := f.Write(buf); err != nil {
			return err
		}
		if !direct {
			if err := syscall.Fdatasync(int(f.Fd())); err != nil {
				return err
			}
		}
	}
	// Metadata (the file's size) too, so that "wrote" means durable.
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// alignedBuffer satisfies O_DIRECT, which needs block-aligned memory.
func alignedBuffer(size, align int) []byte {
	b := make([]byte, size+align)
	off := 0
	if rem := int(uintptr(unsafe.Pointer(&b[0])) % uintptr(align)); rem != 0 {
		off = align - rem
	}
	return b[off : off+size]
}

func logLines(every time.Duration, msg string) error {
	for i := 1; ; i++ {
		fmt.Printf("%s %d\n", msg, i)
		time.Sleep(every)
	}
}
