package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

type stopOptions struct {
	all bool
}

// stopWait is how long a streamer gets to exit on SIGTERM before SIGKILL.
const stopWait = 5 * time.Second

func newStopCommand(dockerCli command.Cli) *cobra.Command {
	var opts stopOptions
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS]",
		Short: "Stop the current context's streamer (or every streamer)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStop(cmd.Context(), dockerCli, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.all, "all", "a", false, "Stop every running streamer")
	return cmd
}

func runStop(ctx context.Context, dockerCli command.Cli, opts stopOptions) error {
	var targets []streamerPaths
	if opts.all {
		dirs, err := listStreamerDirs()
		if err != nil {
			return err
		}
		targets = dirs
	} else {
		targets = []streamerPaths{pathsFor(dockerCli)}
	}
	stopped := 0
	for _, p := range targets {
		// Only a PID proven to be this folder's streamer is signalled.
		info, ok := verifiedStreamer(ctx, p)
		if !ok {
			continue
		}
		markStopped(p, info.PID) // attached clients poll rather than start it again
		if err := stopProcess(ctx, info.PID); err != nil {
			return fmt.Errorf("stopping the streamer for context %q: %v", info.Context, err)
		}
		fmt.Fprintf(dockerCli.Out(), "stopped the streamer for context %q (pid %d)\n", info.Context, info.PID)
		stopped++
	}
	if stopped == 0 && !opts.all {
		fmt.Fprintf(dockerCli.Out(), "no streamer runs for context %q\n", dockerCli.CurrentContext())
	}
	return nil
}
