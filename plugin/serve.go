package plugin

import (
	"context"
	"fmt"
	"runtime"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-live/docker-live/streamer"
)

// currentBuild is the plugin's build, set by NewRootCommand: the streamer
// binary it starts must be the same version.
var currentBuild = BuildInfo{Version: "dev", Commit: "unknown"}

// serve's flags, defaults and runtime live in package streamer, which the
// streamer binary shares; this command resolves the Docker context and
// hands it over.
func newServeCommand(dockerCli command.Cli, build BuildInfo) *cobra.Command {
	var opts streamer.Options
	cmd := &cobra.Command{
		Use:   "serve [OPTIONS]",
		Short: "Run the streamer for the current context (foreground, or --detach)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Resolve(cmd.Flags()); err != nil {
				return usageError(err)
			}
			return runServe(cmd.Context(), dockerCli, build, opts)
		},
	}
	streamer.BindFlags(cmd.Flags(), &opts)
	return cmd
}

func runServe(ctx context.Context, dockerCli command.Cli, build BuildInfo, opts streamer.Options) error {
	paths := pathsFor(dockerCli)
	if opts.Detach {
		info, started, err := startDetached(ctx, dockerCli, paths, opts)
		if err != nil {
			return err
		}
		if started {
			fmt.Fprintf(dockerCli.Out(), "docker live streamer started for context %q (pid %d)\nsocket: %s\nlog: %s\n", info.Context, info.PID, info.Socket, info.Log)
		} else {
			fmt.Fprintf(dockerCli.Out(), "docker live streamer already running for context %q (pid %d)\nsocket: %s\n", info.Context, info.PID, info.Socket)
		}
		printListen(dockerCli, info)
		return nil
	}
	if opts.ReadyFD > 0 || runtime.GOOS == "windows" || streamer.NeedsPlugin(dockerCli.DockerEndpoint().Host) {
		// The plugin binary serves itself: as the detached child of an
		// endpoint only docker/cli can dial (ssh://), and in the foreground
		// on Windows, which has no exec to become the streamer binary.
		return serveInProcess(ctx, dockerCli, build, paths, opts)
	}
	return execStreamer(dockerCli, build, paths, opts)
}

// serveInProcess runs the streamer inside the plugin process.
func serveInProcess(ctx context.Context, dockerCli command.Cli, build BuildInfo, paths streamerPaths, opts streamer.Options) error {
	return streamer.Run(ctx, streamer.Config{
		Options:  opts,
		Paths:    paths,
		Context:  dockerCli.CurrentContext(),
		Endpoint: dockerCli.DockerEndpoint().Host,
		Client:   dockerCli.Client(),
		Version:  build.Version,
		Stderr:   dockerCli.Err(),
	})
}

// printListen tells the terminal, not only serve.log, where a detached
// streamer listens on TCP, where its token is, and warns when that is not
// loopback.
func printListen(dockerCli command.Cli, info streamerInfo) {
	if info.Listen == "" {
		return
	}
	if info.TLS {
		fmt.Fprintf(dockerCli.Out(), "listen: %s over TLS (token in %s)\n", info.Listen, info.TokenFile)
		return
	}
	fmt.Fprintf(dockerCli.Out(), "listen: %s (token in %s)\n", info.Listen, info.TokenFile)
	if !streamer.IsLoopback(info.Listen) {
		fmt.Fprintf(dockerCli.Err(), "WARNING: --listen %s is not a loopback address: the stream is reachable from other hosts (token required)\n", info.Listen)
	}
}
