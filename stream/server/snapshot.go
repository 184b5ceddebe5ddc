package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// snapshotParams are the query parameters GET /v1/snapshot understands;
// token is the TCP listener's (checked before the handler runs).
var snapshotParams = []string{"name", "id", "project", "label", "all", "history", "token"}

// serveSnapshot answers GET /v1/snapshot with one JSON document: what a
// subscriber's snapshot (and, with history=, its history) would hold, for
// clients that cannot or need not speak WebSocket. It reaches the hub only
// through its read-only Document method. The request has passed the same
// Host, token and Origin checks as /v1/stream.
func (s *Server) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSONError(w, http.StatusMethodNotAllowed, "bad_request", "use GET")
		return
	}
	q, code, err := parseSnapshotQuery(r.URL.Query())
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, code, err.Error())
		return
	}
	body, err := s.cfg.Hub.Document(q)
	if err != nil {
		var re *hub.RequestError
		if errors.As(err, &re) {
			writeJSONError(w, http.StatusBadRequest, re.Kind, re.Msg)
		} else {
			writeJSONError(w, http.StatusInternalServerError, "unavailable", err.Error())
		}
		return
	}
	// The Origin, if any, is one --allow-origin lists (checked before):
	// let that page read the answer with fetch (a token in ?token= keeps
	// it a simple request, without a preflight).
	if origin := r.Header.Get("Origin"); origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Add("Vary", "Origin")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// parseSnapshotQuery maps the query onto a document query: name, id,
// project and label are repeatable, as in a subscription's filter; all=1
// adds stopped containers; history=1 or a duration adds the history.
// A refusal comes with its error code.
func parseSnapshotQuery(v url.Values) (hub.DocumentQuery, string, error) {
	for k := range v {
		if !slices.Contains(snapshotParams, k) {
			return hub.DocumentQuery{}, "bad_request", fmt.Errorf("unknown query parameter %q: use name, id, project, label, all or history", k)
		}
	}
	q := hub.DocumentQuery{Filter: stream.ContainerFilter{
		Names:    v["name"],
		IDs:      v["id"],
		Projects: v["project"],
		Labels:   v["label"],
	}}
	switch a := v.Get("all"); a {
	case "", "0", "false":
	case "1", "true":
		q.All = true
	default:
		return q, "bad_request", fmt.Errorf("invalid all %q: use 1 or 0", a)
	}
	hr, err := stream.ParseHistory(v.Get("history"))
	if err != nil {
		return q, "bad_history", err
	}
	q.History = hr
	return q, "", nil
}

// writeJSONError answers with the same body as a stream's error frame.
func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	data, _ := json.Marshal(&stream.Message{Type: stream.TypeError, Time: time.Now(), Error: &stream.ErrorBody{Code: code, Message: msg}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
