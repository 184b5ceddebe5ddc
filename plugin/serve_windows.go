package plugin

import (
	"errors"

	"github.com/docker/cli/cli/command"

	"github.com/docker-live/docker-live/streamer"
)

// execStreamer: Windows has no exec; runServe serves in-process there.
func execStreamer(dockerCli command.Cli, build BuildInfo, paths streamerPaths, opts streamer.Options) error {
	return errors.New("exec is not supported on Windows")
}
