//go:build !windows

package plugin

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/docker/cli/cli/command"
	"golang.org/x/sys/unix"

	"github.com/docker-live/docker-live/streamer"
)

// execStreamer becomes the streamer binary (same PID, same terminal, same
// signals), handing it the context's Engine: `docker live serve` in the
// foreground is the streamer itself, as before the split. It keeps
// DOCKER_CLI_PLUGIN_SOCKET, which the streamer watches as the plugin did:
// the docker CLI closes it to say "stop" when its output is no terminal.
func execStreamer(dockerCli command.Cli, build BuildInfo, paths streamerPaths, opts streamer.Options) error {
	bin, err := findStreamerBin()
	if err != nil {
		return err
	}
	if err := paths.EnsureDir(); err != nil {
		return fmt.Errorf("cannot create the state folder: %v", err)
	}
	engine, err := engineHandle(paths.Dir, engineHandOff(dockerCli))
	if err != nil {
		return err
	}
	defer engine.Close()
	fd := int(engine.Fd())
	// Inherited across exec: clear close-on-exec on this one descriptor.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
		return fmt.Errorf("cannot hand the Engine over: %v", err)
	}
	argv := append([]string{bin}, streamerArgs(dockerCli, paths, build, opts)...)
	argv = append(argv, "--engine-fd="+strconv.Itoa(fd))
	err = syscall.Exec(bin, argv, os.Environ())
	return fmt.Errorf("cannot run the streamer %s: %v", bin, err)
}
