package output

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseInfoFormat(t *testing.T) {
	sample := VersionInfo{}
	for _, tc := range []struct {
		format, textName string
		text, wantErr    bool
	}{
		{"", "", true, false},
		{"table", "table", true, false},
		{"json", "", false, false},
		{"{{.Version}}", "", false, false},
		{"table", "", false, false}, // version has no table: a template that prints "table"
		{"{{.Nope}}", "", false, true},
		{"{{.Version", "", false, true},
	} {
		f, err := ParseInfoFormat(tc.format, tc.textName, sample)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseInfoFormat(%q, %q) error = %v, want error %v", tc.format, tc.textName, err, tc.wantErr)
			continue
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid --format template: ") || strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseInfoFormat(%q) error %q: want one line naming the template", tc.format, err)
			}
			continue
		}
		if f.IsText() != tc.text {
			t.Errorf("ParseInfoFormat(%q, %q).IsText() = %v, want %v", tc.format, tc.textName, f.IsText(), tc.text)
		}
	}
}

func TestInfoFormatWrite(t *testing.T) {
	info := VersionInfo{Version: "v1", Commit: "abc", GoVersion: "go1.26", Context: "default", Endpoint: "unix:///var/run/docker.sock", EngineError: "down"}
	for _, tc := range []struct{ format, want string }{
		{"json", `{"version":"v1","commit":"abc","go_version":"go1.26","context":"default","endpoint":"unix:///var/run/docker.sock","engine_error":"down"}` + "\n"},
		{`{{.Version}}\t{{.Context}}`, "v1\tdefault\n"},
		{"{{json .Commit}}", "\"abc\"\n"},
	} {
		f, err := ParseInfoFormat(tc.format, "", VersionInfo{})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := f.Write(&b, info); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("format %q wrote %q, want %q", tc.format, b.String(), tc.want)
		}
	}
	// A template that fails on the data (not on the sample) is an error in
	// one line, and writes nothing.
	f, err := ParseInfoFormat(`{{index .Labels "x"}}`, "", struct{ Labels map[string]string }{map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Write(&b, struct{ Labels []string }{}); err == nil || !strings.HasPrefix(err.Error(), "template: ") || b.Len() != 0 {
		t.Errorf("failing template: err %v, wrote %q", err, b.String())
	}
}

func TestWriteStatusTable(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lines := []StreamerLine{
		{Context: "default", State: "running", Responding: true, PID: 42, Started: now.Add(-90*time.Second - 400*time.Millisecond),
			Clients: 2, Containers: 13, Engine: "connected", StatsSource: "auto: cgroup 13", Endpoint: "unix:///var/run/docker.sock", Socket: "/home/u/.docker/live/a/live.sock"},
		{Context: "remote", State: "not responding", PID: 7, Started: now.Add(-time.Hour), Listen: "127.0.0.1:9000",
			Clients: 5, Engine: "ignored", Endpoint: "tcp://h:2376", Socket: "/s"},
	}
	var b bytes.Buffer
	if err := WriteStatusTable(&b, lines, now); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"CONTEXT  STATE           PID  UPTIME  CLIENTS  CONTAINERS  ENGINE     STATS SOURCE     LISTEN          ENDPOINT                     SOCKET\n" +
		"default  running         42   1m30s   2        13          connected  auto: cgroup 13  --              unix:///var/run/docker.sock  /home/u/.docker/live/a/live.sock\n" +
		"remote   not responding  7    1h0m0s  --       --          --         --               127.0.0.1:9000  tcp://h:2376                 /s\n"
	if b.String() != want {
		t.Errorf("status table:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteStatusTable(&b, nil, now); err != nil || strings.Count(b.String(), "\n") != 1 || !strings.HasPrefix(b.String(), "CONTEXT") {
		t.Errorf("no streamers: %q, %v; want the header alone", b.String(), err)
	}
}

func TestWriteVersionText(t *testing.T) {
	info := VersionInfo{Version: "v1.2.3", Commit: "abc1234", GoVersion: "go1.26.0", Context: "default", Endpoint: "unix:///var/run/docker.sock",
		EngineVersion: "20.10.24", APIVersion: "1.41", StreamerVersion: "v1.2.3", StreamerPath: "/h/.docker/docker-live/docker-live-streamer"}
	var b bytes.Buffer
	if err := WriteVersionText(&b, info); err != nil {
		t.Fatal(err)
	}
	want := "Plugin:\n Version:\tv1.2.3\n Commit:\tabc1234\n Go version:\tgo1.26.0\n" +
		"Context:\n Name:\t\tdefault\n Endpoint:\tunix:///var/run/docker.sock\n" +
		"Engine:\n Version:\t20.10.24\n API version:\t1.41 (negotiated)\n" +
		"Streamer:\n Version:\tv1.2.3\n Path:\t\t/h/.docker/docker-live/docker-live-streamer\n Running:\tnone for this context\n"
	if b.String() != want {
		t.Errorf("version text = %q, want %q", b.String(), want)
	}
	info.EngineError = "Cannot connect to the Docker daemon"
	b.Reset()
	if err := WriteVersionText(&b, info); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Engine:\n Error:\t\tCannot connect to the Docker daemon\n") || strings.Contains(b.String(), "API version") {
		t.Errorf("version text with the Engine down = %q", b.String())
	}
	info.RunningStreamerVersion, info.RunningStreamerPID = "v1.2.2", 42
	info.StreamerError = "the streamer binary was not found"
	b.Reset()
	if err := WriteVersionText(&b, info); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Streamer:\n Error:\t\tthe streamer binary was not found\n") || !strings.Contains(b.String(), " Running:\tv1.2.2 (pid 42)\n") {
		t.Errorf("version text with a missing streamer binary and an older one running = %q", b.String())
	}
}
