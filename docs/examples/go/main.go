//go:build ignore

// Command main is a small docker live client: it keeps a table of containers
// from the stream over the Unix socket and resumes after a lost connection.
//
//	go run docs/examples/go/main.go -socket "$(docker live status --format json | jq -r .socket)" [-history 5m]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"net"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/stream"
)

func main() {
	socket := flag.String("socket", "", "the streamer's live.sock (see docker live status --format json)")
	label := flag.String("label", "", "only containers with this label (key or key=value)")
	runFor := flag.Duration("for", 0, "stop after this long (0: never)")
	history := flag.String("history", "", `ask for the stats history first: "all" or a duration such as 2m`)
	flag.Parse()
	if *socket == "" {
		log.Fatal("-socket is required")
	}
	// Engine messages come whatever the topics; events are left out here.
	sub := stream.Subscription{
		Protocol: stream.ProtocolVersion,
		Topics:   []string{stream.TopicContainers, stream.TopicStats},
	}
	if *label != "" {
		sub.Filter.Labels = []string{*label}
	}
	switch *history {
	case "":
	case "all":
		sub.History = stream.HistoryRequest{Want: true}
	default:
		d, err := time.ParseDuration(*history)
		if err != nil {
			log.Fatalf("-history: %v", err)
		}
		sub.History = stream.HistoryRequest{Want: d > 0, Span: d}
	}
	var deadline time.Time
	if *runFor > 0 {
		deadline = time.Now().Add(*runFor)
	}

	containers := map[string]stream.Container{}
	var pos *stream.Position // the last sequenced message applied
	var statsAt time.Time    // the time of the newest stats message applied
	wait := 100 * time.Millisecond
	for {
		// On a resume, only the samples after the newest stats we hold.
		sub.HistorySince = statsAt
		err := session(*socket, sub, pos, deadline, func(m *stream.Message) {
			switch m.Type {
			case stream.TypeHello:
				fmt.Printf("hello epoch=%s seq=%d resumed=%v engine=%s\n", m.Epoch, m.Seq, m.Hello.Resumed, m.Hello.Engine.State)
				wait = 100 * time.Millisecond // live again: back off from the start
				if m.Hello.Resumed {
					return // the replay continues from pos
				}
				pos = &stream.Position{Epoch: m.Epoch, Seq: m.Seq}
			case stream.TypeSnapshot:
				clear(containers) // replace, never merge
				for _, c := range m.Snapshot.Containers {
					containers[c.ID] = c
				}
				fmt.Printf("snapshot resync=%v containers=%d\n", m.Snapshot.Resync, len(containers))
			case stream.TypeContainer:
				containers[m.Container.ID] = *m.Container
				fmt.Printf("seq=%d container %s %s\n", m.Seq, m.Container.Name, m.Container.State)
			case stream.TypeRemove:
				delete(containers, m.Remove.ID)
				fmt.Printf("seq=%d remove %s\n", m.Seq, m.Remove.Name)
			case stream.TypeEngine:
				fmt.Printf("seq=%d engine %s %s\n", m.Seq, m.Engine.State, m.Engine.Error)
			case stream.TypeHistory:
				for _, h := range m.History.Containers {
					lo, hi, sum, n := math.Inf(1), math.Inf(-1), 0.0, 0
					for _, v := range h.CPUPercent {
						if !math.IsNaN(v) { // NaN: no sample at that step
							lo, hi, sum, n = min(lo, v), max(hi, v), sum+v, n+1
						}
					}
					if n > 0 {
						fmt.Printf("history %s %d samples from %s every %s: cpu min=%.1f%% avg=%.1f%% max=%.1f%%\n",
							containers[h.ID].Name, n, h.Start.Format(time.TimeOnly), m.History.Step, lo, sum/float64(n), hi)
					}
				}
			case stream.TypeStats:
				statsAt = m.Time
				for _, s := range m.Stats {
					fmt.Printf("stats %s cpu=%.1f%% mem=%d\n", containers[s.ID].Name, s.CPUPercent, s.MemUsage)
				}
			}
			switch m.Type { // stats and a resumed hello never move the position
			case stream.TypeSnapshot, stream.TypeContainer, stream.TypeRemove, stream.TypeEngine:
				pos = &stream.Position{Epoch: m.Epoch, Seq: m.Seq}
			}
		})
		if !deadline.IsZero() && time.Now().After(deadline) {
			return
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) && (ce.Code == stream.CloseBadRequest || ce.Code == stream.CloseBadVersion) {
			log.Fatalf("refused: %s", ce.Text) // retrying cannot help
		}
		log.Printf("disconnected (%v); retrying in %s", err, wait)
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
}

// session runs one connection until it fails or the deadline passes.
func session(socket string, sub stream.Subscription, since *stream.Position, deadline time.Time, apply func(*stream.Message)) error {
	dialer := websocket.Dialer{
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
		HandshakeTimeout: 2 * time.Second,
	}
	// The host part is ignored on a Unix socket.
	ws, _, err := dialer.Dial("ws://docker-live"+stream.StreamPath, nil)
	if err != nil {
		return err
	}
	defer ws.Close()
	if !deadline.IsZero() {
		_ = ws.SetReadDeadline(deadline)
	}
	sub.Since = since
	if err := ws.WriteJSON(stream.Request{Type: stream.TypeSubscribe, Subscribe: &sub}); err != nil {
		return err
	}
	for {
		var m stream.Message
		if err := ws.ReadJSON(&m); err != nil {
			return err
		}
		if m.Type == stream.TypeError {
			log.Printf("error %s: %s", m.Error.Code, m.Error.Message) // a close frame follows
			continue
		}
		apply(&m)
	}
}
