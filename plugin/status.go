package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

type statusOptions struct {
	format string
}

func newStatusCommand(dockerCli command.Cli) *cobra.Command {
	var opts statusOptions
	cmd := &cobra.Command{
		Use:   "status [OPTIONS]",
		Short: "List running streamers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), dockerCli, opts)
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", `Output format: "table" or "json" (one object per streamer)`)
	return cmd
}

// runningStreamers returns every streamer whose process lives and whose
// socket answers, with its live counters.
func runningStreamers(ctx context.Context) ([]streamerInfo, error) {
	dirs, err := listStreamerDirs()
	if err != nil {
		return nil, err
	}
	var out []streamerInfo
	for _, p := range dirs {
		info, health, ok := answering(ctx, p)
		if !ok {
			continue
		}
		if n, ok := health["clients"].(float64); ok {
			info.Clients = int(n)
		}
		if n, ok := health["containers"].(float64); ok {
			info.Containers = int(n)
		}
		if eng, ok := health["engine"].(map[string]any); ok {
			info.Engine, _ = eng["state"].(string)
		}
		if srcs, ok := health["stats_sources"].(map[string]any); ok {
			info.StatsSource = describeSources(info.StatsSource, srcs) + statsSourceNote()
		}
		out = append(out, info)
	}
	return out, nil
}

// describeSources says which stats source serves how many containers,
// e.g. "auto: cgroup 12" or "api: api 3".
func describeSources(requested string, counts map[string]any) string {
	s := requested + ":"
	if len(counts) == 0 {
		return s + " none running"
	}
	for _, name := range []string{"cgroup", "api"} {
		if n, ok := counts[name].(float64); ok && n > 0 {
			s += fmt.Sprintf(" %s %d", name, int(n))
		}
	}
	return s
}

func runStatus(ctx context.Context, dockerCli command.Cli, opts statusOptions) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf("invalid --format %q: use table or json", opts.format)
	}
	list, err := runningStreamers(ctx)
	if err != nil {
		return err
	}
	out := dockerCli.Out()
	if opts.format == "json" {
		enc := json.NewEncoder(out)
		for _, info := range list {
			if err := enc.Encode(info); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CONTEXT\tENDPOINT\tPID\tUPTIME\tCLIENTS\tCONTAINERS\tENGINE\tSTATS SOURCE\tSOCKET")
	for _, info := range list {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\n", info.Context, info.Endpoint, info.PID,
			time.Since(info.Started).Round(time.Second), info.Clients, info.Containers, info.Engine, info.StatsSource, info.Socket)
	}
	return w.Flush()
}
