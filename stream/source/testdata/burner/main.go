// Command burner is the workload of the source package's integration test,
// built static and run in a FROM scratch image. It lives under testdata so
// the go tool leaves it out of ./... builds.
//
//	burner burn   keep about half of one CPU busy
//	burner sleep  do nothing
//
// Either exits with status 3 on SIGTERM, so a test can tell its own stop
// from a kill.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-term
		os.Exit(3)
	}()
	mode := "sleep"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "burn":
		burn()
	case "sleep":
		select {}
	default:
		fmt.Fprintf(os.Stderr, "burner: unknown mode %q (want burn or sleep)\n", mode)
		os.Exit(2)
	}
}

// burn keeps its own CPU time at half the wall time, measured over windows
// of two seconds, so it reads as 50 % in docker stats also when other work
// on the host takes CPU from it now and then.
func burn() {
	x := uint64(1)
	for {
		start, used := time.Now(), cpuTime()
		for time.Since(start) < 2*time.Second {
			if cpuTime()-used < time.Since(start)/2 {
				for range 100000 {
					x = x*6364136223846793005 + 1442695040888963407
				}
				continue
			}
			time.Sleep(2 * time.Millisecond)
		}
		if x == 0 {
			fmt.Println(x) // keeps the loop from being optimised away
		}
	}
}

// cpuTime is the CPU time the process used so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
