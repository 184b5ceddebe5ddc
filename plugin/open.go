package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-live/docker-live/stream/server"
	"github.com/docker-live/docker-live/streamer"
)

type openOptions struct {
	port      int
	noBrowser bool
}

func newOpenCommand(dockerCli command.Cli) *cobra.Command {
	var opts openOptions
	cmd := &cobra.Command{
		Use:   "open [OPTIONS]",
		Short: "Open the live dashboard in a browser",
		Long: "Make sure the current context's streamer serves HTTP on loopback (start one, or add the listener\n" +
			"to the running one without dropping its clients), print the page's URL with its login token and\n" +
			"open it with the desktop's opener.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOpen(cmd.Context(), dockerCli, opts, desktopOpener())
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.port, "port", 0, "Loopback port to serve the page on (0: the one already open, or a free one)")
	f.BoolVar(&opts.noBrowser, "no-browser", false, "Only print the URL")
	return cmd
}

// opener opens target (a file path) in the desktop's browser; nil when
// the desktop has none.
type opener func(target string) error

func runOpen(ctx context.Context, dockerCli command.Cli, opts openOptions, open opener) error {
	if opts.port < 0 || opts.port > 65535 {
		return usageError(fmt.Errorf("invalid --port %d: use 1 to 65535, or 0 for any free port", opts.port))
	}
	paths := pathsFor(dockerCli)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.port))
	listen, tls, err := ensureListener(ctx, dockerCli, paths, addr)
	if err != nil {
		return err
	}
	token, err := streamer.ReadPrivate(paths.Token)
	if err != nil {
		return fmt.Errorf("cannot read the token: %v", err)
	}
	url := pageURL(listen, tls) + "?token=" + strings.TrimSpace(string(token))
	fmt.Fprintf(dockerCli.Out(), "docker live page for context %q:\n    %s\n", dockerCli.CurrentContext(), url)
	if opts.noBrowser {
		return nil
	}
	if open == nil {
		fmt.Fprintln(dockerCli.Err(), "no desktop opener found (xdg-open, open or start): open the URL above in a browser")
		return nil
	}
	// The opener gets a file in the private state folder that redirects
	// to the URL, rather than the URL: a command line (ps) would show the
	// token to every user of the host.
	launch := filepath.Join(paths.Dir, "open.html")
	page := fmt.Sprintf("<!doctype html><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url=%s\"><title>docker live</title><a href=\"%s\">docker live</a>\n",
		html.EscapeString(url), html.EscapeString(url))
	if err := writeFile0600(launch, []byte(page)); err != nil {
		return fmt.Errorf("cannot write %s: %v", launch, err)
	}
	if err := open(launch); err != nil {
		fmt.Fprintf(dockerCli.Err(), "could not open a browser (%v): open the URL above yourself\n", err)
	}
	return nil
}

// pageURL is the page's address on a listener, without any token; tls
// says the listener speaks only TLS. A listener on every address is
// reached on loopback.
func pageURL(listen string, tls bool) string {
	if host, port, err := net.SplitHostPort(listen); err == nil && (host == "0.0.0.0" || host == "::") {
		listen = net.JoinHostPort("127.0.0.1", port)
	}
	if tls {
		return "https://" + listen + "/"
	}
	return "http://" + listen + "/"
}

// ensureListener returns the address of a loopback listener of the
// context's streamer, and whether it speaks TLS: one it already has, one it
// adds on request, or that of a streamer started for the purpose.
func ensureListener(ctx context.Context, dockerCli command.Cli, paths streamerPaths, addr string) (listen string, tls bool, err error) {
	if _, _, ok := answering(ctx, paths); !ok {
		opts := streamer.DefaultOptions()
		opts.Listen = addr
		info, started, err := startDetached(ctx, dockerCli, paths, opts)
		if err != nil {
			return "", false, err
		}
		if started && info.Listen != "" {
			return info.Listen, info.TLS, nil
		}
		// Another command started it first, maybe without a listener.
	}
	return requestListener(ctx, paths, addr)
}

// requestListener asks the running streamer, on its peer-checked Unix
// socket, to listen on addr as well; it answers with the listener's address
// and whether it speaks TLS.
func requestListener(ctx context.Context, paths streamerPaths, addr string) (string, bool, error) {
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dialSocket(ctx, paths.Socket) },
	}}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, _ := json.Marshal(server.ListenRequest{Addr: addr})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://docker-live"+server.ListenPath, bytes.NewReader(body))
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", false, fmt.Errorf("cannot reach the streamer on %s: %v", paths.Socket, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusNotFound {
		return "", false, errors.New("the running streamer is older and cannot add a listener: run 'docker live stop', then 'docker live open' again")
	}
	if resp.StatusCode != http.StatusOK {
		var m struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(data, &m) == nil && m.Error.Message != "" {
			return "", false, fmt.Errorf("the streamer cannot listen on %s: %s", addr, m.Error.Message)
		}
		return "", false, fmt.Errorf("the streamer cannot listen on %s: %s", addr, resp.Status)
	}
	var reply server.ListenReply
	if err := json.Unmarshal(data, &reply); err != nil || reply.Listen == "" {
		return "", false, fmt.Errorf("the streamer's answer to %s is not understood: %q", server.ListenPath, data)
	}
	return reply.Listen, reply.TLS, nil
}

// desktopOpener returns the desktop's way to open a file in the browser,
// or nil when there is none (a server without a desktop session).
func desktopOpener() opener {
	var argv []string
	switch runtime.GOOS {
	case "darwin":
		argv = []string{"open"}
	case "windows":
		argv = []string{"rundll32", "url.dll,FileProtocolHandler"}
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return nil
		}
		argv = []string{"xdg-open"}
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil
	}
	return func(target string) error {
		cmd := exec.Command(argv[0], append(argv[1:], target)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
		if err := cmd.Start(); err != nil {
			return err
		}
		// Some openers wait for the browser; the page does not need them to.
		go func() { _ = cmd.Wait() }()
		return nil
	}
}
