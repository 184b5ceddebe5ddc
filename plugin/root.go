// Package plugin holds the cobra commands of `docker live`, one file per
// command: an options struct, newXCommand that declares the flags, and runX
// that does the work.
package plugin

import (
	"fmt"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// BuildInfo identifies the plugin build; main sets it from -ldflags.
type BuildInfo struct {
	Version string
	Commit  string
}

// NewRootCommand returns the `live` command with every subcommand.
func NewRootCommand(dockerCli command.Cli, build BuildInfo) *cobra.Command {
	currentBuild = build // the streamer binary started must be this version
	root := &cobra.Command{
		Use:   "live",
		Short: "Live, shared, resumable view of containers, stats and events",
		Long: "docker live keeps one background streamer per Docker context that watches the Engine once\n" +
			"and serves container state, resource stats and events to any number of clients.",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("docker live: unknown command %q; see 'docker live --help'", args[0])
			}
			return cmd.Help()
		},
	}
	root.AddCommand(
		newWatchCommand(dockerCli),
		newEventsCommand(dockerCli),
		newServeCommand(dockerCli, build),
		newStatusCommand(dockerCli),
		newStopCommand(dockerCli),
		newVersionCommand(dockerCli, build),
		newOpenCommand(dockerCli),
	)
	return root
}
