package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/docker/cli/templates"
)

// InfoFormat is a parsed --format of the one-shot commands, status and
// version: their own text (the default), "json" (one object a line) or a Go
// template (one line per object).
type InfoFormat struct {
	json bool
	tmpl *template.Template
}

// ParseInfoFormat parses format. textName is the word that asks for the
// command's own text ("table" for status, "" for version). A template is
// parsed as docker parses one (its functions, \t and \n escapes) and tried
// on sample, so that a misspelt field fails at once, in one line.
func ParseInfoFormat(format, textName string, sample any) (InfoFormat, error) {
	switch format {
	case textName:
		return InfoFormat{}, nil
	case "json":
		return InfoFormat{json: true}, nil
	}
	text := strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	t, err := templates.Parse(text)
	if err == nil {
		err = t.Execute(io.Discard, sample)
	}
	if err != nil {
		return InfoFormat{}, fmt.Errorf("invalid --format template: %s", strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), "template: ")), " "))
	}
	return InfoFormat{tmpl: t}, nil
}

// IsText says whether the command writes its own text.
func (f InfoFormat) IsText() bool { return !f.json && f.tmpl == nil }

// Write writes v as one JSON line or one template line. With IsText it
// writes nothing: the command's own renderer does.
func (f InfoFormat) Write(w io.Writer, v any) error {
	switch {
	case f.json:
		return json.NewEncoder(w).Encode(v)
	case f.tmpl != nil:
		var buf bytes.Buffer
		if err := f.tmpl.Execute(&buf, v); err != nil {
			return fmt.Errorf("template: %s", strings.Join(strings.Fields(err.Error()), " "))
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	}
	return nil
}

// StreamerLine is one streamer in status' table.
type StreamerLine struct {
	Context     string
	State       string
	Responding  bool // false: its process lives but its socket does not answer; no counters
	PID         int
	Started     time.Time
	Clients     int
	Containers  int
	Engine      string
	StatsSource string
	Listen      string
	Endpoint    string
	Socket      string
}

// WriteStatusTable writes status' table of streamers, uptimes as of now.
func WriteStatusTable(w io.Writer, lines []StreamerLine, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTEXT\tSTATE\tPID\tUPTIME\tCLIENTS\tCONTAINERS\tENGINE\tSTATS SOURCE\tLISTEN\tENDPOINT\tSOCKET")
	for _, l := range lines {
		uptime := now.Sub(l.Started).Round(time.Second)
		if !l.Responding {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t--\t--\t--\t--\t%s\t%s\t%s\n", l.Context, l.State, l.PID,
				uptime, orDashes(l.Listen), l.Endpoint, l.Socket)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", l.Context, l.State, l.PID,
			uptime, l.Clients, l.Containers, l.Engine, l.StatsSource,
			orDashes(l.Listen), l.Endpoint, l.Socket)
	}
	return tw.Flush()
}

func orDashes(s string) string {
	if s == "" {
		return "--"
	}
	return s
}

// VersionInfo is what version shows: the plugin, the context, and the
// Engine or why it could not be reached. Its JSON is version --format json.
type VersionInfo struct {
	Version       string `json:"version"`
	Commit        string `json:"commit"`
	GoVersion     string `json:"go_version"`
	Context       string `json:"context"`
	Endpoint      string `json:"endpoint"`
	EngineVersion string `json:"engine_version,omitempty"`
	APIVersion    string `json:"api_version,omitempty"`
	EngineError   string `json:"engine_error,omitempty"`
	// The streamer binary the plugin starts, and the context's running
	// streamer (which may predate an upgrade).
	StreamerVersion        string `json:"streamer_version,omitempty"`
	StreamerPath           string `json:"streamer_path,omitempty"`
	StreamerError          string `json:"streamer_error,omitempty"`
	RunningStreamerVersion string `json:"running_streamer_version,omitempty"`
	RunningStreamerPID     int    `json:"running_streamer_pid,omitempty"`
}

// WriteVersionText writes version's text, laid out as docker version's.
func WriteVersionText(w io.Writer, info VersionInfo) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Plugin:\n Version:\t%s\n Commit:\t%s\n Go version:\t%s\n", info.Version, info.Commit, info.GoVersion)
	fmt.Fprintf(&b, "Context:\n Name:\t\t%s\n Endpoint:\t%s\n", info.Context, info.Endpoint)
	if info.EngineError != "" {
		fmt.Fprintf(&b, "Engine:\n Error:\t\t%s\n", info.EngineError)
	} else {
		fmt.Fprintf(&b, "Engine:\n Version:\t%s\n API version:\t%s (negotiated)\n", info.EngineVersion, info.APIVersion)
	}
	b.WriteString("Streamer:\n")
	if info.StreamerError != "" {
		fmt.Fprintf(&b, " Error:\t\t%s\n", info.StreamerError)
	}
	if info.StreamerVersion != "" {
		fmt.Fprintf(&b, " Version:\t%s\n", info.StreamerVersion)
	}
	if info.StreamerPath != "" {
		fmt.Fprintf(&b, " Path:\t\t%s\n", info.StreamerPath)
	}
	if info.RunningStreamerPID > 0 {
		fmt.Fprintf(&b, " Running:\t%s (pid %d)\n", info.RunningStreamerVersion, info.RunningStreamerPID)
	} else {
		b.WriteString(" Running:\tnone for this context\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}
