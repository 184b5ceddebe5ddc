package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/templates"
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
		out = append(out, statusRow{streamerInfo: info, State: streamerRunning})
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
	var tmpl *template.Template
	if opts.format != "table" && opts.format != "json" {
		t, err := parseInfoTemplate(opts.format, statusRow{})
		if err != nil {
			return usageError(err)
		}
		tmpl = t
	}
	list, err := listStreamers(ctx)
	if err != nil {
		return err
	}
	out := dockerCli.Out()
	switch {
	case tmpl != nil:
		for _, row := range list {
			if err := executeLine(out, tmpl, row); err != nil {
				return err
			}
		}
		return nil
	case opts.format == "json":
		enc := json.NewEncoder(out)
		for _, row := range list {
			if err := enc.Encode(row); err != nil {
				return err
			}
		}
		return nil
	}
	now := time.Now()
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CONTEXT\tSTATE\tPID\tUPTIME\tCLIENTS\tCONTAINERS\tENGINE\tSTATS SOURCE\tLISTEN\tENDPOINT\tSOCKET")
	for _, row := range list {
		if row.State == streamerNotResponding {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t--\t--\t--\t--\t%s\t%s\t%s\n", row.Context, row.State, row.PID,
				now.Sub(row.Started).Round(time.Second), orDashes(row.Listen), row.Endpoint, row.Socket)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", row.Context, row.State, row.PID,
			now.Sub(row.Started).Round(time.Second), row.Clients, row.Containers, row.Engine, row.StatsSource,
			orDashes(row.Listen), row.Endpoint, row.Socket)
	}
	return w.Flush()
}

func orDashes(s string) string {
	if s == "" {
		return "--"
	}
	return s
}

// parseInfoTemplate parses a --format Go template as docker does (its
// functions, \t and \n escapes) and tries it on sample so that a misspelt
// field fails at once, in one line.
func parseInfoTemplate(format string, sample any) (*template.Template, error) {
	text := strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	t, err := templates.Parse(text)
	if err == nil {
		err = t.Execute(io.Discard, sample)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid --format template: %s", strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), "template: ")), " "))
	}
	return t, nil
}

// executeLine writes one template result and a newline.
func executeLine(w io.Writer, t *template.Template, data any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return fmt.Errorf("template: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
