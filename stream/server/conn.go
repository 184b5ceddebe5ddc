package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/stream"
	"github.com/docker-live/docker-live/stream/hub"
)

// Timing of every stream connection.
const (
	// writeWait bounds one frame's write; a client that cannot take a frame
	// in this time is gone or hopelessly slow.
	writeWait = 10 * time.Second
	// pongWait is how long the client may stay silent (no pong, no message).
	pongWait = 60 * time.Second
	// pingPeriod must be shorter than pongWait.
	pingPeriod = pongWait * 9 / 10
	// subscribeWait is how long a new connection may take to subscribe.
	subscribeWait = 10 * time.Second
	// closeGrace is how long a write pump gets to send the close frame to
	// a subscriber the hub ended (too slow) before the socket is cut: a
	// client that does not read cannot take the frame, and must not hold a
	// connection for the whole writeWait.
	closeGrace = time.Second
	// subscribeBurst and subscribeRefill rate-limit subscribe requests, so
	// that a flood cannot make the hub build snapshot after snapshot.
	subscribeBurst  = 10
	subscribeRefill = time.Second
)

// conn is one WebSocket client: one read pump (this goroutine's caller) and
// one write pump, which alone writes data frames.
type conn struct {
	hub  *hub.Hub
	ws   *websocket.Conn
	logf func(string, ...any)

	subs    chan *hub.Subscriber // read pump to write pump: the current subscription
	closing chan closeReq        // read pump to write pump: say why and close
	done    chan struct{}        // closed when the read pump ends
	written chan struct{}        // closed when the write pump ends
}

type closeReq struct {
	code   int
	text   string
	errMsg []byte // an error message to send before the close frame
}

func newConn(h *hub.Hub, ws *websocket.Conn, logf func(string, ...any)) *conn {
	return &conn{
		hub:     h,
		ws:      ws,
		logf:    logf,
		subs:    make(chan *hub.Subscriber, 1),
		closing: make(chan closeReq, 1),
		done:    make(chan struct{}),
		written: make(chan struct{}),
	}
}

// stop asks the write pump to close the connection with code.
func (c *conn) stop(code int, text string) {
	select {
	case c.closing <- closeReq{code: code, text: text}:
	default:
	}
}

// run is the read pump. It returns once the connection is finished.
func (c *conn) run() {
	var current *hub.Subscriber
	go func() {
		defer close(c.written)
		c.writePump()
	}()
	defer func() {
		close(c.done)
		if current != nil {
			c.hub.Unsubscribe(current)
		}
		<-c.written
		_ = c.ws.Close()
	}()

	c.ws.SetReadLimit(stream.MaxClientMessage)
	_ = c.ws.SetReadDeadline(time.Now().Add(subscribeWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(pongWait))
	})
	tokens := subscribeBurst
	lastRefill := time.Now()
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.fail(stream.CloseMessageTooBig, "too_big", fmt.Sprintf("message over the %d-byte limit", stream.MaxClientMessage))
			}
			return
		}
		if kind != websocket.TextMessage {
			c.fail(stream.CloseBadRequest, "bad_request", "binary frames are not supported: send JSON text frames")
			return
		}
		var req stream.Request
		if err := decodeRequest(data, &req); err != nil {
			c.fail(stream.CloseBadRequest, "bad_request", err.Error())
			return
		}
		// Refill one token per period, up to the burst.
		if n := int(time.Since(lastRefill) / subscribeRefill); n > 0 {
			tokens = min(subscribeBurst, tokens+n)
			lastRefill = lastRefill.Add(time.Duration(n) * subscribeRefill)
		}
		if tokens == 0 {
			c.fail(websocket.ClosePolicyViolation, "too_many_subscribes", "too many subscribe requests")
			return
		}
		tokens--
		sub, err := c.hub.Subscribe(*req.Subscribe)
		if err != nil {
			var re *hub.RequestError
			if errors.As(err, &re) {
				c.fail(re.Code, re.Kind, re.Msg)
			} else {
				c.fail(stream.CloseShuttingDown, "unavailable", err.Error())
			}
			return
		}
		if current != nil {
			c.hub.Unsubscribe(current)
		}
		current = sub
		go c.cutWhenStuck(sub)
		// The write pump takes the newest subscription; drop a stale one
		// it has not picked up yet.
		select {
		case <-c.subs:
		default:
		}
		c.subs <- sub
		_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
	}
}

// cutWhenStuck closes the socket when sub has ended and the write pump has
// not finished within closeGrace: it is blocked on a client that reads
// nothing.
func (c *conn) cutWhenStuck(sub *hub.Subscriber) {
	select {
	case <-sub.Ended():
	case <-c.done:
		return
	}
	select {
	case <-c.written:
	case <-time.After(closeGrace):
		c.logf("cutting a client that does not read")
		c.kill()
	}
}

// decodeRequest accepts exactly one JSON object of a known type.
func decodeRequest(data []byte, req *stream.Request) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(req); err != nil {
		return fmt.Errorf("malformed JSON: %v", err)
	}
	// More would let a stray ']' or '}' after the object pass.
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("malformed JSON: more than one value in a frame")
	}
	switch req.Type {
	case stream.TypeSubscribe:
		if req.Subscribe == nil {
			return errors.New(`subscribe needs a "subscribe" object`)
		}
		return nil
	case "":
		return errors.New(`message has no "type"`)
	default:
		return fmt.Errorf("unknown message type %q", req.Type)
	}
}

// fail sends an error message and then closes with code.
func (c *conn) fail(code int, kind, msg string) {
	c.logf("closing client: %s", msg)
	errMsg, _ := json.Marshal(&stream.Message{Type: stream.TypeError, Time: time.Now(), Error: &stream.ErrorBody{Code: kind, Message: msg}})
	select {
	case c.closing <- closeReq{code: code, text: msg, errMsg: errMsg}:
	default:
	}
	// Let the write pump say why before the read pump ends the connection;
	// its writes carry deadlines, so this wait is bounded.
	<-c.written
	// Then read until the client answers the close or closeGrace passes,
	// so that the socket is not reset under the close frame.
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			return
		}
	}
}

func (c *conn) writePump() {
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	var sub *hub.Subscriber
	var ready <-chan struct{}
	var frames [][]byte
	for {
		select {
		case <-c.done:
			return
		case sub = <-c.subs:
			ready = sub.Ready()
		case <-ready:
			var code int
			var text string
			frames, code, text = sub.Take(frames)
			for _, f := range frames {
				_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
				if err := c.ws.WriteMessage(websocket.TextMessage, f); err != nil {
					c.kill()
					return
				}
			}
			clear(frames)
			if code != 0 {
				c.closeWith(code, text)
				return
			}
		case req := <-c.closing:
			if req.errMsg != nil {
				_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
				_ = c.ws.WriteMessage(websocket.TextMessage, req.errMsg)
			}
			c.closeWith(req.code, req.text)
			return
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.kill()
				return
			}
		}
	}
}

// closeWith sends a close frame and gives the client closeGrace to answer
// it; the read pump ends on the answer or on the deadline. Closing the
// socket at once could reset it before the client read the frame, and the
// client would see 1006 instead of the code.
func (c *conn) closeWith(code int, text string) {
	if len(text) > 120 {
		text = text[:120]
	}
	if err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second)); err != nil {
		c.kill()
		return
	}
	_ = c.ws.UnderlyingConn().SetReadDeadline(time.Now().Add(closeGrace))
}

func (c *conn) kill() {
	_ = c.ws.UnderlyingConn().Close()
}
