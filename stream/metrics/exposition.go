package metrics

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The exposition is written here rather than by Prometheus' client_golang:
// client_golang's data model is protobuf messages, and linking it put
// protobuf, client_model, expfmt and procfs (about 2.5 MB of the 11.5 MB
// binary) into the streamer, whose pages are resident for its whole life
// (issue 14). What /metrics needs is small: counters and gauges without
// timestamps, in the text format 0.0.4 or OpenMetrics 1.0.0. It is pinned
// byte for byte against client_golang in exposition_test.go.

// metricType is the TYPE of a family; /metrics reports only these two.
type metricType uint8

const (
	gauge metricType = iota
	counter
)

// family is one metric family of a scrape. Families are written in name
// order and their samples in the order of their label values, as
// client_golang's registry sorts them.
type family struct {
	name, help string
	typ        metricType
	samples    []sample
}

// sample is one series: its label pairs rendered in label-name order and
// escaped (`a="x",b="y"`, empty for none), and its value.
type sample struct {
	labels string
	value  float64
}

// format is an exposition format the handler offers.
type format struct {
	mediaType, subType string // the Accept clause it answers
	version            string
	openMetrics        bool
}

// offered are the formats in the server's order of preference, as
// client_golang's promhttp offers them with EnableOpenMetrics (minus its
// protobuf formats: a scraper asking for protobuf gets one of these).
var offered = []format{
	{"application", "openmetrics-text", "1.0.0", true},
	{"application", "openmetrics-text", "0.0.1", true},
	{"text", "plain", "0.0.4", false},
}

// contentType is the Content-Type header for f and a name-escaping scheme.
func (f format) contentType(escaping string) string {
	return f.mediaType + "/" + f.subType + "; version=" + f.version + "; charset=utf-8; escaping=" + escaping
}

// acceptClause is one media range of an Accept header.
type acceptClause struct {
	typ, subType string
	q            float64
	params       map[string]string
}

// parseAccept splits an Accept header into its clauses, the preferred
// first: higher q first, then concrete types before wildcards. Clauses
// that are not type/subtype are skipped.
func parseAccept(header string) []acceptClause {
	var out []acceptClause
	for part := range strings.SplitSeq(header, ",") {
		mediaRange, params, _ := strings.Cut(part, ";")
		typ, sub, ok := strings.Cut(strings.TrimSpace(mediaRange), "/")
		if !ok {
			if typ == "*" {
				sub = "*"
			} else {
				continue
			}
		} else if strings.Contains(sub, "/") {
			continue
		}
		c := acceptClause{typ: strings.TrimSpace(typ), subType: strings.TrimSpace(sub), q: 1}
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(p, "=")
			if !ok || strings.Contains(v, "=") {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if k == "q" {
				c.q, _ = strconv.ParseFloat(v, 32)
				continue
			}
			if c.params == nil {
				c.params = map[string]string{}
			}
			c.params[k] = v
		}
		out = append(out, c)
	}
	wildcards := func(c acceptClause) int {
		n := 0
		if c.typ == "*" {
			n += 2
		}
		if c.subType == "*" {
			n++
		}
		return n
	}
	slices.SortStableFunc(out, func(a, b acceptClause) int {
		if a.q != b.q {
			if a.q > b.q {
				return -1
			}
			return 1
		}
		return wildcards(a) - wildcards(b)
	})
	return out
}

// escapingSchemes are the values of Accept's escaping parameter that
// Prometheus defines; the response names the one in effect. Every name
// /metrics writes is a valid legacy name, so none changes the body.
var escapingSchemes = []string{"allow-utf-8", "underscores", "dots", "values"}

// negotiate picks the format for an Accept header as client_golang's
// expfmt.NegotiateAccept does: the first clause, in preference order, that
// names a format exactly (a wildcard matches none, since every format has
// a version; a missing version means 0.0.1 for OpenMetrics, 0.0.4 for
// text), else the text format. It returns the format and its Content-Type.
func negotiate(accept string) (format, string) {
	escaping := "underscores"
	for _, c := range parseAccept(accept) {
		if e := c.params["escaping"]; slices.Contains(escapingSchemes, e) {
			escaping = e
		}
		version := c.params["version"]
		for _, f := range offered {
			if c.typ != f.mediaType || c.subType != f.subType {
				continue
			}
			v := version
			if v == "" && f.openMetrics {
				v = "0.0.1"
			} else if v == "" {
				v = "0.0.4"
			}
			if v == f.version {
				return f, f.contentType(escaping)
			}
		}
	}
	text := offered[len(offered)-1]
	return text, text.contentType(escaping)
}

// wantsGzip says whether an Accept-Encoding header picks gzip over the
// identity encoding, as client_golang decides it: the offers identity then
// gzip, each taken only if some coding names it (or *) with a higher q
// than the one taken so far.
func wantsGzip(header []string) bool {
	best, bestQ := "identity", -1.0
	var specs []struct {
		coding string
		q      float64
	}
	for _, h := range header {
		for part := range strings.SplitSeq(h, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.TrimSpace(coding)
			if coding == "" {
				continue
			}
			q := 1.0
			if params = strings.TrimSpace(params); params != "" {
				v, ok := strings.CutPrefix(params, "q=")
				if !ok {
					continue
				}
				var err error
				if q, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || q < 0 || q > 1 {
					continue
				}
			}
			specs = append(specs, struct {
				coding string
				q      float64
			}{strings.ToLower(coding), q})
		}
	}
	for _, offer := range []string{"identity", "gzip"} {
		for _, s := range specs {
			if s.q > bestQ && (s.coding == "*" || s.coding == offer) {
				best, bestQ = offer, s.q
			}
		}
	}
	return best == "gzip" && bestQ > 0
}

// writeExposition writes the families (already in order) to w in the
// chosen format, through one buffer flushed every 32 KiB.
func writeExposition(w io.Writer, f format, families []family) error {
	e := expoWriter{w: w, openMetrics: f.openMetrics, buf: make([]byte, 0, 40<<10)}
	for i := range families {
		e.family(&families[i])
	}
	if f.openMetrics {
		e.buf = append(e.buf, "# EOF\n"...)
	}
	e.flush()
	return e.err
}

type expoWriter struct {
	w           io.Writer
	buf         []byte
	err         error
	openMetrics bool
}

func (e *expoWriter) flush() {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

// family writes HELP, TYPE and the samples. A family without samples is
// left out, as client_golang's registry leaves it out. In OpenMetrics a
// counter's family name drops its _total, which stays on the samples.
func (e *expoWriter) family(f *family) {
	if len(f.samples) == 0 {
		return
	}
	name := f.name
	if e.openMetrics && f.typ == counter {
		name = strings.TrimSuffix(name, "_total")
	}
	e.buf = append(e.buf, "# HELP "...)
	e.buf = append(e.buf, name...)
	e.buf = append(e.buf, ' ')
	e.buf = appendEscaped(e.buf, f.help, e.openMetrics)
	e.buf = append(e.buf, "\n# TYPE "...)
	e.buf = append(e.buf, name...)
	if f.typ == counter {
		e.buf = append(e.buf, " counter\n"...)
	} else {
		e.buf = append(e.buf, " gauge\n"...)
	}
	for _, s := range f.samples {
		e.buf = append(e.buf, f.name...)
		if s.labels != "" {
			e.buf = append(e.buf, '{')
			e.buf = append(e.buf, s.labels...)
			e.buf = append(e.buf, '}')
		}
		e.buf = append(e.buf, ' ')
		e.buf = appendValue(e.buf, s.value, e.openMetrics)
		e.buf = append(e.buf, '\n')
		if len(e.buf) >= 32<<10 {
			e.flush()
		}
	}
}

// appendEscaped escapes a HELP text (backslash and newline; OpenMetrics
// also the double quote) or, with quote, a label value.
func appendEscaped(b []byte, s string, quote bool) []byte {
	if !strings.ContainsAny(s, "\\\n\"") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendLabel appends name="value" (after a comma unless first). Label
// values from the Engine are JSON strings, so valid UTF-8; anything else
// is made valid rather than let a scrape fail.
func appendLabel(b []byte, name, value string) []byte {
	if len(b) > 0 {
		b = append(b, ',')
	}
	b = append(b, name...)
	b = append(b, `="`...)
	if !utf8.ValidString(value) {
		value = strings.ToValidUTF8(value, "\uFFFD")
	}
	b = appendEscaped(b, value, true)
	return append(b, '"')
}

// appendValue formats a sample value as client_golang does: the shortest
// representation that reads back the same float ('g'), with 1, 0 and -1
// spelt out; OpenMetrics marks an integral value with ".0".
func appendValue(b []byte, v float64, openMetrics bool) []byte {
	switch {
	case v == 1, v == 0, v == -1:
		b = strconv.AppendInt(b, int64(v), 10)
		if openMetrics {
			b = append(b, ".0"...)
		}
		return b
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	if openMetrics && !bytes.ContainsAny(b[start:], "e.") {
		b = append(b, ".0"...)
	}
	return b
}

// serveExposition answers one scrape: the format from Accept, gzip when
// Accept-Encoding picks it, Vary on both.
func serveExposition(w http.ResponseWriter, r *http.Request, families []family) {
	f, contentType := negotiate(r.Header.Get("Accept"))
	h := w.Header()
	h.Add("Vary", "Accept")
	h.Add("Vary", "Accept-Encoding")
	h.Set("Content-Type", contentType)
	var out io.Writer = w
	if wantsGzip(r.Header.Values("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		out = gz
	}
	_ = writeExposition(out, f, families)
}
