//go:build !windows

package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// getJSON GETs url with hdr and decodes the body into v; it returns the
// response for its status and headers.
func getJSON(t *testing.T, client *http.Client, u string, hdr http.Header, v any) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %s: body is not JSON: %v: %s", u, resp.Status, err, body)
		}
	}
	return resp
}

func TestSnapshotOverUnix(t *testing.T) {
	leakCheck(t)
	h := hub.New(hub.Config{History: time.Minute})
	web := stream.Container{ID: "a1", Name: "web", State: "running", Labels: map[string]string{"app": "shop", "tier": "front"}}
	db := stream.Container{ID: "b1", Name: "db", State: "exited", Labels: map[string]string{"app": "shop"}}
	other := stream.Container{ID: "c1", Name: "other", State: "running"}
	for _, c := range []stream.Container{web, db, other} {
		h.Upsert(c)
	}
	h.Stats(stream.Stats{ID: "a1", Read: time.Now(), CPUPercent: 12.5, MemUsage: 4096})
	ts := startServer(t, h, Config{})
	client := unixHTTP(ts.path)
	base := "http://docker-live" + stream.SnapshotPath

	var doc stream.SnapshotDocument
	resp := getJSON(t, client, base+"?label=app", nil, &doc)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("snapshot: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if doc.Epoch != h.Epoch() || doc.Seq != 3 || doc.Snapshot == nil || len(doc.Snapshot.Containers) != 1 || doc.Snapshot.Containers[0].ID != "a1" {
		t.Fatalf("label=app: %+v, want epoch, seq 3 and only the running web", doc)
	}
	if st := doc.Snapshot.Containers[0].Stats; st == nil || st.CPUPercent != 12.5 {
		t.Errorf("web's newest stats = %+v", st)
	}
	if doc.History != nil {
		t.Error("history without history=")
	}

	doc = stream.SnapshotDocument{}
	getJSON(t, client, base+"?label=app&all=1&history=1", nil, &doc)
	if len(doc.Snapshot.Containers) != 2 || doc.History == nil || doc.History.Span != "1m0s" {
		t.Errorf("all=1&history=1: %d containers, history %+v", len(doc.Snapshot.Containers), doc.History)
	}
	doc = stream.SnapshotDocument{}
	getJSON(t, client, base+"?label=app&label=tier%3Dfront&name=web&history=30s", nil, &doc)
	if len(doc.Snapshot.Containers) != 1 || doc.History == nil {
		t.Errorf("repeated labels and a name: %+v", doc)
	}
	doc = stream.SnapshotDocument{}
	getJSON(t, client, base, nil, &doc)
	if len(doc.Snapshot.Containers) != 2 {
		t.Errorf("no filter: %d containers, want the 2 running", len(doc.Snapshot.Containers))
	}

	for _, c := range []struct {
		query, code string
	}{
		{"?label=%3Dx", "bad_filter"},
		{"?name=", "bad_filter"},
		{"?history=soon", "bad_history"},
		{"?all=maybe", "bad_request"},
		{"?topic=stats", "bad_request"},
	} {
		var m stream.Message
		resp := getJSON(t, client, base+c.query, nil, &m)
		if resp.StatusCode != http.StatusBadRequest || m.Type != stream.TypeError || m.Error == nil || m.Error.Code != c.code {
			t.Errorf("%s: %s %+v, want 400 with error code %s", c.query, resp.Status, m.Error, c.code)
		}
	}
	resp, err := client.Post(base, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s, want 405", resp.Status)
	}
	// The same Origin rule as the stream.
	resp = getJSON(t, client, base, http.Header{"Origin": {"https://evil.example"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin: %s, want 403", resp.Status)
	}
	ts.stillServes(t)
}

func TestSnapshotOverTCPHasTheStreamsChecks(t *testing.T) {
	leakCheck(t)
	h := hub.New(hub.Config{})
	ts := startServer(t, h, Config{Token: []byte(testToken), AllowOrigins: []string{"http://localhost:8080"}})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	u := "http://" + ts.addr + stream.SnapshotPath
	bearer := http.Header{"Authorization": {"Bearer " + testToken}}
	for _, c := range []struct {
		name  string
		query string
		hdr   http.Header
		want  int
	}{
		{"no token", "", nil, http.StatusUnauthorized},
		{"wrong token", "", http.Header{"Authorization": {"Bearer nope"}}, http.StatusUnauthorized},
		{"bearer", "", bearer, http.StatusOK},
		{"query token", "?token=" + url.QueryEscape(testToken) + "&history=1", nil, http.StatusOK},
		{"evil host", "", http.Header{"Authorization": bearer["Authorization"], "Host": {"evil.example"}}, http.StatusForbidden},
		{"foreign origin", "", http.Header{"Authorization": bearer["Authorization"], "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"allowed origin", "", http.Header{"Authorization": bearer["Authorization"], "Origin": {"http://localhost:8080"}}, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, u+c.query, nil)
			for k, vs := range c.hdr {
				if k == "Host" {
					req.Host = vs[0]
					continue
				}
				req.Header[k] = vs
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %s, want %d", resp.Status, c.want)
			}
			if origin := c.hdr.Get("Origin"); c.want == http.StatusOK && origin != "" && resp.Header.Get("Access-Control-Allow-Origin") != origin {
				t.Errorf("an allowed origin got no Access-Control-Allow-Origin")
			}
		})
	}
}
