package e2e

// Figure 5: many WebSocket clients on one streamer. The clients live in
// this test process and speak the wire protocol directly (gorilla over the
// streamer's Unix socket); they read only each stats message's "time", so
// that their own cost stays small beside the streamer's.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/stream"
)

// benchWSDial opens one stream connection to the streamer at socket and sends
// sub.
func benchWSDial(ctx context.Context, socket string, sub stream.Subscription) (*websocket.Conn, error) {
	d := websocket.Dialer{
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "unix", socket)
		},
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   16 << 10,
		WriteBufferSize:  1 << 10,
	}
	c, _, err := d.DialContext(ctx, "ws://docker-live"+stream.StreamPath, nil)
	if err != nil {
		return nil, err
	}
	sub.Protocol = stream.ProtocolVersion
	if err := c.WriteJSON(stream.Request{Type: stream.TypeSubscribe, Subscribe: &sub}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

var (
	benchTypeKey = []byte(`"type":"`)
	benchTimeKey = []byte(`"time":"`)
)

// benchMsgHead reads a message's type and time without decoding the rest: they
// come first in every message the streamer sends.
func benchMsgHead(data []byte) (typ string, at time.Time, ok bool) {
	head := data[:min(len(data), 256)]
	i := bytes.Index(head, benchTypeKey)
	if i < 0 {
		return "", time.Time{}, false
	}
	rest := head[i+len(benchTypeKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", time.Time{}, false
	}
	typ = string(rest[:j])
	k := bytes.Index(head, benchTimeKey)
	if k < 0 {
		return typ, time.Time{}, false
	}
	rest = head[k+len(benchTimeKey):]
	j = bytes.IndexByte(rest, '"')
	if j < 0 {
		return typ, time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return typ, at, err == nil
}

// benchReadFrames reads messages from c into a reused buffer and hands each to
// onMsg with its receive time, until c fails.
func benchReadFrames(c *websocket.Conn, onMsg func(at time.Time, data []byte)) error {
	var buf bytes.Buffer
	for {
		_, r, err := c.NextReader()
		if err != nil {
			return err
		}
		buf.Reset()
		if _, err := io.Copy(&buf, r); err != nil {
			return err
		}
		onMsg(time.Now(), buf.Bytes())
	}
}

func (b *bench) fanout(t *testing.T) {
	sec := b.rep.section(figFanout, "")
	ids := b.fleet.ensure(t, b.sc.counts[1])
	s := b.ensureStreamer(t, b.sc.source)
	b.waitWarm(t, ids)
	sources := benchStatsSources(s)

	type client struct {
		c       *websocket.Conn
		mu      sync.Mutex
		lags    []time.Duration
		batches int
	}
	var measuring atomic.Bool
	clients := make([]*client, b.sc.fanout)
	var readers sync.WaitGroup
	var failed atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	connectStart := time.Now()
	for i := range clients {
		c, err := benchWSDial(ctx, s.socket, stream.Subscription{Topics: []string{stream.TopicStats}})
		if err != nil {
			for _, cl := range clients[:i] {
				cl.c.Close()
			}
			readers.Wait()
			t.Fatalf("client %d of %d: %v", i+1, len(clients), err)
		}
		cl := &client{c: c}
		clients[i] = cl
		readers.Go(func() {
			err := benchReadFrames(c, func(at time.Time, data []byte) {
				typ, sent, ok := benchMsgHead(data)
				if typ != stream.TypeStats || !ok || !measuring.Load() {
					return
				}
				cl.mu.Lock()
				cl.lags = append(cl.lags, at.Sub(sent))
				cl.batches++
				cl.mu.Unlock()
			})
			if measuring.Load() {
				failed.Add(1)
				t.Logf("a fan-out client stopped during the window: %v", err)
			}
		})
	}
	connected := time.Since(connectStart)
	// Let every client get its hello and first batch before measuring.
	time.Sleep(2 * time.Second) // settling time, not a condition

	w := b.sc.fanoutWindow
	strm := newBenchCPUMeter([]int{s.pid}, false)
	rss := benchSampleRSS(s.pid)
	self := benchSelfCPU()
	measuring.Store(true)
	time.Sleep(w) // the measurement window
	measuring.Store(false)
	selfUsed := benchSelfCPU() - self
	streamerCPU := strm.seconds()
	rssPeak, _ := rss.end()
	info, _ := benchHealth(s.socket)
	for _, cl := range clients {
		cl.c.Close()
	}
	readers.Wait()

	var all []time.Duration
	minBatches, maxBatches := 1<<30, 0
	for _, cl := range clients {
		all = append(all, cl.lags...)
		minBatches = min(minBatches, cl.batches)
		maxBatches = max(maxBatches, cl.batches)
	}
	slices.Sort(all)
	if len(all) == 0 {
		t.Fatalf("no stats message reached any of %d clients in %v", len(clients), w)
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d clients lost their connection during the window", n, len(clients))
	}
	// One batch a second, give or take the window's edges.
	if want := int(w.Seconds()) - 1; minBatches < want {
		t.Errorf("a client received only %d stats batches in %v, want at least %d", minBatches, w, want)
	}
	p99 := benchPercentile(all, 0.99)
	sec.ran = true
	sec.add(benchRow{Measure: fmt.Sprintf("stats delivery lag p50 (%d clients, %d messages)", len(clients), len(all)), Ours: benchMS(benchPercentile(all, 0.5))})
	sec.add(benchRow{Measure: "stats delivery lag p99, across clients", Ours: benchMS(p99), Target: "<= 100 ms", Verdict: benchVerdict(p99 <= 100*time.Millisecond)})
	sec.add(benchRow{Measure: "stats delivery lag max", Ours: benchMS(all[len(all)-1])})
	sec.add(benchRow{Measure: "streamer CPU", Ours: benchCPUStr(streamerCPU, w)})
	sec.add(benchRow{Measure: "streamer RSS (peak)", Ours: rssPeak.String()})
	sec.add(benchRow{Measure: "test process (the clients) CPU", Ours: benchCPUStr(selfUsed.Seconds(), w)})
	sec.note("%d WebSocket clients in the test process (gorilla/websocket over the streamer's Unix socket), each subscribed to "+
		"the stats topic; %d running containers streaming stats; %s window after all had connected (in %s). Lag = receive time "+
		"minus the stats message's \"time\" (stamped by the hub when it encodes the batch). Each client got %d to %d batches; "+
		"the streamer reported %v clients. The clients read each message whole but parse only its type and time. "+
		"Stats source (--stats-source %s): %s.",
		len(clients), len(ids), w, connected.Round(time.Millisecond), minBatches, maxBatches, info["clients"], b.sc.source, sources)
	if selfUsed.Seconds() > 0.8*w.Seconds() {
		sec.note("The test process used %.0f%% of a core: the clients, not the streamer, may bound these figures.", 100*selfUsed.Seconds()/w.Seconds())
	}
}
