package e2e

// Issue "faults, load and bad input": nobody let in. Bad input on the
// server over the real socket, the TCP listener's token, Origin and Host
// checks, another OS user against the Unix socket, file modes under a
// permissive umask, and the warning for a non-loopback listener. Each
// claim of docs/security.md is checked against the real plugin.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/docker-live/docker-live/stream"
)

// fltPeerEnv switches the test binary into a one-shot client of the Unix
// socket it names (see init): how the tests connect as another OS user.
const fltPeerEnv = "DLIVE_E2E_PEER_SOCKET"

// Exit codes of the one-shot client.
const (
	fltPeerHello     = 0 // it got a hello: it was let in
	fltPeerDialErr   = 3 // connect(2) failed
	fltPeerHandshake = 4 // connected, then the handshake failed
	fltPeerNoHello   = 5 // handshake done, then no hello
)

func init() {
	if socket := os.Getenv(fltPeerEnv); socket != "" {
		os.Exit(fltPeerConnect(socket))
	}
}

// fltPeerConnect dials socket, opens a stream and subscribes; it prints
// what happened on stdout and says it with its exit code.
func fltPeerConnect(socket string) int {
	c, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		fmt.Printf("dial: %v\n", err)
		return fltPeerDialErr
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	ws, _, err := websocket.NewClient(c, fltURL("ws://docker-live"+stream.StreamPath), nil, 1024, 1024)
	if err != nil {
		fmt.Printf("handshake: %v\n", err)
		return fltPeerHandshake
	}
	if err := ws.WriteJSON(stream.Request{Type: stream.TypeSubscribe, Subscribe: &stream.Subscription{Protocol: stream.ProtocolVersion}}); err != nil {
		fmt.Printf("subscribe: %v\n", err)
		return fltPeerNoHello
	}
	var m stream.Message
	if err := ws.ReadJSON(&m); err != nil {
		fmt.Printf("read: %v\n", err)
		return fltPeerNoHello
	}
	fmt.Printf("got %s\n", m.Type)
	if m.Type == stream.TypeHello {
		return fltPeerHello
	}
	return fltPeerNoHello
}

// TestSecurityBadInput sends the server every kind of bad input over the
// real socket: each must get its documented error and close code, and a
// normal client must still be served after each.
func TestSecurityBadInput(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	s := fltServe(t, env, nil, "--listen", "127.0.0.1:0")
	info, err := fltReadInfo(s.Dir)
	if err != nil || info.Listen == "" {
		t.Fatalf("info.json has no listen address: %v %+v", err, info)
	}

	// send writes raw frames after the handshake and returns what the
	// server answered until it closed.
	type result struct {
		msgs []stream.Message
		code int
		err  error
	}
	send := func(t *testing.T, frames func(ws *websocket.Conn)) result {
		t.Helper()
		ws, _, err := fltDialUnix(s.Socket, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer ws.Close()
		frames(ws)
		msgs, code, err := fltReadUntilClose(ws, 15*time.Second)
		return result{msgs, code, err}
	}
	// errorCode is the code of the error message among msgs, or "".
	errorCode := func(msgs []stream.Message) string {
		for _, m := range msgs {
			if m.Type == stream.TypeError && m.Error != nil {
				return m.Error.Code
			}
		}
		return ""
	}
	text := func(data string) func(*websocket.Conn) {
		return func(ws *websocket.Conn) { _ = ws.WriteMessage(websocket.TextMessage, []byte(data)) }
	}
	subscribe := func(sub stream.Subscription) func(*websocket.Conn) {
		return func(ws *websocket.Conn) {
			_ = ws.WriteJSON(stream.Request{Type: stream.TypeSubscribe, Subscribe: &sub})
		}
	}

	cases := []struct {
		name      string
		frames    func(*websocket.Conn)
		wantClose int
		wantError string // the error message's code; "" when none is required
	}{
		{"malformed JSON", text(`{"type":"subscribe","subscribe":{`), stream.CloseBadRequest, "bad_request"},
		{"trailing garbage", text(`{"type":"subscribe","subscribe":{"protocol":1}}}`), stream.CloseBadRequest, "bad_request"},
		{"not an object", text(`[1,2,3]`), stream.CloseBadRequest, "bad_request"},
		{"unknown type", text(`{"type":"gimme"}`), stream.CloseBadRequest, "bad_request"},
		{"no type", text(`{"subscribe":{"protocol":1}}`), stream.CloseBadRequest, "bad_request"},
		{"subscribe without body", text(`{"type":"subscribe"}`), stream.CloseBadRequest, "bad_request"},
		{"binary frame", func(ws *websocket.Conn) {
			_ = ws.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"subscribe","subscribe":{"protocol":1}}`))
		}, stream.CloseBadRequest, "bad_request"},
		{"frame over 64 KiB", func(ws *websocket.Conn) {
			_ = ws.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), stream.MaxClientMessage+1024))
		}, stream.CloseMessageTooBig, ""},
		{"invalid label filter", subscribe(stream.Subscription{Protocol: stream.ProtocolVersion, Filter: stream.ContainerFilter{Labels: []string{"=x"}}}),
			stream.CloseBadRequest, "bad_filter"},
		{"empty name filter", subscribe(stream.Subscription{Protocol: stream.ProtocolVersion, Filter: stream.ContainerFilter{Names: []string{""}}}),
			stream.CloseBadRequest, "bad_filter"},
		{"unknown topic", subscribe(stream.Subscription{Protocol: stream.ProtocolVersion, Topics: []string{"secrets"}}),
			stream.CloseBadRequest, "bad_topic"},
		{"stats interval too short", subscribe(stream.Subscription{Protocol: stream.ProtocolVersion, StatsInterval: "1ms"}),
			stream.CloseBadRequest, "bad_interval"},
		{"stats interval garbage", subscribe(stream.Subscription{Protocol: stream.ProtocolVersion, StatsInterval: "soon"}),
			stream.CloseBadRequest, "bad_interval"},
		{"wrong protocol version", subscribe(stream.Subscription{Protocol: 99}), stream.CloseBadVersion, "bad_version"},
		{"no protocol version", subscribe(stream.Subscription{}), stream.CloseBadVersion, "bad_version"},
		{"subscribe flood", func(ws *websocket.Conn) {
			for range 12 {
				_ = ws.WriteJSON(stream.Request{Type: stream.TypeSubscribe, Subscribe: &stream.Subscription{Protocol: stream.ProtocolVersion, Topics: []string{stream.TopicEvents}}})
			}
		}, websocket.ClosePolicyViolation, "too_many_subscribes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, tc.frames)
			if r.code != tc.wantClose {
				t.Errorf("closed with %d (%v), want %d; messages %d", r.code, r.err, tc.wantClose, len(r.msgs))
			}
			if tc.wantError != "" {
				if got := errorCode(r.msgs); got != tc.wantError {
					t.Errorf("error message code %q, want %q", got, tc.wantError)
				}
			}
			fltExpectWorking(t, s.Socket, tc.name)
		})
	}

	t.Run("a burst within the limit", func(t *testing.T) {
		// Ten subscribes at once are the documented burst: the connection
		// stays open and the last one is served.
		ws, _, err := fltDialUnix(s.Socket, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		for range 10 {
			if err := fltSubscribe(ws, stream.Subscription{Topics: []string{stream.TopicEvents}}); err != nil {
				t.Fatal(err)
			}
		}
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			var m stream.Message
			if err := ws.ReadJSON(&m); err != nil {
				t.Fatalf("10 subscribes (the burst) ended the connection: %v", err)
			}
			if m.Type == stream.TypeHello {
				break
			}
		}
	})

	t.Run("plain HTTP GET", func(t *testing.T) {
		resp, err := fltUnixHTTP(s.Socket).Get("http://docker-live" + stream.StreamPath)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %s, want 400", stream.StreamPath, resp.Status)
		}
		if !strings.Contains(strings.ToLower(string(body)), "websocket") || strings.Count(strings.TrimSpace(string(body)), "\n") > 0 {
			t.Errorf("GET %s: body %q, want one line that says to use a WebSocket client", stream.StreamPath, body)
		}
		fltExpectWorking(t, s.Socket, "a plain GET")
	})

	t.Run("no subscribe", func(t *testing.T) {
		t.Parallel()
		ws, _, err := fltDialUnix(s.Socket, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		began := time.Now()
		_, code, err := fltReadUntilClose(ws, 15*time.Second)
		if code == -1 {
			t.Fatalf("a connection that never subscribes was still open after 15 s (documented: 10 s): %v", err)
		}
		t.Logf("a connection without subscribe was closed after %v (%v)", time.Since(began).Round(100*time.Millisecond), err)
		fltExpectWorking(t, s.Socket, "a connection that never subscribed")
	})

	t.Run("half-open TCP", func(t *testing.T) {
		t.Parallel()
		// Connections that send half a handshake and stall must neither
		// block others nor stay open past the header timeout (5 s).
		var conns []net.Conn
		for range 50 {
			c, err := net.Dial("tcp", info.Listen)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET "+stream.StreamPath+" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"); err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		began := time.Now()
		fltExpectWorking(t, s.Socket, "50 stalled TCP handshakes (Unix socket)")
		token := fltToken(t, s.Dir)
		ws, resp, err := websocket.DefaultDialer.Dial("ws://"+info.Listen+stream.StreamPath, http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			t.Fatalf("a normal TCP client next to 50 stalled handshakes: %v (%v)", err, resp)
		}
		if err := fltSubscribe(ws, stream.Subscription{Topics: []string{stream.TopicContainers}}); err != nil {
			t.Fatal(err)
		}
		var m stream.Message
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := ws.ReadJSON(&m); err != nil || m.Type != stream.TypeHello {
			t.Fatalf("a normal TCP client next to stalled handshakes got %q, %v", m.Type, err)
		}
		ws.Close()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var longest time.Duration
		open := 0
		for _, c := range conns {
			wg.Go(func() {
				_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
				_, err := io.Copy(io.Discard, c)
				mu.Lock()
				defer mu.Unlock()
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					open++
				}
				longest = max(longest, time.Since(began))
			})
		}
		wg.Wait()
		if open > 0 {
			t.Errorf("%d of 50 stalled handshakes were still open after 15 s (header timeout is 5 s)", open)
		}
		t.Logf("stalled handshakes dropped within %v", longest.Round(100*time.Millisecond))
	})

	if !fltAlive(s.PID) {
		t.Fatalf("the streamer died under bad input")
	}
}

// fltToken reads the TCP token from a state folder.
func fltToken(t testing.TB, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		t.Fatalf("reading the token: %v", err)
	}
	tok := strings.TrimSpace(string(data))
	if len(tok) != 64 {
		t.Fatalf("the token file holds %d characters, want 64 hex", len(tok))
	}
	return tok
}

// TestSecurityTCPListener checks the TCP listener's guards: the token
// (header or ?token=), never logged or shown; the Origin and Host checks.
func TestSecurityTCPListener(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	s := fltServe(t, env, nil, "--listen", "127.0.0.1:0")
	info, err := fltReadInfo(s.Dir)
	if err != nil || info.Listen == "" {
		t.Fatalf("info.json has no listen address: %v %+v", err, info)
	}
	token := fltToken(t, s.Dir)
	var wrongRaw [32]byte
	_, _ = rand.Read(wrongRaw[:])
	wrong := hex.EncodeToString(wrongRaw[:])
	base := "http://" + info.Listen

	do := func(path string, header http.Header, host string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		if host != "" {
			req.Host = host
		}
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	health := stream.HealthPath
	wsHeaders := func(h http.Header) http.Header {
		h = h.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Connection", "Upgrade")
		h.Set("Upgrade", "websocket")
		h.Set("Sec-WebSocket-Version", "13")
		h.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		return h
	}

	cases := []struct {
		name   string
		path   string
		header http.Header
		host   string
		want   int
	}{
		{"health without token", health, nil, "", http.StatusUnauthorized},
		{"stream without token", stream.StreamPath, wsHeaders(nil), "", http.StatusUnauthorized},
		{"health with a wrong token", health, bearer(wrong), "", http.StatusUnauthorized},
		{"stream with a wrong token", stream.StreamPath, wsHeaders(bearer(wrong)), "", http.StatusUnauthorized},
		{"wrong token in the query", health + "?token=" + wrong, nil, "", http.StatusUnauthorized},
		{"empty bearer", health, http.Header{"Authorization": {"Bearer "}}, "", http.StatusUnauthorized},
		{"basic auth", health, http.Header{"Authorization": {"Basic " + token}}, "", http.StatusUnauthorized},
		{"token with a suffix", health, bearer(token + "0"), "", http.StatusUnauthorized},
		{"health with the token", health, bearer(token), "", http.StatusOK},
		{"token in the query", health + "?token=" + token, nil, "", http.StatusOK},
		{"foreign Origin", stream.StreamPath + "?token=" + token, wsHeaders(http.Header{"Origin": {"http://evil.example"}}), "", http.StatusForbidden},
		{"foreign Origin on health", health, http.Header{"Authorization": {"Bearer " + token}, "Origin": {"https://evil.example"}}, "", http.StatusForbidden},
		{"Host evil.example", health, bearer(token), "evil.example", http.StatusForbidden},
		{"Host evil.example with the port", stream.StreamPath, wsHeaders(bearer(token)), "evil.example:" + strings.Split(info.Listen, ":")[1], http.StatusForbidden},
		{"Host localhost", health, bearer(token), "localhost", http.StatusOK},
	}
	for _, tc := range cases {
		if got, body := do(tc.path, tc.header, tc.host); got != tc.want {
			t.Errorf("%s: %d (%s), want %d", tc.name, got, body, tc.want)
		}
	}

	// A browser-style client puts the token in the query; the stream works.
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+info.Listen+stream.StreamPath+"?token="+token, nil)
	if err != nil {
		t.Fatalf("WebSocket with ?token=: %v (%v)", err, resp)
	}
	if err := fltSubscribe(ws, stream.Subscription{Topics: []string{stream.TopicContainers}}); err != nil {
		t.Fatal(err)
	}
	var m stream.Message
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := ws.ReadJSON(&m); err != nil || m.Type != stream.TypeHello {
		t.Fatalf("WebSocket with ?token= got %q, %v", m.Type, err)
	}
	ws.Close()
	// And the Unix socket refuses a foreign Origin too: a browser can
	// reach neither.
	if _, resp, err := fltDialUnix(s.Socket, http.Header{"Origin": {"http://evil.example"}}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Origin on the Unix socket: %v (%v), want 403", err, resp)
	}

	// Neither token ever shows: not in the log (refusals included), not in
	// info.json, not on the streamer's command line.
	logData, err := os.ReadFile(filepath.Join(s.Dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	infoData, _ := os.ReadFile(filepath.Join(s.Dir, "info.json"))
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", s.PID))
	for name, data := range map[string][]byte{"serve.log": logData, "info.json": infoData, "the command line": cmdline} {
		for what, tok := range map[string]string{"the token": token, "a wrong token": wrong} {
			if bytes.Contains(data, []byte(tok)) {
				t.Errorf("%s contains %s", name, what)
			}
		}
	}
	if !bytes.Contains(logData, []byte("refused")) {
		t.Errorf("serve.log has no line for the refused requests:\n%s", fltTail(string(logData), 10))
	}
	if bytes.Contains(logData, []byte("WARNING")) {
		t.Errorf("a loopback listener logged a warning:\n%s", fltTail(string(logData), 10))
	}
}

// TestSecurityListenNonLoopbackWarns runs `serve --listen 0.0.0.0:0` in the
// foreground: it must warn loudly on stderr that the stream is reachable
// from other hosts.
func TestSecurityListenNonLoopbackWarns(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	p := startDockerEnv(t, env, "live", "serve", "--listen", "0.0.0.0:0")
	waitFor(t, 15*time.Second, "a WARNING on stderr", func() bool {
		return strings.Contains(p.Stderr(), "WARNING") && strings.Contains(p.Stderr(), "ready")
	})
	var warning string
	for _, line := range strings.Split(p.Stderr(), "\n") {
		if strings.HasPrefix(line, "WARNING") {
			warning = line
		}
	}
	if !strings.Contains(warning, "0.0.0.0") || !strings.Contains(warning, "loopback") {
		t.Errorf("want a stderr line starting WARNING that names the address and says it is not loopback; stderr:\n%s", p.Stderr())
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(t, 15*time.Second); code != 0 {
		t.Errorf("serve exited with %d on SIGTERM, want 0; stderr:\n%s", code, p.Stderr())
	}
}

// TestSecurityStateModesUnderUmask0 starts a streamer under umask 0: the
// state folder must still be 0700 and every file in it 0600.
func TestSecurityStateModesUnderUmask0(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	cmd := exec.Command("docker", "live", "serve", "--detach", "--listen", "127.0.0.1:0")
	cmd.Env = dockerEnv(env)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The umask is the process's: it is 0 only from here until the child is
	// forked (which inherits it), so that files other tests make meanwhile
	// keep their modes.
	old := syscall.Umask(0)
	err := cmd.Start()
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("docker live serve --detach: %v: %s", err, out.String())
	}
	m := fltSocketRE.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("serve printed no socket: %s", out.String())
	}
	dir := filepath.Dir(m[1])
	check := func(path string, want os.FileMode) {
		t.Helper()
		st, err := os.Lstat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o under umask 0, want %04o", filepath.Base(path), got, want)
		}
	}
	check(dir, 0o700)
	for _, f := range []string{"live.sock", "token", "info.json", "serve.log", "lock"} {
		check(filepath.Join(dir, f), 0o600)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s in the state folder has mode %04o: readable or writable by others", e.Name(), info.Mode().Perm())
		}
	}
}

// TestSecurityOtherUserRefused creates a second OS user, which must not
// reach the streamer: the 0700 folder stops it, and with the folder and
// socket opened up by hand the peer-credential check still does.
func TestSecurityOtherUserRefused(t *testing.T) {
	t.Parallel()
	name, uid, gid := fltOtherUser(t)

	// Every folder above the state folder must be enterable by the other
	// user, so that what stops it is the state folder itself.
	parent, err := os.MkdirTemp("", "dlsec-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	env, cfg := fltConfig(t, parent)
	if err := os.Chmod(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	s := fltServe(t, env, nil)
	if err := os.Chmod(filepath.Dir(s.Dir), 0o711); err != nil { // the live/ root
		t.Fatal(err)
	}
	bin := fltCopyExecutable(t)
	connectAs := func() (int, string) {
		t.Helper()
		cmd := exec.Command(bin)
		cmd.Env = []string{fltPeerEnv + "=" + s.Socket, "PATH=/usr/bin:/bin"}
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), strings.TrimSpace(string(out))
		}
		if err != nil {
			t.Fatalf("running the client as %s: %v: %s", name, err, out)
		}
		return 0, strings.TrimSpace(string(out))
	}

	// (a) As the streamer leaves it: the 0700 folder refuses the path.
	if st, err := os.Stat(s.Dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("state folder mode %v (%v), want 0700", st.Mode().Perm(), err)
	}
	code, out := connectAs()
	if code != fltPeerDialErr || !strings.Contains(out, "permission denied") {
		t.Errorf("as %s with the folder 0700: exit %d %q, want a dial failure with permission denied", name, code, out)
	}

	// (b) Folder and socket opened up: the server itself must refuse.
	sockInfo, err := os.Stat(s.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(s.Dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(s.Socket, 0o666); err != nil {
		t.Fatal(err)
	}
	code, out = connectAs()
	// Restore at once: the rest of the test needs no open door.
	_ = os.Chmod(s.Socket, sockInfo.Mode().Perm())
	_ = os.Chmod(s.Dir, 0o700)
	if code == fltPeerHello || strings.Contains(out, "got hello") {
		t.Fatalf("as %s with the socket opened up: %q: the streamer let another user in", name, out)
	}
	if code != fltPeerHandshake {
		t.Errorf("as %s with the socket opened up: exit %d %q, want the connection closed before the handshake completes", name, code, out)
	}
	eventually(t, 5*time.Second, func() error {
		logData, _ := os.ReadFile(filepath.Join(s.Dir, "serve.log"))
		if !bytes.Contains(logData, []byte(fmt.Sprintf("refused a connection from uid %d", uid))) {
			return fmt.Errorf("serve.log does not say it refused uid %d:\n%s", uid, fltTail(string(logData), 10))
		}
		return nil
	})
	// The streamer's own user still gets in.
	fltExpectWorking(t, s.Socket, "refusing another user")
}

// fltURL parses a URL known to be valid.
func fltURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// fltCopyExecutable copies the running test binary to a folder any user
// can enter, for running it as another user.
func fltCopyExecutable(t testing.TB) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "dlbin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(dir, "e2e.test")
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// fltOtherUser creates a second OS user for the test (removed at cleanup)
// and returns its name, uid and gid; it skips the test when it cannot.
func fltOtherUser(t *testing.T) (name string, uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a second OS user needs root")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("no useradd")
	}
	var id [4]byte
	_, _ = rand.Read(id[:])
	name = "dlive-e2e-" + hex.EncodeToString(id[:])
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return name, uid, gid
}

// fltStateDir returns the state folder of env's default context, left
// behind by a streamer that was started and stopped (lock and serve.log
// stay), so that a test can plant things in it.
func fltStateDir(t *testing.T, env []string) string {
	t.Helper()
	s := fltServe(t, env, nil)
	if _, stderr, code := dockerTryEnv(t, env, "live", "stop"); code != 0 {
		t.Fatalf("docker live stop: exit %d: %s", code, stderr)
	}
	waitFor(t, 15*time.Second, "the stopped streamer to exit", func() bool { return !fltAlive(s.PID) })
	return s.Dir
}

// fltWantRefusal checks that a command failed with one clear line on
// stderr that names path and says what is wrong.
func fltWantRefusal(t *testing.T, what, stderr string, code int, path, problem string) {
	t.Helper()
	msg := strings.TrimSpace(stderr)
	if code == 0 {
		t.Fatalf("%s succeeded, want a refusal of %s (%s)", what, path, problem)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("%s: want one line, got:\n%s", what, msg)
	}
	if !strings.Contains(msg, path) || !strings.Contains(msg, problem) {
		t.Errorf("%s: stderr %q, want one line naming %s and saying %q", what, msg, path, problem)
	}
}

// fltFileState is what a test checks a victim file kept: mode and content.
func fltFileState(t *testing.T, path string) string {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	return fmt.Sprintf("%04o %q", st.Mode().Perm(), data)
}

// TestSecurityPlantedSymlinkKeyFolder: another user who can write to live/
// plants the key folder as a link to a folder of their choosing. The
// streamer must refuse it, with one line naming it, and touch nothing there.
func TestSecurityPlantedSymlinkKeyFolder(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	dir := fltStateDir(t, env)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	target, err := os.MkdirTemp(tmpRoot, "planted-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(target) })
	if err := os.Chmod(target, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, dir); err != nil {
		t.Fatal(err)
	}
	before := fltFileState(t, target)
	_, stderr, code := dockerTryEnv(t, env, "live", "serve", "--detach", "--listen", "127.0.0.1:0")
	fltWantRefusal(t, "serve --detach into a symlinked folder", stderr, code, dir, "symbolic link")
	if after := fltFileState(t, target); after != before {
		t.Errorf("the link's target changed from %s to %s", before, after)
	}
	if entries, _ := os.ReadDir(target); len(entries) != 0 {
		t.Errorf("the streamer wrote into the planted folder: %v", entries)
	}
}

// TestSecurityForeignOwnedKeyFolder: the key folder belongs to another OS
// user, with a token of theirs in it. The streamer must refuse the folder
// rather than adopt the token (the other user would then read the stream).
func TestSecurityForeignOwnedKeyFolder(t *testing.T) {
	t.Parallel()
	_, uid, gid := fltOtherUser(t)
	env, _ := fltConfig(t, "")
	dir := fltStateDir(t, env)
	planted := strings.Repeat("ab", 32) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(planted), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "token"), filepath.Join(dir, "lock"), filepath.Join(dir, "serve.log")} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	_, stderr, code := dockerTryEnv(t, env, "live", "serve", "--detach", "--listen", "127.0.0.1:0")
	fltWantRefusal(t, "serve --detach into another user's folder", stderr, code, dir, fmt.Sprintf("owned by uid %d", uid))
	if data, _ := os.ReadFile(filepath.Join(dir, "token")); string(data) != planted {
		t.Errorf("the planted token was replaced or changed: %q", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "info.json")); err == nil {
		t.Error("a streamer wrote info.json into another user's folder")
	}
}

// TestSecuritySymlinkedLogAndLock: serve.log and lock are links to files
// of the victim's. Neither may be appended to, chmod-ed or locked through.
func TestSecuritySymlinkedLogAndLock(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	dir := fltStateDir(t, env)
	victims := t.TempDir()
	for _, name := range []string{"serve.log", "lock"} {
		t.Run(name, func(t *testing.T) {
			victim := filepath.Join(victims, name)
			if err := os.WriteFile(victim, []byte("the victim's file\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			before := fltFileState(t, victim)
			link := filepath.Join(dir, name)
			if err := os.Remove(link); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, link); err != nil {
				t.Fatal(err)
			}
			_, stderr, code := dockerTryEnv(t, env, "live", "serve", "--detach")
			fltWantRefusal(t, "serve --detach with a symlinked "+name, stderr, code, link, "symbolic link")
			if after := fltFileState(t, victim); after != before {
				t.Errorf("the victim's file changed from %s to %s", before, after)
			}
			if err := os.Remove(link); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSecurityStopSkipsStaleInfo: a streamer killed with SIGKILL leaves
// info.json behind; its PID now belongs to another process (here one the
// test starts, standing for a reused PID). stop must not signal it.
func TestSecurityStopSkipsStaleInfo(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	s := fltServe(t, env, nil)
	if err := syscall.Kill(s.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the killed streamer to exit", func() bool { return !fltAlive(s.PID) })
	infoPath := filepath.Join(s.Dir, "info.json")
	data, err := os.ReadFile(infoPath)
	if err != nil {
		t.Fatalf("SIGKILL left no info.json to test with: %v", err)
	}
	other := exec.Command("sleep", "300")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = other.Wait(); close(exited) }()
	t.Cleanup(func() { _ = other.Process.Kill(); <-exited })
	stale := strings.Replace(string(data), fmt.Sprintf(`"pid":%d`, s.PID), fmt.Sprintf(`"pid":%d`, other.Process.Pid), 1)
	if stale == string(data) {
		t.Fatalf("info.json has no pid field to rewrite: %s", data)
	}
	if err := os.WriteFile(infoPath, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := dockerTryEnv(t, env, "live", "stop")
	if code != 0 {
		t.Errorf("docker live stop: exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "stopped") {
		t.Errorf("stop reported stopping a process: %q", stdout)
	}
	select {
	case <-exited:
		t.Fatalf("docker live stop killed pid %d, which info.json named but is no streamer", other.Process.Pid)
	case <-time.After(500 * time.Millisecond): // stop has returned: a signal it sent would have landed
	}
	if _, err := os.Stat(infoPath); err == nil {
		t.Error("the stale info.json is still there after stop")
	}
}

// TestSecurityRefusedPathLog: unauthenticated TCP requests with a 1 MB
// path, or a newline in the path, must neither grow serve.log by more
// than a few hundred bytes a second nor forge a line.
func TestSecurityRefusedPathLog(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	s := fltServe(t, env, nil, "--listen", "127.0.0.1:0")
	info, err := fltReadInfo(s.Dir)
	if err != nil || info.Listen == "" {
		t.Fatalf("info.json has no listen address: %v %+v", err, info)
	}
	logPath := filepath.Join(s.Dir, "serve.log")
	size := func() int64 {
		st, err := os.Stat(logPath)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	raw := func(target string) int {
		t.Helper()
		c, err := net.Dial("tcp", info.Listen)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("GET %.40s...: %v", target, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	base := size()
	began := time.Now()
	huge := "/" + strings.Repeat("A", 1000_000)
	for range 20 {
		if code := raw(huge); code != http.StatusUnauthorized {
			t.Fatalf("a 1 MB path without a token: %d, want 401", code)
		}
	}
	elapsed := time.Since(began)
	// One line a second at most, each under 400 bytes (the path is cut to
	// 200, and the line has the time, the peer and a count besides).
	limit := int64(400 * (1 + int(elapsed/time.Second)))
	eventually(t, 5*time.Second, func() error {
		if size() == base {
			return fmt.Errorf("no refusal was logged")
		}
		return nil
	})
	if grew := size() - base; grew > limit {
		t.Errorf("20 requests with a 1 MB path in %v grew serve.log by %d bytes, want at most %d", elapsed.Round(time.Millisecond), grew, limit)
	} else {
		t.Logf("20 requests with a 1 MB path in %v grew serve.log by %d bytes", elapsed.Round(time.Millisecond), grew)
	}

	// A newline in the path forges no line. Refusals within a second of
	// the last line are only counted, so the request is repeated until one
	// is logged.
	forged := "/x%0A2026/01/01%2000:00:00.000000%20docker-live:%20FORGED%20streamer%20ready%1B[2J"
	eventually(t, 10*time.Second, func() error {
		raw(forged)
		data, _ := os.ReadFile(logPath)
		if !bytes.Contains(data, []byte("FORGED")) {
			return fmt.Errorf("the refusal is not logged yet")
		}
		return nil
	})
	data, _ := os.ReadFile(logPath)
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.Contains(line, "FORGED") {
			continue
		}
		if strings.HasPrefix(line, "2026/01/01") || !strings.Contains(line, "refused GET") || !strings.Contains(line, `\n2026/01/01`) || strings.Contains(line, "\x1b") {
			t.Errorf("a refused path with %%0A and %%1B wrote %q: want it quoted inside the refusal line", line)
		}
	}
}

// TestSecurityEventsEscapeLabels: a label holding escape codes (retitle
// the terminal, clear it) is printed escaped by `docker live events`.
func TestSecurityEventsEscapeLabels(t *testing.T) {
	t.Parallel()
	env, _ := fltConfig(t, "")
	since := time.Now()
	c := runHelper(t, HelperOpts{Create: true, Labels: map[string]string{"evil": "\x1b]0;pwned\a\x1b[2J"}})
	stdout, stderr, code := dockerTryEnv(t, env, "live", "events", "--since", fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()), "--until", "0s",
		"--filter", "container="+c.ID[:12])
	if code != 0 {
		t.Fatalf("docker live events: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "create") {
		t.Fatalf("no create event printed:\n%s", stdout)
	}
	if strings.ContainsAny(stdout, "\x1b\a") {
		t.Errorf("raw escape codes reach the terminal:\n%q", stdout)
	}
	if !strings.Contains(stdout, `evil=\x1b]0;pwned\x07\x1b[2J`) {
		t.Errorf("the label is not shown escaped:\n%q", stdout)
	}
}
