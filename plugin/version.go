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
		Short: "Show the plugin, streamer, context and Engine versions",
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
	mismatch := describeStreamer(ctx, &info, pathsFor(dockerCli))
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
	return mismatch
}

// describeStreamer fills in the streamer binary the plugin would start and
// the context's running streamer, and returns the one-line refusal of a
// binary that is missing or of another version than the plugin (starting
// it would fail the same way). A running streamer of another version is
// only shown: it predates an upgrade, speaks the same protocol, and runs
// on until it idles out or `docker live stop` ends it.
func describeStreamer(ctx context.Context, info *output.VersionInfo, paths streamerPaths) error {
	if running, _, ok := answering(ctx, paths); ok {
		info.RunningStreamerVersion, info.RunningStreamerPID = running.Version, running.PID
	}
	bin, err := findStreamerBin()
	if err != nil {
		info.StreamerError = oneLine(err)
		return err
	}
	info.StreamerPath = bin
	v, err := streamerBinVersion(ctx, bin)
	if err != nil {
		info.StreamerError = oneLine(err)
		return err
	}
	info.StreamerVersion = v
	if v != info.Version {
		err := mismatchError(bin, v, info.Version)
		info.StreamerError = err.Error()
		return err
	}
	return nil
}
