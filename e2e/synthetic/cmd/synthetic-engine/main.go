// Command synthetic-engine serves the synthetic Engine API of the benchmarks
// on its own, for profiling the streamer by hand:
//
//	go run ./e2e/synthetic/cmd/synthetic-engine -containers 5000 -rate 10000 &
//	DOCKER_HOST=tcp://127.0.0.1:PORT DOCKER_CONFIG=$(mktemp -d) docker-live live serve
//
// It prints the DOCKER_HOST to use, then serves until interrupted.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/docker-live/docker-live/e2e/synthetic"
)

func main() {
	containers := flag.Int("containers", 5000, "containers the Engine has")
	running := flag.Int("running", 200, "how many of them run and stream stats (-1: none)")
	rate := flag.Int("rate", 10000, "container events per second on /events")
	interval := flag.Duration("stats-interval", time.Second, "time between stats records")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "synthetic-engine: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	e, err := synthetic.Start(synthetic.Config{Containers: *containers, Running: *running, EventRate: *rate, StatsInterval: *interval})
	if err != nil {
		fmt.Fprintf(os.Stderr, "synthetic-engine: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("DOCKER_HOST=%s\n", e.Host())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	_ = e.Close()
	fmt.Fprintf(os.Stderr, "synthetic-engine: sent %d events and %d stats records; requests %v\n", e.EventsSent(), e.StatsSent(), e.Requests())
}
