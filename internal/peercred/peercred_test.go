//go:build !windows

package peercred

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestXucredUID(t *testing.T) {
	if uid, err := xucredUID(0, 501); err != nil || uid != 501 {
		t.Fatalf("xucredUID(0, 501) = %d, %v; want 501", uid, err)
	}
	// A layout we do not know must not be read as a uid (0 would be root).
	if uid, err := xucredUID(1, 0); err == nil {
		t.Fatalf("xucredUID(1, 0) = %d, want an error", uid)
	}
}

// Both ends of a socket pair of ours report our own uid.
func TestUIDOfOwnSocket(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix sockets only")
	}
	path := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	defer server.Close()
	for name, c := range map[string]net.Conn{"client": client, "server": server} {
		uid, err := UID(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if int(uid) != os.Getuid() {
			t.Fatalf("%s end: uid %d, want %d", name, uid, os.Getuid())
		}
	}
	if _, err := UID(&net.TCPConn{}); err == nil {
		t.Fatal("UID of a TCP connection: want an error")
	}
}
