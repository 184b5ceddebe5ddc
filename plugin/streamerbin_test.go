//go:build !windows

package plugin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config/configfile"
	clicontext "github.com/docker/cli/cli/context"
	"github.com/docker/cli/cli/context/docker"

	"github.com/docker-live/docker-live/streamer"
)

// The documented search order: the override alone when set; else the
// docker-live folder beside cli-plugins (install.sh), then the plugin's own
// folder (a make build tree).
func TestStreamerCandidates(t *testing.T) {
	t.Setenv(streamerBinEnv, "")
	got := streamerCandidates("/h/.docker/cli-plugins/docker-live")
	want := []string{"/h/.docker/docker-live/docker-live-streamer", "/h/.docker/cli-plugins/docker-live-streamer"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("candidates %q, want %q", got, want)
	}
	t.Setenv(streamerBinEnv, "/opt/s")
	if got := streamerCandidates("/h/.docker/cli-plugins/docker-live"); len(got) != 1 || got[0] != "/opt/s" {
		t.Errorf("with %s set: %q", streamerBinEnv, got)
	}
}

func TestFindStreamerBinSaysWhereItLooked(t *testing.T) {
	t.Setenv(streamerBinEnv, filepath.Join(t.TempDir(), "nothing-here"))
	_, err := findStreamerBin()
	if err == nil || !strings.Contains(err.Error(), "nothing-here") || !strings.Contains(err.Error(), "install.sh") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("findStreamerBin = %v, want one line naming where it looked and how to fix it", err)
	}
}

// fakeStreamerBin writes a script that answers --version like the
// streamer binary.
func fakeStreamerBin(t *testing.T, output string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "docker-live-streamer")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho '"+output+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStreamerBinVersion(t *testing.T) {
	v, err := streamerBinVersion(context.Background(), fakeStreamerBin(t, "docker-live-streamer v1.2.3 (commit abc)"))
	if err != nil || v != "v1.2.3" {
		t.Errorf("version %q, %v", v, err)
	}
	if _, err := streamerBinVersion(context.Background(), fakeStreamerBin(t, "something else")); err == nil {
		t.Error("a binary that is not a streamer was accepted")
	}
}

// version refuses a pair of another version with one line that says what
// to do, and shows both versions.
func TestVersionRefusesAMismatchedStreamer(t *testing.T) {
	bin := fakeStreamerBin(t, "docker-live-streamer v1.0.0 (commit old)")
	t.Setenv(streamerBinEnv, bin)
	fc := newFakeCli(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	err := runVersion(context.Background(), fc, BuildInfo{Version: "v2.0.0"}, versionOptions{format: "json"})
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("runVersion = %v, want one line", err)
	}
	for _, want := range []string{bin, "v1.0.0", "v2.0.0", "reinstall"} {
		if !strings.Contains(err.Error(), want) && !strings.Contains(fc.outBuf.String(), want) {
			t.Errorf("error %q nor output %q mention %q", err, fc.outBuf.String(), want)
		}
	}
	if !strings.Contains(fc.outBuf.String(), `"streamer_version":"v1.0.0"`) {
		t.Errorf("version json %s lacks the streamer's version", fc.outBuf.String())
	}
}

func TestEngineHandOffCarriesTheContext(t *testing.T) {
	fc := newFakeCli(t)
	fc.endpoint = docker.Endpoint{
		EndpointMeta: docker.EndpointMeta{Host: "tcp://10.1.2.3:2376", SkipTLSVerify: true},
		TLSData:      &clicontext.TLSData{CA: []byte("ca"), Cert: []byte("cert"), Key: []byte("key")},
	}
	fc.configFile = &configfile.ConfigFile{HTTPHeaders: map[string]string{"X-Team": "a"}}
	e := engineHandOff(fc)
	if e.Host != "tcp://10.1.2.3:2376" || !e.SkipTLSVerify || string(e.CA) != "ca" || string(e.Cert) != "cert" || string(e.Key) != "key" || e.Headers["X-Team"] != "a" {
		t.Errorf("hand-off %+v", e)
	}
	fc.endpoint = docker.Endpoint{}
	if e := engineHandOff(fc); e.Host == "" {
		t.Error("an empty endpoint host must become the default socket")
	}
}

// The hand-off file is unnamed (unlinked) and holds the JSON.
func TestEngineHandleIsUnnamed(t *testing.T) {
	dir := t.TempDir()
	f, err := engineHandle(dir, streamer.Engine{Host: "unix:///x.sock", Key: []byte("secret")})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the hand-off left %d named files in the state folder", len(entries))
	}
	e, err := streamer.ReadEngine(f)
	if err != nil || e.Host != "unix:///x.sock" || string(e.Key) != "secret" {
		t.Errorf("read back %+v, %v", e, err)
	}
}
