package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
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
	pongs   chan string          // read pump to write pump: answer the client's ping
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
		pongs:   make(chan string, 1),
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
	// The write pump writes data frames past gorilla's writer (see
	// writeFrames), so it must be the connection's only writer: the pong
	// goes through it. One pending pong is enough; a newer ping replaces
	// nothing the client waits for.
	c.ws.SetPingHandler(func(data string) error {
		select {
		case c.pongs <- data:
		default:
		}
		return nil
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
	var fw frameWriter
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
			if err := fw.writeFrames(c.ws.UnderlyingConn(), frames); err != nil {
				c.kill()
				return
			}
			clear(frames)
			if code != 0 {
				c.closeWith(code, text)
				return
			}
		case req := <-c.closing:
			if req.errMsg != nil {
				_ = fw.writeFrames(c.ws.UnderlyingConn(), [][]byte{req.errMsg})
			}
			c.closeWith(req.code, req.text)
			return
		case data := <-c.pongs:
			if err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait)); err != nil {
				c.kill()
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.kill()
				return
			}
		}
	}
}

// frameWriter writes text messages as WebSocket frames straight to the
// connection, as many as are queued in one write. gorilla/websocket makes
// one write syscall per message, which at 10,000 events a second was 13 %
// of the streamer's CPU, and each is a chance to be descheduled between
// two frames the client waits for. Frames from the server are never
// masked (RFC 6455, 5.1), and each message stays one final text frame, as
// gorilla's WriteMessage sends it. Only the write pump writes to the
// connection (control frames included), so nothing interleaves.
type frameWriter struct {
	buf []byte
}

const (
	// bigFrame is the size from which a message is written on its own,
	// not copied into the batch: snapshots of thousands of containers are
	// megabytes.
	bigFrame = 32 << 10
	// keptBuffer is the largest batch buffer kept between writes, so that
	// an idle connection holds no more than this.
	keptBuffer = 64 << 10
)

// appendFrameHeader appends the header of one final, unmasked text frame
// of n payload bytes.
func appendFrameHeader(dst []byte, n int) []byte {
	dst = append(dst, 0x80|websocket.TextMessage) // FIN, opcode
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 127), uint64(n))
	}
}

func (w *frameWriter) writeFrames(nc net.Conn, frames [][]byte) error {
	if len(frames) == 0 {
		return nil
	}
	_ = nc.SetWriteDeadline(time.Now().Add(writeWait))
	b := w.buf[:0]
	var err error
	for _, f := range frames {
		b = appendFrameHeader(b, len(f))
		if len(f) < bigFrame {
			b = append(b, f...)
			continue
		}
		if _, err = nc.Write(b); err == nil {
			_, err = nc.Write(f)
		}
		b = b[:0]
		if err != nil {
			break
		}
	}
	if err == nil && len(b) > 0 {
		_, err = nc.Write(b)
	}
	if cap(b) <= keptBuffer {
		w.buf = b[:0]
	} else {
		w.buf = nil
	}
	return err
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
