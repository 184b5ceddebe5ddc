package output

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"text/template"
	"time"

	"github.com/docker/cli/templates"
)

// FormatKind is what a watch --format asks for.
type FormatKind int

const (
	// FormatTable is the live table: the default columns, or a
	// "table TEMPLATE" when WatchFormat.Template is set.
	FormatTable FormatKind = iota
	// FormatJSON is one JSONRow per container per frame.
	FormatJSON
	// FormatTemplate is one line per container per frame from a Go template.
	FormatTemplate
)

// WatchFormat is a parsed watch --format.
type WatchFormat struct {
	Kind FormatKind
	// Template is set for FormatTemplate, and for FormatTable when the
	// format was "table TEMPLATE"; pass it on in TableOptions.Template.
	Template *Template
}

// Template is a compiled watch template. Its data is a TemplateRow.
type Template struct {
	body   *template.Template
	header *template.Template // for "table TEMPLATE": renders the column names
}

// TemplateRow is the data of a watch template: docker stats' placeholders
// with the strings docker stats prints, plus live's own. Fields are in name
// order so {{json .}} lists them as docker stats' {{json .}} does.
type TemplateRow struct {
	BlockIO   string
	CPUPerc   string
	Container string // the name, as docker stats shows a container named on its command line
	Context   string // the Docker context the container belongs to
	Health    string
	ID        string // 12 characters unless --no-trunc
	Image     string
	MemPerc   string
	MemUsage  string
	Name      string
	NetIO     string
	NetRxRate string
	NetTxRate string
	PIDs      string
	State     string
	Status    string
	Uptime    string
}

// templateHeaders names the table columns of each placeholder: docker stats'
// names for its own, and the default table's for live's.
var templateHeaders = map[string]string{
	"BlockIO":   "BLOCK I/O",
	"CPUPerc":   "CPU %",
	"Container": "CONTAINER",
	"Context":   "CONTEXT",
	"Health":    "HEALTH",
	"ID":        "CONTAINER ID",
	"Image":     "IMAGE",
	"MemPerc":   "MEM %",
	"MemUsage":  "MEM USAGE / LIMIT",
	"Name":      "NAME",
	"NetIO":     "NET I/O",
	"NetRxRate": "NET RX/s",
	"NetTxRate": "NET TX/s",
	"PIDs":      "PIDS",
	"State":     "STATE",
	"Status":    "STATUS",
	"Uptime":    "UPTIME",
}

// NewTemplateRow is the template data for r.
func NewTemplateRow(r Row, now time.Time, noTrunc bool) TemplateRow {
	name := r.Name
	if name == "" {
		name = noValue
	}
	id := r.ID
	if !noTrunc {
		id = truncateID(id)
	}
	// Engine strings are shown with control characters escaped (Escape).
	name, id = Escape(name), Escape(id)
	return TemplateRow{
		BlockIO:   r.BlockIOText(),
		CPUPerc:   r.CPUText(),
		Container: name,
		Context:   Escape(r.Context),
		Health:    Escape(r.Health),
		ID:        id,
		Image:     Escape(r.Image),
		MemPerc:   r.MemPercentText(),
		MemUsage:  r.MemUsageText(),
		Name:      name,
		NetIO:     r.NetIOText(),
		NetRxRate: r.NetRxRateText(),
		NetTxRate: r.NetTxRateText(),
		PIDs:      r.PIDsText(),
		State:     Escape(r.State),
		Status:    Escape(r.Status),
		Uptime:    r.UptimeText(now),
	}
}

// ParseWatchFormat parses watch's --format: "" or "table" for the default
// table, "table TEMPLATE" for custom columns, "json" for NDJSON, anything
// else a Go template. As in docker, a literal \t or \n in the template
// stands for a tab or newline, and the template is checked against the
// data at once so a misspelt field fails before anything is shown.
func ParseWatchFormat(s string) (WatchFormat, error) {
	switch s {
	case "", "table":
		return WatchFormat{Kind: FormatTable}, nil
	case "json":
		return WatchFormat{Kind: FormatJSON}, nil
	}
	text, isTable := strings.CutPrefix(s, "table")
	text = strings.Trim(text, " ")
	text = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(text)
	if text == "" {
		return WatchFormat{Kind: FormatTable}, nil
	}
	body, err := templates.Parse(text)
	if err != nil {
		return WatchFormat{}, templateError(err)
	}
	if err := body.Execute(io.Discard, TemplateRow{}); err != nil {
		return WatchFormat{}, templateError(err)
	}
	t := &Template{body: body}
	if !isTable {
		return WatchFormat{Kind: FormatTemplate, Template: t}, nil
	}
	// Header functions such as upper and truncate leave column names
	// intact, as docker's tables do.
	t.header, err = templates.New("").Funcs(templates.HeaderFunctions).Parse(text)
	if err != nil {
		return WatchFormat{}, templateError(err)
	}
	if err := t.header.Execute(io.Discard, templateHeaders); err != nil {
		return WatchFormat{}, templateError(err)
	}
	return WatchFormat{Kind: FormatTable, Template: t}, nil
}

// templateError makes a template error one line.
func templateError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "template: ")
	msg = strings.Join(strings.Fields(msg), " ")
	return errors.New("invalid --format template: " + msg)
}

// appendWriter lets a template execute straight into a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// AppendRow appends the template's output for r and a newline, using
// opts.Now and opts.NoTrunc.
func (t *Template) AppendRow(dst []byte, r Row, opts TableOptions) ([]byte, error) {
	w := &appendWriter{b: dst}
	if err := t.body.Execute(w, NewTemplateRow(r, opts.Now, opts.NoTrunc)); err != nil {
		return dst, err
	}
	return append(w.b, '\n'), nil
}

// appendTable renders a "table TEMPLATE" through a tabwriter as docker
// does, then cuts its lines to the width.
func (t *Template) appendTable(out []byte, rows []Row, opts TableOptions) []byte {
	var buf bytes.Buffer
	tw := newTabWriter(&buf)
	if t.header != nil {
		if err := t.header.Execute(tw, templateHeaders); err != nil {
			_, _ = io.WriteString(tw, "error: "+err.Error())
		}
		_, _ = tw.Write([]byte{'\n'})
	}
	for i := range rows {
		if err := t.body.Execute(tw, NewTemplateRow(rows[i], opts.Now, opts.NoTrunc)); err != nil {
			_, _ = io.WriteString(tw, "error: "+err.Error())
		}
		_, _ = tw.Write([]byte{'\n'})
	}
	_ = tw.Flush()
	return clipLines(out, buf.Bytes(), opts)
}
