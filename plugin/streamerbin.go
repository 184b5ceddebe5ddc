package plugin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/client"

	"github.com/docker-live/docker-live/streamer"
)

// The streamer binary (cmd/docker-live-streamer) is the long-lived
// process: it links no docker/cli, so it carries only what it uses. The
// plugin resolves the Docker context with docker/cli and hands the result
// over (see docs/architecture.md "What the streamer links").

// streamerBinEnv overrides where the streamer binary is looked for.
const streamerBinEnv = "DOCKER_LIVE_STREAMER"

// streamerBinName is the streamer binary's file name.
var streamerBinName = "docker-live-streamer" + exeSuffix()

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// streamerCandidates lists where the streamer binary is looked for, first
// match wins: $DOCKER_LIVE_STREAMER; the docker-live folder beside the
// plugin's cli-plugins folder (where install.sh puts it: not inside
// cli-plugins, where the docker CLI would list it as a broken plugin); and
// the plugin's own folder (a `make build` tree, bin/).
func streamerCandidates(pluginExe string) []string {
	if p := os.Getenv(streamerBinEnv); p != "" {
		return []string{p}
	}
	dir := filepath.Dir(pluginExe)
	return []string{
		filepath.Join(filepath.Dir(dir), "docker-live", streamerBinName),
		filepath.Join(dir, streamerBinName),
	}
}

// pluginExecutable is the plugin binary's own path, links resolved, so
// that a plugin linked into another cli-plugins folder finds the streamer
// installed beside its real file.
func pluginExecutable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return exe, nil
}

// findStreamerBin returns the streamer binary to start.
func findStreamerBin() (string, error) {
	exe, err := pluginExecutable()
	if err != nil {
		return "", fmt.Errorf("cannot find the plugin binary: %v", err)
	}
	cands := streamerCandidates(exe)
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			return c, nil
		}
	}
	return "", fmt.Errorf("the streamer binary %s was not found (looked in %s); reinstall docker live (./install.sh)", streamerBinName, strings.Join(cands, ", "))
}

// streamerBinVersion asks a streamer binary for its version.
func streamerBinVersion(ctx context.Context, bin string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("cannot run %s --version: %v", bin, err)
	}
	// "docker-live-streamer VERSION (commit COMMIT)"
	f := strings.Fields(string(out))
	if len(f) < 2 || f[0] != "docker-live-streamer" {
		return "", fmt.Errorf("%s --version printed %q, not a docker live streamer's version", bin, strings.TrimSpace(string(out)))
	}
	return f[1], nil
}

// mismatchError is the one line that refuses a streamer binary of another
// version than the plugin's.
func mismatchError(bin, binVersion, pluginVersion string) error {
	return fmt.Errorf("the streamer binary %s is version %s but the plugin is %s; reinstall docker live (./install.sh) so both match", bin, binVersion, pluginVersion)
}

// engineHandOff is what the streamer binary needs to reach the context's
// Engine, resolved here with docker/cli.
func engineHandOff(dockerCli command.Cli) streamer.Engine {
	ep := dockerCli.DockerEndpoint()
	e := streamer.Engine{Host: ep.Host, SkipTLSVerify: ep.SkipTLSVerify}
	if e.Host == "" {
		e.Host = client.DefaultDockerHost
	}
	if ep.TLSData != nil {
		e.CA, e.Cert, e.Key = ep.TLSData.CA, ep.TLSData.Cert, ep.TLSData.Key
	}
	if cf := dockerCli.ConfigFile(); cf != nil && len(cf.HTTPHeaders) > 0 {
		e.Headers = cf.HTTPHeaders
	}
	return e
}

// streamerArgs are the streamer binary's arguments for this context: the
// hand-off flags, then serve's own flags (the engine descriptor and the
// ready descriptor are added by the caller, which creates them).
func streamerArgs(dockerCli command.Cli, paths streamerPaths, build BuildInfo, opts streamer.Options) []string {
	args := []string{
		"--context=" + dockerCli.CurrentContext(),
		"--endpoint=" + dockerCli.DockerEndpoint().Host,
		"--state-dir=" + paths.Dir,
		"--expect-version=" + build.Version,
	}
	return append(args, opts.Args()...)
}
