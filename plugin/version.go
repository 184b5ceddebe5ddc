package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"text/template"

	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type versionOptions struct {
	format string
}

// versionInfo is what `docker live version --format json` prints.
type versionInfo struct {
	Version       string `json:"version"`
	Commit        string `json:"commit"`
	GoVersion     string `json:"go_version"`
	Context       string `json:"context"`
	Endpoint      string `json:"endpoint"`
	EngineVersion string `json:"engine_version,omitempty"`
	APIVersion    string `json:"api_version,omitempty"`
	EngineError   string `json:"engine_error,omitempty"`
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
	var tmpl *template.Template
	if opts.format != "" && opts.format != "json" {
		t, err := parseInfoTemplate(opts.format, versionInfo{})
		if err != nil {
			return usageError(err)
		}
		tmpl = t
	}
	info := versionInfo{
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
	out := dockerCli.Out()
	if tmpl != nil {
		if err := executeLine(out, tmpl, info); err != nil {
			return err
		}
	} else if opts.format == "json" {
		enc := json.NewEncoder(out)
		if err := enc.Encode(info); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "Plugin:\n Version:\t%s\n Commit:\t%s\n Go version:\t%s\n", info.Version, info.Commit, info.GoVersion)
		fmt.Fprintf(out, "Context:\n Name:\t\t%s\n Endpoint:\t%s\n", info.Context, info.Endpoint)
		if info.EngineError != "" {
			fmt.Fprintf(out, "Engine:\n Error:\t\t%s\n", info.EngineError)
		} else {
			fmt.Fprintf(out, "Engine:\n Version:\t%s\n API version:\t%s (negotiated)\n", info.EngineVersion, info.APIVersion)
		}
	}
	if info.EngineError != "" {
		return fmt.Errorf("cannot reach the Docker Engine: %s", info.EngineError)
	}
	return nil
}
