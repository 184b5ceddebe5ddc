package plugin

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/streams"
	"github.com/moby/moby/client"
)

// fakeCli is the part of command.Cli that the commands under test use, with an
// Engine client aimed at a socket that does not exist (no Engine needed).
// Any other method panics on the nil embedded interface.
type fakeCli struct {
	command.Cli
	outBuf, errBuf bytes.Buffer
	out, err       *streams.Out
	client         client.APIClient
	endpoint       docker.Endpoint
	configFile     *configfile.ConfigFile
}

func newFakeCli(t *testing.T) *fakeCli {
	t.Helper()
	c, err := client.New(client.WithHost("unix://" + filepath.Join(t.TempDir(), "no-engine.sock")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	f := &fakeCli{client: c}
	f.out, f.err = streams.NewOut(&f.outBuf), streams.NewOut(&f.errBuf)
	return f
}

func (f *fakeCli) Out() *streams.Out               { return f.out }
func (f *fakeCli) Err() *streams.Out               { return f.err }
func (f *fakeCli) Client() client.APIClient        { return f.client }
func (f *fakeCli) CurrentContext() string          { return "test" }
func (f *fakeCli) DockerEndpoint() docker.Endpoint { return f.endpoint }
func (f *fakeCli) ConfigFile() *configfile.ConfigFile {
	if f.configFile == nil {
		return configfile.New("")
	}
	return f.configFile
}
