package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/docker-live/docker-live/stream"
)

// FuzzDecodeRequest checks that no client frame makes the decoder panic,
// that every refusal is one line, and that whatever it accepts is a single
// JSON value holding a subscribe request.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"type":"subscribe","subscribe":{"protocol":1}}`,
		`{"type":"subscribe","subscribe":{"protocol":1,"since":{"epoch":"18a-0f","seq":42},"topics":["containers","stats"],"filter":{"names":["web"],"ids":["ab"],"labels":["k","k=v"],"projects":["shop"]},"stats_interval":"2s"}}`,
		` {"type":"subscribe","subscribe":{}}` + "\n",
		`{"type":"subscribe"}`,
		`{"type":"subscribe","subscribe":null}`,
		`{"type":"unsubscribe"}`,
		`{"type":""}`,
		`{}`,
		`null`,
		`[]`,
		`"subscribe"`,
		`{"type":"subscribe","subscribe":{"protocol":1}} {}`,
		`{"type":"subscribe","subscribe":{"protocol":1}}]`,
		`{"type":"subscribe","subscribe":{"protocol":"1"}}`,
		`{"type":"subscribe","subscribe":{"since":{"seq":-1}}}`,
		`{"type":"subscribe","subscribe":{"protocol":1e400}}`,
		`{"type":"subscribe",`,
		"{\"type\":\"subscribe\xff\"}",
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req stream.Request
		err := decodeRequest(data, &req)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
				t.Fatalf("refusal of %q is not one line: %q", data, msg)
			}
			return
		}
		if req.Type != stream.TypeSubscribe || req.Subscribe == nil {
			t.Fatalf("accepted %q as %+v, want a subscribe with a body", data, req)
		}
		if !json.Valid(data) {
			t.Fatalf("accepted %q, which is not one JSON value", data)
		}
	})
}
