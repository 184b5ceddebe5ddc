// Package stream is the streamer core: the Engine-side source, the stats
// math, the hub that owns state and fans it out, the WebSocket server, and
// the client (with its polling fallback) that commands use to read it.
//
// This file is the wire contract between the streamer and its clients.
// docs/protocol.md documents it; keep the two in step.
package stream

import (
	"time"

	"github.com/moby/moby/api/types/events"
)

// ProtocolVersion is bumped on any incompatible change to the messages below.
// Additive fields do not bump it: clients must ignore fields they do not know.
const ProtocolVersion = 1

// HTTP paths served by the streamer.
const (
	StreamPath = "/v1/stream"
	HealthPath = "/v1/health"
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
