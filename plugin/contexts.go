package plugin

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
	"github.com/moby/moby/client"
)

// allContexts is the --contexts value that names every context in the store.
const allContexts = "all"

// contextCli is the command's dockerCli seen from another Docker context:
// the name, the endpoint and the API client are that context's; the I/O
// streams, the config and the context store are the command's own. What
// finds or starts a streamer (streamerDialer, pathsFor, startDetached), the
// Engine check and the polling fallback take a command.Cli, so they serve
// any context through this without knowing about several.
type contextCli struct {
	command.Cli
	name     string
	endpoint docker.Endpoint
	client   client.APIClient
	// globals are the global docker flags of a streamer started for this
	// context (streamerGlobalArgs).
	globals []string
}

func (c *contextCli) CurrentContext() string          { return c.name }
func (c *contextCli) DockerEndpoint() docker.Endpoint { return c.endpoint }
func (c *contextCli) Client() client.APIClient        { return c.client }

// watchedContext is one context of a --contexts view: a command.Cli that
// serves it, or why it cannot be used at all (a context whose endpoint or
// TLS files are broken is shown as unavailable, not a reason to stop
// watching the others).
type watchedContext struct {
	name   string
	cli    command.Cli
	broken error
}

// parseContextNames splits a --contexts value: names separated by commas,
// or "all". Blank and repeated names are usage errors.
func parseContextNames(spec string) ([]string, error) {
	if strings.TrimSpace(spec) == allContexts {
		return []string{allContexts}, nil
	}
	var names []string
	for _, n := range strings.Split(spec, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return nil, usageError(fmt.Errorf("invalid --contexts %q: give context names separated by commas, or %q", spec, allContexts))
		}
		if n == allContexts {
			return nil, usageError(fmt.Errorf("invalid --contexts %q: %q stands alone", spec, allContexts))
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, nil
}

// resolveContexts turns --contexts into the contexts to watch, in the order
// given ("all": the store's, sorted by name). The current context is served
// by dockerCli itself, so that `--contexts <current>` is today's view (with
// -H, DOCKER_HOST and the TLS flags as given); every other one by a
// contextCli built from the context store. A name the store does not know
// is a usage error (exit 125) that names every such name.
func resolveContexts(dockerCli command.Cli, spec string) ([]watchedContext, error) {
	names, err := parseContextNames(spec)
	if err != nil {
		return nil, err
	}
	known, err := store.Names(dockerCli.ContextStore())
	if err != nil {
		return nil, fmt.Errorf("cannot list the Docker contexts: %v", err)
	}
	if names[0] == allContexts {
		names = slices.Sorted(slices.Values(known))
	}
	var unknown []string
	for _, n := range names {
		if !slices.Contains(known, n) {
			unknown = append(unknown, fmt.Sprintf("%q", n))
		}
	}
	switch len(unknown) {
	case 0:
	case 1:
		return nil, usageError(fmt.Errorf("unknown context %s in --contexts (see 'docker context ls')", unknown[0]))
	default:
		return nil, usageError(fmt.Errorf("unknown contexts %s in --contexts (see 'docker context ls')", strings.Join(unknown, ", ")))
	}
	out := make([]watchedContext, 0, len(names))
	for _, n := range names {
		if n == dockerCli.CurrentContext() {
			out = append(out, watchedContext{name: n, cli: dockerCli})
			continue
		}
		c, err := newContextCli(dockerCli, n, os.Args[1:])
		out = append(out, watchedContext{name: n, cli: c, broken: err})
	}
	return out, nil
}

// newContextCli reads context name's Docker endpoint from the store and
// makes an API client for it (the polling fallback, the Engine check, event
// replays). The client does not connect until used.
func newContextCli(dockerCli command.Cli, name string, args []string) (*contextCli, error) {
	c := &contextCli{Cli: dockerCli, name: name, globals: otherContextArgs(globalArgs(args), name)}
	meta, err := dockerCli.ContextStore().GetMetadata(name)
	if err != nil {
		return c, fmt.Errorf("cannot read the context: %v", oneLine(err))
	}
	epMeta, err := docker.EndpointFromContext(meta)
	if err != nil {
		return c, fmt.Errorf("cannot use the context: %v", err)
	}
	ep, err := docker.WithTLSData(dockerCli.ContextStore(), name, epMeta)
	if err != nil {
		return c, fmt.Errorf("cannot read the context's TLS files: %v", oneLine(err))
	}
	c.endpoint = ep
	opts, err := ep.ClientOpts()
	if err != nil {
		return c, fmt.Errorf("cannot use the context's endpoint %s: %v", ep.Host, oneLine(err))
	}
	if c.client, err = client.New(append(opts, client.WithUserAgent("docker-live"))...); err != nil {
		return c, fmt.Errorf("cannot use the context's endpoint %s: %v", ep.Host, oneLine(err))
	}
	return c, nil
}

// otherContextArgs are the global flags of a streamer for context name:
// the command's own (say --config or --log-level) without those that pick
// the current context's endpoint (--context, -H and the TLS files, which
// belong to -H), then --context name.
func otherContextArgs(global []string, name string) []string {
	endpointFlag := func(a string) bool {
		flag, _, _ := strings.Cut(a, "=")
		switch flag {
		case "-c", "--context", "-H", "--host":
			return true
		}
		return strings.HasPrefix(flag, "--tls") ||
			// pflag also takes a short flag's value joined: -Htcp://...
			(len(a) > 2 && (strings.HasPrefix(a, "-H") || strings.HasPrefix(a, "-c")) && !strings.HasPrefix(a, "--"))
	}
	var out []string
	for i := 0; i < len(global); i++ {
		a := global[i]
		if endpointFlag(a) {
			if flagsWithValue[a] {
				i++
			}
			continue
		}
		out = append(out, a)
		if flagsWithValue[a] && i+1 < len(global) {
			i++
			out = append(out, global[i])
		}
	}
	return append(out, "--context", name)
}

// streamerGlobalArgs are the global docker flags a detached streamer for
// dockerCli's context is started with: the command's own for its current
// context, the other context's for a contextCli.
func streamerGlobalArgs(dockerCli command.Cli) []string {
	if c, ok := dockerCli.(*contextCli); ok {
		return slices.Clip(c.globals) // callers append to it
	}
	return globalArgs(os.Args[1:])
}

// contextWidth is the longest of the contexts' names, to line columns up.
func contextWidth(contexts []watchedContext) int {
	w := 0
	for _, c := range contexts {
		w = max(w, len(c.name))
	}
	return w
}

// contextNotices writes a context's stderr notices with the context named:
// "docker live: reconnecting: ..." becomes "docker live: context prod:
// reconnecting: ...". Each notice is one Write of whole lines, so the
// notices of several contexts never mix within a line, and nothing is
// locked: a stderr that blocks holds up only the writer's own context.
type contextNotices struct {
	w    io.Writer
	name string
}

func (n contextNotices) Write(p []byte) (int, error) {
	const prefix = "docker live: "
	buf := make([]byte, 0, len(p)+len(n.name)+16)
	for line := range strings.Lines(string(p)) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			buf = fmt.Appendf(buf, "%scontext %s: %s", prefix, n.name, rest)
		} else if strings.Contains(line, fmt.Sprintf("%q", n.name)) {
			buf = append(buf, line...) // it names its context already
		} else {
			buf = fmt.Appendf(buf, "%scontext %s: %s", prefix, n.name, line)
		}
	}
	if _, err := n.w.Write(buf); err != nil {
		return 0, err
	}
	return len(p), nil
}
