// This file is the wire contract between the streamer and its clients.
// docs/protocol.md documents it; keep the two in step.

package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/events"
)

// ProtocolVersion is bumped on any incompatible change to the messages below.
// Additive fields do not bump it: clients must ignore fields they do not know.
const ProtocolVersion = 1

// HTTP paths served by the streamer.
const (
	StreamPath   = "/v1/stream"
	HealthPath   = "/v1/health"
	SnapshotPath = "/v1/snapshot" // one JSON document: SnapshotDocument
	MetricsPath  = "/metrics"     // Prometheus text or OpenMetrics (docs/metrics.md)
)

// Server-to-client message types.
const (
	TypeHello     = "hello"     // first message on every connection
	TypeSnapshot  = "snapshot"  // the full container set; Resync set when it replaces lost history
	TypeContainer = "container" // a container was created or changed: the whole container
	TypeRemove    = "remove"    // a container was destroyed
	TypeStats     = "stats"     // one batch of resource samples, last value wins
	TypeEvent     = "event"     // an Engine event, with the fields of API 1.52 (no legacy status/id/from)
	TypeEngine    = "engine"    // the streamer's connection to the Engine changed
	TypeError     = "error"     // a request was refused; a close frame with the reason follows
	TypeHistory   = "history"   // the recent stats of each container, once per subscribe that asks for it
)

// Client-to-server message types.
const (
	TypeSubscribe = "subscribe"
)

// Topics a subscriber can choose. No topics means all of them.
const (
	TopicContainers = "containers" // snapshot, container, remove
	TopicStats      = "stats"
	TopicEvents     = "events"
)

// WebSocket close codes used by the streamer (4000-4999 are private-use).
const (
	CloseTooSlow        = 4001 // the subscriber's queue overflowed with lifecycle messages; reconnect with since to resume
	CloseBadRequest     = 4002 // malformed or unknown client message, or a binary frame
	CloseBadVersion     = 4003 // the client's protocol version is not supported
	CloseShuttingDown   = 1001 // the streamer is stopping (standard "going away")
	CloseMessageTooBig  = 1009 // a client frame exceeded MaxClientMessage (standard)
	CloseTryAgainLater  = 1013 // the listener is at its connection cap (standard "try again later")
	MaxClientMessage    = 64 << 10
	MaxFilterEntries    = 1000 // names, ids, labels and projects of one filter, in all
	MinStatsInterval    = time.Second
	DefaultStatsRefresh = time.Second
)

// Engine connection states reported in hello, snapshot and engine messages.
const (
	EngineConnected   = "connected"
	EngineUnavailable = "unavailable"
)

// Message is every server-to-client frame. Exactly one payload field is set,
// chosen by Type. Epoch and Seq locate the message in the stream: Epoch is new
// each time a streamer starts; Seq grows by one with every container, remove,
// event and engine message. Hello, snapshot and stats messages carry the seq
// of the newest message before them and do not advance it: stats are
// last-value-wins and are never replayed, so resuming never needs them.
type Message struct {
	Type  string    `json:"type"`
	Epoch string    `json:"epoch"`
	Seq   uint64    `json:"seq"`
	Time  time.Time `json:"time"`

	Hello     *Hello          `json:"hello,omitempty"`
	Snapshot  *Snapshot       `json:"snapshot,omitempty"`
	Container *Container      `json:"container,omitempty"`
	Remove    *Removal        `json:"remove,omitempty"`
	Stats     []Stats         `json:"stats,omitempty"`
	Event     *events.Message `json:"event,omitempty"`
	Engine    *EngineStatus   `json:"engine,omitempty"`
	Error     *ErrorBody      `json:"error,omitempty"`
	History   *History        `json:"history,omitempty"`
}

// Hello opens every connection.
type Hello struct {
	Protocol      int          `json:"protocol"`
	Server        string       `json:"server"` // the streamer's build version
	Context       string       `json:"context"`
	Endpoint      string       `json:"endpoint"`
	Engine        EngineStatus `json:"engine"`
	StatsInterval string       `json:"stats_interval"` // Go duration: how often stats batches go out
	// Resumed is true when the since position of the subscribe was honoured:
	// the messages after it follow, then live ones. When false, a snapshot
	// follows instead.
	Resumed bool `json:"resumed"`
	// History is how much stats history the streamer keeps per container
	// (Go duration); absent when it keeps none.
	History string `json:"history,omitempty"`
}

// EngineStatus is the streamer's view of its Engine.
type EngineStatus struct {
	State      string `json:"state"` // EngineConnected or EngineUnavailable
	Version    string `json:"version,omitempty"`
	APIVersion string `json:"api_version,omitempty"`
	Error      string `json:"error,omitempty"` // why it is unavailable
}

// Snapshot is the whole current state. Resync is true when it was sent
// because the subscriber's since position was no longer in the ring (or came
// from another epoch): the client must replace, not merge, its state.
type Snapshot struct {
	Resync     bool         `json:"resync"`
	Engine     EngineStatus `json:"engine"`
	Containers []Container  `json:"containers"`
}

// Container is one container's state as the streamer knows it.
type Container struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"` // without the leading slash
	Image        string            `json:"image"`
	Command      string            `json:"command"`
	Created      time.Time         `json:"created"`
	State        string            `json:"state"` // created, running, paused, restarting, removing, exited, dead
	Status       string            `json:"status"`
	Health       string            `json:"health,omitempty"` // starting, healthy, unhealthy; empty without a healthcheck
	ExitCode     int               `json:"exit_code"`
	RestartCount int               `json:"restart_count"`
	StartedAt    time.Time         `json:"started_at,omitzero"`
	FinishedAt   time.Time         `json:"finished_at,omitzero"`
	OOMKilled    bool              `json:"oom_killed,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Project      string            `json:"project,omitempty"` // com.docker.compose.project
	Service      string            `json:"service,omitempty"` // com.docker.compose.service
	Ports        []Port            `json:"ports,omitempty"`
	Networks     []string          `json:"networks,omitempty"`
	// Stats is the newest sample, set only inside snapshots.
	Stats *Stats `json:"stats,omitempty"`
}

// Port is one published or exposed port.
type Port struct {
	IP          string `json:"ip,omitempty"`
	PrivatePort uint16 `json:"private_port"`
	PublicPort  uint16 `json:"public_port,omitempty"`
	Proto       string `json:"proto"`
}

// Removal says a container is gone.
type Removal struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Stats is one resource sample of one container, computed as docker stats
// computes it. Rates are bytes per second between this sample and the one
// before it; zero on the first sample.
type Stats struct {
	ID         string    `json:"id"`
	Read       time.Time `json:"read"`
	CPUPercent float64   `json:"cpu_percent"`
	MemUsage   uint64    `json:"mem_usage"`
	MemLimit   uint64    `json:"mem_limit"`
	MemPercent float64   `json:"mem_percent"`
	NetRx      uint64    `json:"net_rx"`
	NetTx      uint64    `json:"net_tx"`
	NetRxRate  float64   `json:"net_rx_rate"`
	NetTxRate  float64   `json:"net_tx_rate"`
	BlockRead  uint64    `json:"block_read"`
	BlockWrite uint64    `json:"block_write"`
	PIDs       uint64    `json:"pids"`
	// Source says what measured this sample: "api" (the Engine's stats
	// API) or "cgroup" (read directly from the container's cgroup).
	Source string `json:"source,omitempty"`

	// CPUTotal (cumulative CPU time in ns, cpu_usage.total_usage) and
	// MemTotal (memory usage with the page cache, memory_stats.usage) are
	// the record's raw totals, kept for /metrics' counters and gauges.
	// They stay off the wire: clients get the docker stats numbers above.
	CPUTotal uint64 `json:"-"`
	MemTotal uint64 `json:"-"`
}

// ErrorBody explains a refused request.
type ErrorBody struct {
	Code    string `json:"code"` // bad_request, bad_version, bad_filter, ...
	Message string `json:"message"`
}

// Request is every client-to-server frame.
type Request struct {
	Type      string        `json:"type"`
	Subscribe *Subscription `json:"subscribe,omitempty"`
}

// Subscription chooses what a client receives. A connection may subscribe
// again to change it; each subscribe restarts the stream with a hello.
type Subscription struct {
	Protocol int `json:"protocol"` // must equal ProtocolVersion
	// Since resumes after this position. Nil (or another epoch, or a seq the
	// ring no longer holds) gets a snapshot instead.
	Since  *Position       `json:"since,omitempty"`
	Topics []string        `json:"topics,omitempty"`
	Filter ContainerFilter `json:"filter,omitzero"`
	// StatsInterval is a Go duration; at least MinStatsInterval. Empty means
	// DefaultStatsRefresh.
	StatsInterval string `json:"stats_interval,omitempty"`
	// History asks for the recent stats of each container in one history
	// message, after the snapshot or the replay and before live stats.
	History HistoryRequest `json:"history,omitzero"`
	// HistorySince is the time of the newest stats message the client
	// holds (that message's "time"). On a resume, history then holds only
	// the samples made after it; on a resync it is ignored.
	HistorySince time.Time `json:"history_since,omitzero"`
}

// Position is a point in the stream.
type Position struct {
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

// ContainerFilter limits container, remove and stats messages. Names, IDs
// and Projects are each OR within themselves; every label must match (as
// docker ps' label filters); the lists are ANDed. Empty lists match
// everything. A container that stops matching (a rename) gets no remove.
// Events are not filtered by it.
type ContainerFilter struct {
	Names    []string `json:"names,omitempty"`    // regular expressions, as docker ps --filter name= (see NameMatcher)
	IDs      []string `json:"ids,omitempty"`      // full ids or prefixes
	Labels   []string `json:"labels,omitempty"`   // "key" or "key=value"
	Projects []string `json:"projects,omitempty"` // Compose project names
}

// HistoryRequest is the subscribe field "history": true (everything the
// streamer keeps), false or absent (none), or a Go duration such as "2m"
// (at most that far back from now). It decodes whatever it is given, so
// that the hub can refuse a bad value with a clear error code rather than
// a JSON error.
type HistoryRequest struct {
	Want bool
	// Span limits how far back; zero means everything kept.
	Span time.Duration
	// Invalid is the raw value when it was neither a bool nor a duration
	// of at least zero.
	Invalid string
}

// MarshalJSON writes true, false or the span as a duration string.
func (r HistoryRequest) MarshalJSON() ([]byte, error) {
	switch {
	case r.Invalid != "":
		return json.Marshal(r.Invalid)
	case r.Want && r.Span > 0:
		return json.Marshal(r.Span.String())
	default:
		return json.Marshal(r.Want)
	}
}

// UnmarshalJSON accepts true, false, null or a duration string; anything
// else is kept in Invalid.
func (r *HistoryRequest) UnmarshalJSON(data []byte) error {
	*r = HistoryRequest{}
	var b bool
	if err := json.Unmarshal(data, &b); err == nil {
		r.Want = b
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		switch d, perr := time.ParseDuration(s); {
		case perr == nil && d > 0:
			r.Want, r.Span = true, d
		case perr == nil && d == 0:
			// "0s": none, as false.
		default:
			r.Invalid = s
		}
		return nil
	}
	r.Invalid = string(data)
	return nil
}

// ParseHistory reads the history query parameter of /v1/snapshot: "1" or
// "true" (everything kept), "0" or "false" (none), or a Go duration.
func ParseHistory(v string) (HistoryRequest, error) {
	switch v {
	case "", "0", "false":
		return HistoryRequest{}, nil
	case "1", "true":
		return HistoryRequest{Want: true}, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return HistoryRequest{}, fmt.Errorf("invalid history %q: use 1, 0 or a duration such as 2m", v)
	}
	return HistoryRequest{Want: d > 0, Span: d}, nil
}

// History is the recent past of each container's stats: one sample per Step
// on a grid shared by every container, as compact per-metric arrays. The
// values are those of the stats messages at the same moments (rates as
// 32-bit floats): when a stats source delivers nothing new by a flush, the
// value repeats, as in consecutive stats batches. A gap (no sample at that
// step: the container was not running) is null in JSON and NaN in Series.
type History struct {
	Step       string             `json:"step"` // Go duration, the stats flush period
	Span       string             `json:"span"` // Go duration: how much the streamer keeps ("0s": none, serve --history 0)
	Containers []ContainerHistory `json:"containers"`
}

// ContainerHistory holds one container's series; every array has the same
// length, and value i was sampled at Start + i*Step.
type ContainerHistory struct {
	ID             string    `json:"id"`
	Start          time.Time `json:"start"`
	CPUPercent     Series    `json:"cpu_percent"`
	MemUsage       Series    `json:"mem_usage"`
	MemLimit       Series    `json:"mem_limit"`
	NetRxRate      Series    `json:"net_rx_rate"`
	NetTxRate      Series    `json:"net_tx_rate"`
	BlockReadRate  Series    `json:"block_read_rate"`
	BlockWriteRate Series    `json:"block_write_rate"`
	PIDs           Series    `json:"pids"`
}

// Series is one metric over time; NaN marks a gap (null on the wire).
type Series []float64

// MarshalJSON writes NaN as null.
func (s Series) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+8*len(s))
	b = append(b, '[')
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, v, 'f', -1, 64)
		}
	}
	return append(b, ']'), nil
}

// UnmarshalJSON reads null as NaN.
func (s *Series) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		*s = nil
		return nil
	}
	var raw []*float64
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	out := make(Series, len(raw))
	for i, v := range raw {
		if v == nil {
			out[i] = math.NaN()
		} else {
			out[i] = *v
		}
	}
	*s = out
	return nil
}

// SnapshotDocument is the body of GET /v1/snapshot: the same state a
// subscriber's snapshot (and history) would hold, at position (Epoch, Seq),
// so that a client can go on with a subscribe whose since is that position.
type SnapshotDocument struct {
	Epoch    string    `json:"epoch"`
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Snapshot *Snapshot `json:"snapshot"`
	History  *History  `json:"history,omitempty"`
}
