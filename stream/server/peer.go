package server

import "net"

// peerListener drops every connection whose peer is not the user want,
// before any byte is read. peerOf names a connection's peer the way want
// is written ("uid 1000" on Unix, a SID on Windows).
type peerListener struct {
	net.Listener
	want   string
	peerOf func(net.Conn) (string, error)
	logf   func(string, ...any)
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		peer, err := l.peerOf(c)
		if err == nil && peer == l.want {
			return c, nil
		}
		if err != nil {
			l.logf("refused a connection: cannot read its peer credentials: %v", err)
		} else {
			l.logf("refused a connection from %s: only %s may connect", peer, l.want)
		}
		c.Close()
	}
}
