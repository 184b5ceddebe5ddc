package server

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
)

// fakeListener hands out the given connections, then fails.
type fakeListener struct {
	conns []net.Conn
}

func (f *fakeListener) Accept() (net.Conn, error) {
	if len(f.conns) == 0 {
		return nil, errors.New("no more")
	}
	c := f.conns[0]
	f.conns = f.conns[1:]
	return c, nil
}
func (f *fakeListener) Close() error   { return nil }
func (f *fakeListener) Addr() net.Addr { return &net.UnixAddr{} }

// namedConn is a connection whose peer the fake peerOf reads.
type namedConn struct {
	net.Conn
	peer   string
	err    error
	mu     *sync.Mutex
	closed *bool
}

func (c namedConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.closed = true
	return nil
}

// The listener logic shared by every platform (the peer named by uid on
// Unix, by SID on Windows): strangers and unreadable peers are closed and
// logged, the user's own connection is returned.
func TestPeerListenerDropsStrangers(t *testing.T) {
	var mu sync.Mutex
	closed := make([]bool, 3)
	conns := []net.Conn{
		namedConn{peer: "S-1-5-21-9-9-9-1002", mu: &mu, closed: &closed[0]},
		namedConn{err: fmt.Errorf("the client has exited"), mu: &mu, closed: &closed[1]},
		namedConn{peer: "S-1-5-21-9-9-9-1001", mu: &mu, closed: &closed[2]},
	}
	var logged []string
	l := &peerListener{
		Listener: &fakeListener{conns: conns},
		want:     "S-1-5-21-9-9-9-1001",
		peerOf: func(c net.Conn) (string, error) {
			nc := c.(namedConn)
			return nc.peer, nc.err
		},
		logf: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) },
	}
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if c.(namedConn).peer != "S-1-5-21-9-9-9-1001" {
		t.Fatalf("accepted %v", c)
	}
	if !closed[0] || !closed[1] || closed[2] {
		t.Fatalf("closed = %v, want the two refused ones only", closed)
	}
	want := []string{
		"refused a connection from S-1-5-21-9-9-9-1002: only S-1-5-21-9-9-9-1001 may connect",
		"refused a connection: cannot read its peer credentials: the client has exited",
	}
	if strings.Join(logged, "\n") != strings.Join(want, "\n") {
		t.Fatalf("logged:\n%s\nwant:\n%s", strings.Join(logged, "\n"), strings.Join(want, "\n"))
	}
	if _, err := l.Accept(); err == nil {
		t.Fatal("Accept after the last connection: want the listener's error")
	}
}
