// Command docker-live is the docker CLI plugin behind `docker live`.
// It only wires the plugin framework to the commands in package plugin.
package main

import (
	"github.com/docker/cli/cli-plugins/metadata"
	cliplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-live/docker-live/plugin"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	build := plugin.BuildInfo{Version: version, Commit: commit}
	cliplugin.Run(func(dockerCli command.Cli) *cobra.Command {
		return plugin.NewRootCommand(dockerCli, build)
	}, metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "docker live developers",
		Version:          version,
		ShortDescription: "Live, shared, resumable view of containers, stats and events",
		URL:              "https://github.com/docker-live/docker-live",
	})
}
