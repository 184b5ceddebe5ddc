package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
	"github.com/docker-live/docker-live/stream/liveclient"
)

// storeCli is a fakeCli with a real context store in a temporary folder.
type storeCli struct {
	*fakeCli
	store   store.Store
	current string
}

func (c *storeCli) ContextStore() store.Store       { return c.store }
func (c *storeCli) CurrentContext() string          { return c.current }
func (c *storeCli) DockerEndpoint() docker.Endpoint { return docker.Endpoint{} }

func newStoreCli(t *testing.T, current string, hosts map[string]string) *storeCli {
	t.Helper()
	s := store.New(t.TempDir(), command.DefaultContextStoreConfig())
	for name, host := range hosts {
		err := s.CreateOrUpdate(store.Metadata{
			Name:      name,
			Metadata:  command.DockerContext{},
			Endpoints: map[string]any{docker.DockerEndpoint: docker.EndpointMeta{Host: host}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return &storeCli{fakeCli: newFakeCli(t), store: s, current: current}
}

func TestResolveContexts(t *testing.T) {
	c := newStoreCli(t, "alpha", map[string]string{"alpha": "unix:///a.sock", "prod": "tcp://10.0.0.5:2376", "beta": "unix:///b.sock"})

	got, err := resolveContexts(c, "prod, alpha,prod")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].name != "prod" || got[1].name != "alpha" {
		t.Fatalf("prod, alpha,prod resolved to %+v", got)
	}
	if got[1].cli != command.Cli(c) {
		t.Error("the current context is not served by the command's own dockerCli (-H, DOCKER_HOST, TLS flags)")
	}
	prod, ok := got[0].cli.(*contextCli)
	if !ok || got[0].broken != nil {
		t.Fatalf("prod: %T, %v", got[0].cli, got[0].broken)
	}
	if prod.CurrentContext() != "prod" || prod.DockerEndpoint().Host != "tcp://10.0.0.5:2376" || prod.Client() == nil {
		t.Errorf("prod's cli: context %q, host %q", prod.CurrentContext(), prod.DockerEndpoint().Host)
	}
	// Its streamer has its own state folder, keyed as that streamer keys it.
	if pathsFor(prod) == pathsFor(c) {
		t.Errorf("prod's state folder %s", pathsFor(prod).Dir)
	}
	if args := streamerGlobalArgs(prod); !slices.Equal(args[len(args)-2:], []string{"--context", "prod"}) {
		t.Errorf("prod's streamer args %q", args)
	}

	all, err := resolveContexts(c, "all")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range all {
		names = append(names, w.name)
	}
	if !slices.Equal(names, []string{"alpha", "beta", "prod"}) {
		t.Errorf("all = %v, want every context sorted", names)
	}

	for spec, want := range map[string]string{
		"prod,nope":    `unknown context "nope" in --contexts (see 'docker context ls')`,
		"x,prod,y":     `unknown contexts "x", "y" in --contexts`,
		"prod,":        `invalid --contexts "prod,"`,
		"all,prod":     `"all" stands alone`,
		"   ":          `invalid --contexts`,
		"alpha,,alpha": `invalid --contexts`,
	} {
		_, err := resolveContexts(c, spec)
		var st cli.StatusError
		if !errors.As(err, &st) || st.StatusCode != 125 || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line with %q and exit 125", spec, err, want)
		}
	}
}

func TestOtherContextArgs(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{nil, []string{"--context", "b"}},
		{[]string{"--config", "/c", "--context", "a", "-l", "debug"}, []string{"--config", "/c", "-l", "debug", "--context", "b"}},
		{[]string{"-H", "tcp://x:2376", "--tlsverify", "--tlscacert", "/ca.pem", "-D"}, []string{"-D", "--context", "b"}},
		{[]string{"--host=unix:///s", "-c=a", "--tlscert=/c.pem", "-Hunix:///t", "--config=/c"}, []string{"--config=/c", "--context", "b"}},
	} {
		if got := otherContextArgs(tc.in, "b"); !slices.Equal(got, tc.want) {
			t.Errorf("otherContextArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestContextNoticesNameTheContext(t *testing.T) {
	var buf lockedBuffer
	n := contextNotices{w: &buf, name: "prod"}
	n.Write([]byte("docker live: reconnecting: streamer connection lost (EOF)\n"))
	n.Write([]byte("starting the docker live streamer for context \"prod\"...\n"))
	n.Write([]byte("something else\n"))
	want := "docker live: context prod: reconnecting: streamer connection lost (EOF)\n" +
		"starting the docker live streamer for context \"prod\"...\n" +
		"docker live: context prod: something else\n"
	if buf.String() != want {
		t.Errorf("got %q\nwant %q", buf.String(), want)
	}
}

// contextsRig is a --contexts view over feeds the test drives directly, as
// their streamers' messages would: no streamer, no Engine.
type contextsRig struct {
	t     *testing.T
	base  *watchView
	feeds []*contextFeed
	out   lockedBuffer
	err   lockedBuffer
}

func newContextsRig(t *testing.T, opts watchOptions, names ...string) *contextsRig {
	t.Helper()
	if opts.interval == 0 {
		opts.interval = time.Second
	}
	if opts.sort == "" {
		opts.sort = "name"
	}
	base, err := newWatchView(opts, "")
	if err != nil {
		t.Fatal(err)
	}
	r := &contextsRig{t: t, base: base}
	var contexts []watchedContext
	for _, n := range names {
		contexts = append(contexts, watchedContext{name: n})
	}
	r.feeds = newContextFeeds(base, contexts, &r.err, base.format.Kind != output.FormatTable)
	return r
}

func (r *contextsRig) feed(name string) *contextFeed {
	for _, f := range r.feeds {
		if f.name == name {
			return f
		}
	}
	r.t.Fatalf("no feed %q", name)
	return nil
}

// snapshot applies a streamer's snapshot of running containers, each with a sample.
func snapshotOf(now time.Time, cs ...stream.Container) *stream.Message {
	snap := &stream.Snapshot{Engine: stream.EngineStatus{State: stream.EngineConnected}}
	for _, c := range cs {
		c.Stats = &stream.Stats{ID: c.ID, Read: now, CPUPercent: 1.5, MemUsage: 1 << 20, PIDs: 1}
		snap.Containers = append(snap.Containers, c)
	}
	return &stream.Message{Type: stream.TypeSnapshot, Time: now, Snapshot: snap}
}

func (r *contextsRig) waitOut(what string, cond func(string) bool) string {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s := r.out.String(); cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("not within 10s: %s\nstdout:\n%s\nstderr:\n%s", what, r.out.String(), r.err.String())
		}
		time.Sleep(time.Millisecond) // polling a condition the code under test makes true
	}
}

// One table over two contexts: rows of both, sorted together, each with its
// CONTEXT; a status line per context. Then one context goes down and the
// other keeps updating: its change is drawn while the lost one's status
// line says why it shows nothing new.
func TestWatchContextsOneDownOtherUpdates(t *testing.T) {
	r := newContextsRig(t, watchOptions{}, "default", "priv")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- watchContextsLoop(ctx, &r.out, r.base, r.feeds) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watchContextsLoop: %v", err)
		}
	}()
	def, priv := r.feed("default"), r.feed("priv")
	now := time.Now()
	def.state.setConn(liveclient.State{Mode: liveclient.ModeLive})
	priv.state.setConn(liveclient.State{Mode: liveclient.ModeLive})
	_ = def.state.Apply(snapshotOf(now, running("d1", "web"), running("d2", "zeta")))
	_ = priv.state.Apply(snapshotOf(now, running("p1", "mid"), running("d1", "web")))

	frame := r.waitOut("a frame with both contexts", func(s string) bool {
		return strings.Contains(s, "● priv     live  2 containers") && strings.Contains(s, "● default  live  2 containers")
	})
	last := frame[strings.LastIndex(frame, "● default"):]
	var order []string
	for _, l := range strings.Split(last, "\n")[3:] {
		if f := strings.Fields(l); len(f) > 2 {
			order = append(order, f[0]+"/"+f[1])
		}
	}
	// Sorted by name across contexts; the same id in two Engines is two rows.
	if want := []string{"priv/mid", "default/web", "priv/web", "default/zeta"}; !slices.Equal(order, want) {
		t.Fatalf("rows %v, want %v\n%s", order, want, last)
	}

	// priv's Engine goes away (its streamer says so), then its stream ends for good.
	_ = priv.state.Apply(&stream.Message{Type: stream.TypeEngine, Time: now, Engine: &stream.EngineStatus{State: stream.EngineUnavailable, Error: "connection refused"}})
	r.waitOut("priv's Engine unavailable", func(s string) bool {
		return strings.Contains(s, "● priv     engine-unavailable (connection refused)")
	})
	priv.fail(errors.New("the stream ended"))
	// default goes on: a pause is drawn at once.
	paused := running("d2", "zeta")
	paused.State = "paused"
	_ = def.state.Apply(&stream.Message{Type: stream.TypeContainer, Time: now, Container: &paused})
	frame = r.waitOut("default's pause after priv was lost", func(s string) bool {
		return strings.Contains(s, "default   zeta   paused")
	})
	if !strings.Contains(frame[strings.LastIndex(frame, "● default"):], "● priv     engine-unavailable (the stream ended)") {
		t.Errorf("the last frame does not say why priv is lost:\n%s", frame)
	}
}

// NDJSON over two contexts: each line carries its context; a change in one
// context writes that context's line only, and the same id in two contexts
// is two containers. A third context that never answers (its dial hangs)
// holds none of it up.
func TestWatchContextsJSONLinesByContext(t *testing.T) {
	r := newContextsRig(t, watchOptions{format: "json", all: true}, "a", "b", "hung")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- watchContextsLoop(ctx, &r.out, r.base, r.feeds) }()
	defer func() { cancel(); <-done }()
	now := time.Now()
	_ = r.feed("a").state.Apply(snapshotOf(now, running("x1", "web")))
	_ = r.feed("b").state.Apply(snapshotOf(now, running("x1", "web")))
	r.waitOut("both contexts' web", func(s string) bool {
		return strings.Contains(s, `"context":"a","id":"x1"`) && strings.Contains(s, `"context":"b","id":"x1"`)
	})
	before := strings.Count(r.out.String(), "\n")
	stopped := running("x1", "web")
	stopped.State = "exited"
	_ = r.feed("b").state.Apply(&stream.Message{Type: stream.TypeContainer, Time: now, Container: &stopped})
	out := r.waitOut("b's exit", func(s string) bool { return strings.Contains(s, `"state":"exited"`) })
	lines := strings.Split(strings.TrimSpace(out), "\n")[before:]
	for _, l := range lines {
		var row output.JSONRow
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if row.Context != "b" {
			t.Errorf("a change in b wrote a line of %q: %s", row.Context, l)
		}
	}
}

// --no-stream over three contexts: what the reachable ones have is printed
// in one table; the unreachable one is named in the error (exit 1), and
// waiting for it does not delay the others' answer beyond its own failure.
func TestWatchContextsOncePartial(t *testing.T) {
	r := newContextsRig(t, watchOptions{noStream: true}, "default", "dead", "priv")
	now := time.Now()
	run := func(ctx context.Context, f *contextFeed) error {
		switch f.name {
		case "dead":
			return errors.New("Cannot connect to the Docker daemon at unix:///dead.sock")
		case "default":
			_ = f.state.Apply(snapshotOf(now, running("d1", "web")))
		case "priv":
			_ = f.state.Apply(snapshotOf(now, running("p1", "db")))
		}
		<-ctx.Done()
		return nil
	}
	start := time.Now()
	err := watchContextsOnce(context.Background(), &r.out, r.base, r.feeds, run)
	if err == nil || err.Error() != "context dead: Cannot connect to the Docker daemon at unix:///dead.sock" {
		t.Fatalf("err = %v, want the dead context named", err)
	}
	var st cli.StatusError
	if errors.As(err, &st) {
		t.Errorf("exit status %d: an unreachable context is not a usage error", st.StatusCode)
	}
	out := r.out.String()
	for _, want := range []string{"CONTEXT   NAME", "\ndefault   web ", "\npriv      db "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "dead") {
		t.Errorf("the dead context has rows:\n%s", out)
	}
	if took := time.Since(start); took > noStreamWait {
		t.Errorf("took %s: ready contexts were held up", took)
	}

	// CONTAINER arguments are looked for in every context.
	r = newContextsRig(t, watchOptions{noStream: true, containers: []string{"db", "nope"}}, "default", "priv")
	err = watchContextsOnce(context.Background(), &r.out, r.base, r.feeds, func(ctx context.Context, f *contextFeed) error {
		if f.name == "priv" {
			_ = f.state.Apply(snapshotOf(now, running("p1", "db")))
		} else {
			_ = f.state.Apply(snapshotOf(now))
		}
		<-ctx.Done()
		return nil
	})
	if err == nil || err.Error() != "No such container: nope" {
		t.Errorf("err = %v, want only nope missing", err)
	}
	if !strings.Contains(r.out.String(), "priv      db ") {
		t.Errorf("db of priv not shown:\n%s", r.out.String())
	}
}

// A streamer that answers before its Engine's first list says "not
// connected yet": --no-stream waits for the list instead of failing.
func TestNoStreamWaitsForANewStreamersEngine(t *testing.T) {
	if got := hub.New(hub.Config{}).Info().Engine; got != engineNotConnectedYet {
		t.Fatalf("a new hub's Engine status is %+v; engineNotConnectedYet must match it", got)
	}
	wv, err := newWatchView(watchOptions{noStream: true, interval: time.Second, sort: "name"}, "default")
	if err != nil {
		t.Fatal(err)
	}
	state := newWatchState()
	state.setConn(liveclient.State{Mode: liveclient.ModeLive})
	notYet := snapshotOf(time.Now())
	notYet.Snapshot.Engine = engineNotConnectedYet
	_ = state.Apply(notYet)
	done := make(chan error, 1)
	var got view
	go func() {
		var err error
		got, _, err = awaitOnce(context.Background(), wv, state, make(chan error))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("awaitOnce answered before the Engine did: %v", err)
	case <-time.After(100 * time.Millisecond): // long enough to see it did not answer at once
	}
	// The streamer's source sends the list before "connected" (see
	// source.Source), so the wait ends with every container there.
	c1 := running("c1", "web")
	_ = state.Apply(&stream.Message{Type: stream.TypeContainer, Time: time.Now(), Container: &c1})
	_ = state.Apply(&stream.Message{Type: stream.TypeEngine, Time: time.Now(), Engine: &stream.EngineStatus{State: stream.EngineConnected}})
	if err := <-done; err != nil || len(got.containers) != 1 {
		t.Fatalf("awaitOnce after the Engine's list: %v, %d containers", err, len(got.containers))
	}

	// A streamer whose Engine went away says why, and that is final.
	state = newWatchState()
	state.setConn(liveclient.State{Mode: liveclient.ModeLive})
	gone := snapshotOf(time.Now())
	gone.Snapshot.Engine = stream.EngineStatus{State: stream.EngineUnavailable, Error: "connection refused"}
	_ = state.Apply(gone)
	if _, _, err := awaitOnce(context.Background(), wv, state, make(chan error)); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("awaitOnce with the Engine gone: %v", err)
	}
}
