package hub

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
)

// eventEncoder encodes one event at a time into a buffer it keeps, so
// that an event costs no encoder and no growing buffer: at 10,000 events
// a second the hub's json.Marshal of each message was 18 % of the
// streamer's CPU. It does not escape HTML (<, >, &), as docker events
// --format json prints an event: a client printing that form can copy the
// event's JSON as it came (see plugin/events.go).
type eventEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var eventEncoders = sync.Pool{New: func() any {
	e := &eventEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// maxKeptEventBuffer is the largest buffer an encoder goes back to the
// pool with; an event with huge labels must not pin its buffer.
const maxKeptEventBuffer = 64 << 10

func getEventEncoder() *eventEncoder { return eventEncoders.Get().(*eventEncoder) }

func putEventEncoder(e *eventEncoder) {
	if e.buf.Cap() > maxKeptEventBuffer {
		return
	}
	eventEncoders.Put(e)
}

// encode returns ev's JSON, valid until the encoder's next use.
func (e *eventEncoder) encode(ev *events.Message) ([]byte, error) {
	e.buf.Reset()
	if err := e.enc.Encode(ev); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'}), nil
}

// appendEventMessage appends the event message of seq, stamped at, around
// the event's JSON: what json.Marshal of stream.Message{Type: "event", ...}
// writes, field for field (hub_test checks it), without encoding the event
// under the hub's lock. epochJSON is the epoch as a JSON string.
func appendEventMessage(dst, epochJSON []byte, seq uint64, at time.Time, event []byte) []byte {
	if dst == nil {
		dst = make([]byte, 0, len(event)+len(epochJSON)+96)
	}
	dst = append(dst, `{"type":"event","epoch":`...)
	dst = append(dst, epochJSON...)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"time":"`...)
	dst = at.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","event":`...)
	dst = append(dst, event...)
	return append(dst, '}')
}
