package output

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func tableRows() []Row {
	web := container("web", "running")
	web.Health = "healthy"
	db := container("a-very-long-container-name-for-the-database", "exited")
	db.ExitCode = 137
	idle := container("idle", "running")
	return []Row{
		NewRow(web, sample()),
		NewRow(db, nil),
		NewRow(idle, nil),
	}
}

var liveHeader = Header{Mode: ModeLive, Context: "default", Containers: 3, Updated: t0}

func TestRenderTableFull(t *testing.T) {
	got := string(RenderTable(tableRows(), liveHeader, TableOptions{Now: t0}))
	want := "" +
		"● live  context default  3 containers  updated 14:03:05\n" +
		"NAME                                          STATE               CPU %    MEM USAGE / LIMIT   MEM %   NET RX/s   NET TX/s   BLOCK I/O     PIDS   UPTIME\n" +
		"web                                           running (healthy)   12.35%   1.5MiB / 7.629GiB   0.02%   1.2MB/s    250B/s     45.6MB / 0B   7      3m12s\n" +
		"a-very-long-container-name-for-the-database   exited (137)        --       --                  --      --         --         --            --     --\n" +
		"idle                                          running             --       --                  --      --         --         --            --     3m12s\n"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func lines(b []byte) []string {
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func assertWidth(t *testing.T, out []byte, width int) {
	t.Helper()
	for _, l := range lines(out) {
		if n := utf8.RuneCountInString(l); n > width {
			t.Errorf("line is %d wide, more than %d: %q", n, width, l)
		}
	}
}

func TestRenderTableShortensNamesFirst(t *testing.T) {
	out := RenderTable(tableRows(), liveHeader, TableOptions{Now: t0, Width: 130})
	assertWidth(t, out, 130)
	l := lines(out)
	if want := "NAME                    STATE               CPU %    MEM USAGE / LIMIT   MEM %   NET RX/s   NET TX/s   BLOCK I/O     PIDS   UPTIME"; l[1] != want {
		t.Errorf("header\n got %q\nwant %q", l[1], want)
	}
	if want := "a-very-long-containe…   exited (137)        --"; !strings.HasPrefix(l[3], want) {
		t.Errorf("long name row %q", l[3])
	}
	if utf8.RuneCountInString(l[1]) != 130 {
		t.Errorf("table should use the whole width: %d", utf8.RuneCountInString(l[1]))
	}
}

func TestRenderTableDropsRightmostColumns(t *testing.T) {
	out := RenderTable(tableRows(), liveHeader, TableOptions{Now: t0, Width: 100})
	assertWidth(t, out, 100)
	l := lines(out)
	if want := "NAME                    STATE               CPU %    MEM USAGE / LIMIT   MEM %   NET RX/s   NET TX/s"; l[1] != want {
		t.Errorf("header\n got %q\nwant %q", l[1], want)
	}
	if want := "web                     running (healthy)   12.35%   1.5MiB / 7.629GiB   0.02%   1.2MB/s    250B/s"; l[2] != want {
		t.Errorf("row\n got %q\nwant %q", l[2], want)
	}

	if want := "● live  context default  3 containers  3 columns hidden  updated 14:03:05"; l[0] != want {
		t.Errorf("status line at 100 columns\n got %q\nwant %q", l[0], want)
	}

	out = RenderTable(tableRows(), liveHeader, TableOptions{Now: t0, Width: 40})
	assertWidth(t, out, 40)
	if want := "● live  context default  3 containers  8"; lines(out)[0] != want {
		t.Errorf("status line %q", lines(out)[0])
	}
	if want := "a-very-long-contain…   exited (137)"; lines(out)[3] != want {
		t.Errorf("narrow row %q", lines(out)[3])
	}

	out = RenderTable(tableRows(), liveHeader, TableOptions{Now: t0, Width: 10})
	assertWidth(t, out, 10)
	if want := []string{"● live  co", "NAME", "web", "a-very-lo…", "idle"}; strings.Join(lines(out), "|") != strings.Join(want, "|") {
		t.Errorf("tiny width: %q", lines(out))
	}
}

func TestRenderTableNoTrunc(t *testing.T) {
	out := RenderTable(tableRows(), liveHeader, TableOptions{Now: t0, Width: 100, NoTrunc: true})
	l := lines(out)
	if want := "NAME                                          STATE               CPU %    MEM USAGE / LIMIT   MEM %"; l[1] != want {
		t.Errorf("header\n got %q\nwant %q", l[1], want)
	}
	if !strings.HasPrefix(l[3], "a-very-long-container-name-for-the-database   exited (137)") {
		t.Errorf("name shortened: %q", l[3])
	}
	assertWidth(t, out, 100)
	// Too narrow for the name itself: the name still shows whole.
	out = RenderTable(tableRows(), Header{}, TableOptions{Now: t0, Width: 10, NoTrunc: true})
	if want := "NAME\nweb\na-very-long-container-name-for-the-database\nidle\n"; string(out) != want {
		t.Errorf("got %q", out)
	}
}

func TestRenderTableHeight(t *testing.T) {
	var rows []Row
	for range 10 {
		rows = append(rows, tableRows()...)
	}
	out := RenderTable(rows, liveHeader, TableOptions{Now: t0, Height: 8})
	l := lines(out)
	if len(l) != 8 {
		t.Fatalf("%d lines, want 8:\n%s", len(l), out)
	}
	if l[7] != "… 25 more" {
		t.Errorf("last line %q", l[7])
	}
	out = RenderTable(rows[:6], liveHeader, TableOptions{Now: t0, Height: 8})
	if n := len(lines(out)); n != 8 || strings.Contains(string(out), "more") {
		t.Errorf("six rows fit in eight lines:\n%s", out)
	}
}

func TestStatusLine(t *testing.T) {
	for _, tc := range []struct {
		h    Header
		want string
	}{
		{Header{Mode: ModeLive, Context: "default", Containers: 5, Updated: t0}, "● live  context default  5 containers  updated 14:03:05"},
		{Header{Mode: ModeReconnecting, Detail: "attempt 3, next in 1.6s", Context: "prod", Containers: 1}, "● reconnecting (attempt 3, next in 1.6s)  context prod  1 container"},
		{Header{Mode: ModePolling, Containers: 0, Updated: t0}, "● polling  0 containers  updated 14:03:05"},
		{Header{Mode: ModeEngineUnavailable, Detail: "connection refused", Context: "default"}, "● engine-unavailable (connection refused)  context default  0 containers"},
	} {
		if got := lines(RenderTable(nil, tc.h, TableOptions{}))[0]; got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if got := string(RenderTable(nil, Header{}, TableOptions{})); got != strings.Join(tableHeaders[:], "   ")+"\n" {
		t.Errorf("without a mode the status line is left out: %q", got)
	}
}

func TestRenderTableEscapes(t *testing.T) {
	for _, mode := range []string{ModeLive, ModeReconnecting, ModePolling, ModeEngineUnavailable} {
		h := liveHeader
		h.Mode = mode
		if out := RenderTable(tableRows(), h, TableOptions{Now: t0, Width: 80}); bytes.IndexByte(out, 0x1b) >= 0 {
			t.Errorf("%s: escape code without a TTY: %q", mode, out)
		}
	}
	out := RenderTable(tableRows(), liveHeader, TableOptions{Now: t0, TTY: true})
	if !bytes.HasPrefix(out, []byte("\x1b[32m●\x1b[0m live  context default")) {
		t.Errorf("live indicator on a TTY: %q", lines(out)[0])
	}
	h := liveHeader
	h.Mode = ModeEngineUnavailable
	if out := RenderTable(nil, h, TableOptions{TTY: true}); !bytes.HasPrefix(out, []byte("\x1b[31m●\x1b[0m engine-unavailable")) {
		t.Errorf("unavailable indicator on a TTY: %q", out)
	}
}

func TestScreenFrame(t *testing.T) {
	var s Screen
	got := string(s.Frame([]byte("a\nbb\n")))
	if want := "\x1b[?25l\x1b[Ha\x1b[K\r\nbb\x1b[K\x1b[J"; got != want {
		t.Errorf("first frame %q, want %q", got, want)
	}
	got = string(s.Frame([]byte("c\n")))
	if want := "\x1b[Hc\x1b[K\x1b[J"; got != want {
		t.Errorf("second frame %q, want %q", got, want)
	}
	if strings.Contains(got, "\x1b[2J") {
		t.Error("full-screen clear")
	}
	if got := string(s.Restore()); got != "\r\n\x1b[?25h" {
		t.Errorf("restore %q", got)
	}

	short := Screen{Height: 2}
	got = string(short.Frame([]byte("1\n2\n3\n4\n")))
	if want := "\x1b[?25l\x1b[H1\x1b[K\r\n2\x1b[K\x1b[J"; got != want {
		t.Errorf("clipped frame %q, want %q", got, want)
	}
	var unused Screen
	if unused.Restore() != nil {
		t.Error("restore without a frame should write nothing")
	}
}

func TestPlainFrames(t *testing.T) {
	f := NewFramer(false)
	var out []byte
	for range 3 {
		out = append(out, f.Frame(RenderTable(tableRows(), liveHeader, TableOptions{Now: t0, Width: 60}))...)
	}
	out = append(out, f.Restore()...)
	if bytes.IndexByte(out, 0x1b) >= 0 {
		t.Fatalf("escape code in plain output: %q", out)
	}
	frames := strings.Split(string(out), "\n\n")
	if len(frames) != 3 {
		t.Fatalf("%d frames, want 3:\n%s", len(frames), out)
	}
	for _, fr := range frames {
		if !strings.HasPrefix(fr, "● live") {
			t.Errorf("frame does not start with the status line: %q", fr)
		}
	}
	if _, ok := NewFramer(true).(*Screen); !ok {
		t.Error("a TTY gets a Screen")
	}
}

func TestStatusLineCountsShownOfTotalWaitingAndStale(t *testing.T) {
	h := Header{Mode: ModeLive, Context: "default", Containers: 2, Total: 7, Updated: t0}
	if got, want := lines(RenderTable(nil, h, TableOptions{Now: t0}))[0], "● live  context default  2 of 7 containers  updated 14:03:05"; got != want {
		t.Errorf("filtered\n got %q\nwant %q", got, want)
	}
	h = Header{Mode: ModeLive, Context: "default", Containers: 0, Waiting: []string{"api", "db"}}
	if got, want := lines(RenderTable(nil, h, TableOptions{Now: t0}))[0], "● live  context default  0 containers  waiting for api, db"; got != want {
		t.Errorf("waiting\n got %q\nwant %q", got, want)
	}
	h = Header{Mode: ModeStale, Detail: "7s without a message from the streamer", Context: "default", Containers: 1, Updated: t0}
	if got, want := lines(RenderTable(nil, h, TableOptions{Now: t0}))[0], "● stale (7s without a message from the streamer)  context default  1 container  updated 14:03:05"; got != want {
		t.Errorf("stale\n got %q\nwant %q", got, want)
	}
}
