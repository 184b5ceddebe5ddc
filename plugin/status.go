package plugin

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-live/docker-live/output"
	"github.com/docker-live/docker-live/streamer"
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
	cmd.Flags().StringVar(&opts.format, "format", "table", `Output format: "table", "json" (one object per streamer) or a Go template`)
	return cmd
}

// Streamer states in status.
const (
	streamerRunning       = "running"
	streamerNotResponding = "not responding" // its process lives but its socket does not answer
)

// statusRow is one streamer in status: what it wrote to info.json, its
// live counters, and whether it answers.
type statusRow struct {
	streamerInfo
	State string `json:"state"`
	// URL is the browser page's address (without its token) when the
	// streamer listens on TCP; `docker live open` gives the token.
	URL string `json:"url,omitempty"`
}

// listStreamers returns every streamer whose process lives: with its live
// counters when its socket answers, as "not responding" (a frozen or
// overloaded streamer) when it does not.
func listStreamers(ctx context.Context) ([]statusRow, error) {
	dirs, err := listStreamerDirs()
	if err != nil {
		return nil, err
	}
	var out []statusRow
	for _, p := range dirs {
		info, health, ok := answering(ctx, p)
		if !ok {
			if info.PID > 0 && processAlive(info.PID) && !isZombie(info.PID) {
				out = append(out, statusRow{streamerInfo: info, State: streamerNotResponding})
			}
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
		row := statusRow{streamerInfo: info, State: streamerRunning}
		// The page's URL stands for a loopback listener only: a listener on
		// every interface keeps its own address in the table, so that the
		// exposure stays visible.
		if info.Listen != "" && streamer.IsLoopback(info.Listen) {
			row.URL = pageURL(info.Listen, info.TLS)
		}
		out = append(out, row)
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
	format, err := output.ParseInfoFormat(opts.format, "table", statusRow{})
	if err != nil {
		return usageError(err)
	}
	list, err := listStreamers(ctx)
	if err != nil {
		return err
	}
	return writeStatus(dockerCli.Out(), format, list, time.Now())
}

// writeStatus renders the streamers as format asks, uptimes as of now.
func writeStatus(w io.Writer, format output.InfoFormat, list []statusRow, now time.Time) error {
	if !format.IsText() {
		for _, row := range list {
			if err := format.Write(w, row); err != nil {
				return err
			}
		}
		return nil
	}
	lines := make([]output.StreamerLine, 0, len(list))
	for _, row := range list {
		lines = append(lines, output.StreamerLine{
			Context: row.Context, State: row.State, Responding: row.State != streamerNotResponding,
			PID: row.PID, Started: row.Started, Clients: row.Clients, Containers: row.Containers,
			Engine: row.Engine, StatsSource: row.StatsSource, Listen: listenText(row),
			Endpoint: row.Endpoint, Socket: row.Socket,
		})
	}
	return output.WriteStatusTable(w, lines, now)
}

// listenText is the LISTEN column: the page's URL (never its token) when
// the streamer answers, its address otherwise.
func listenText(row statusRow) string {
	if row.URL != "" {
		return row.URL
	}
	return row.Listen
}
