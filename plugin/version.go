package plugin

import (
	"context"
	"fmt"
	"runtime"

	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/docker-live/docker-live/output"
)

type versionOptions struct {
	format string
}

func newVersionCommand(dockerCli command.Cli, build BuildInfo) *cobra.Command {
	var opts versionOptions
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the plugin, context and Engine versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(cmd.Context(), dockerCli, build, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", `Output format: "" (text), "json" or a Go template such as '{{.Version}}'`)
	return cmd
}

func runVersion(ctx context.Context, dockerCli command.Cli, build BuildInfo, opts versionOptions) error {
	format, err := output.ParseInfoFormat(opts.format, "", output.VersionInfo{})
	if err != nil {
		return usageError(err)
	}
	info := output.VersionInfo{
		Version:   build.Version,
		Commit:    build.Commit,
		GoVersion: runtime.Version(),
		Context:   dockerCli.CurrentContext(),
		Endpoint:  dockerCli.DockerEndpoint().Host,
	}
	sv, err := dockerCli.Client().ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		info.EngineError = oneLine(err)
	} else {
		info.EngineVersion = sv.Version
		// The client negotiates on its first request, so this is the version
		// actually spoken, not the newest the client knows.
		info.APIVersion = dockerCli.Client().ClientVersion()
	}
	if format.IsText() {
		err = output.WriteVersionText(dockerCli.Out(), info)
	} else {
		err = format.Write(dockerCli.Out(), info)
	}
	if err != nil {
		return err
	}
	if info.EngineError != "" {
		return fmt.Errorf("cannot reach the Docker Engine: %s", info.EngineError)
	}
	return nil
}
