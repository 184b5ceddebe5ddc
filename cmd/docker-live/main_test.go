package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// TestMain lets the tests run this binary as the plugin itself: with
// runAsPlugin set, the test binary is docker-live.
func TestMain(m *testing.M) {
	if os.Getenv(runAsPlugin) == "1" {
		os.Args = append([]string{"docker-live"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const runAsPlugin = "DOCKER_LIVE_TEST_RUN_AS_PLUGIN"

// The docker CLI discovers a plugin by running it with
// docker-cli-plugin-metadata and reading JSON; a plugin whose answer it
// cannot read is listed as broken.
func TestAnswersTheDockerCLIsMetadataProbe(t *testing.T) {
	cmd := exec.Command(os.Args[0], "docker-cli-plugin-metadata")
	cmd.Env = append(os.Environ(), runAsPlugin+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("metadata probe: %v\n%s", err, out)
	}
	var md struct {
		SchemaVersion, Vendor, Version, ShortDescription string
	}
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("metadata is not JSON: %v\n%s", err, out)
	}
	if md.SchemaVersion != "0.1.0" || md.Vendor == "" || md.Version != version || md.ShortDescription == "" {
		t.Errorf("metadata = %+v, want schema 0.1.0, a vendor, version %q and a description", md, version)
	}
}
