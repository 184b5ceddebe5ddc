#!/usr/bin/env bash
# Builds docker live with the local Go toolchain and installs its two
# binaries:
#   ${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-live           the docker CLI plugin
#   ${DOCKER_CONFIG:-$HOME/.docker}/docker-live/docker-live-streamer  the streamer it starts
# The streamer sits beside cli-plugins/, not in it: the docker CLI would
# list any docker-* file there as a (broken) plugin.
# ./install.sh --uninstall stops every running streamer and removes both
# binaries, the docker-live/ folder, cli-plugins/ when nothing else is in
# it, and the streamers' state folder live/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
config="${DOCKER_CONFIG:-$HOME/.docker}"
plugins="$config/cli-plugins"
target="$plugins/docker-live"
libexec="$config/docker-live"
streamer="$libexec/docker-live-streamer"

if [ "${1:-}" = "--uninstall" ]; then
	if [ -x "$target" ] || [ -e "$streamer" ]; then
		if [ -x "$target" ]; then
			"$target" live stop --all >/dev/null 2>&1 || true
		fi
		rm -f "$target" "$streamer"
		rmdir "$libexec" "$plugins" 2>/dev/null || true   # only when empty
		# The streamers' sockets, tokens, logs and info files: nothing of the
		# user's, and nothing runs from there any more.
		rm -rf "$config/live"
		echo "docker-live removed from $plugins and $libexec"
	else
		echo "docker-live is not installed in $plugins"
	fi
	exit 0
elif [ -n "${1:-}" ]; then
	echo "usage: $0 [--uninstall]" >&2
	exit 2
fi

missing=0
if ! command -v go >/dev/null 2>&1; then
	echo "install.sh: Go is required (1.26 or newer) but 'go' is not on PATH; install it from your distribution or the Go project's site" >&2
	missing=1
fi
if ! command -v docker >/dev/null 2>&1; then
	echo "install.sh: the docker CLI is required but 'docker' is not on PATH; install docker (Debian: apt-get install docker.io)" >&2
	missing=1
fi
[ "$missing" = 0 ] || exit 1

# VERSION overrides the version both binaries report (as with make).
version=${VERSION:-$(git -C "$here" describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p "$plugins" "$libexec"
tmp="$target.tmp.$$"
tmps="$streamer.tmp.$$"
trap 'rm -f "$tmp" "$tmps"' EXIT
ldflags="-s -w -X main.version=$version -X main.commit=$commit"
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp" ./cmd/docker-live)
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmps" ./cmd/docker-live-streamer)
chmod 0755 "$tmp" "$tmps"
# Rename over the old binaries, so that a running streamer keeps its inode
# (it runs on; the next start uses the new one). The streamer goes first:
# a plugin and streamer of different versions refuse each other with one
# line rather than misbehave, for the instant between the two renames.
mv -f "$tmps" "$streamer"
mv -f "$tmp" "$target"
echo "docker-live $version installed as $target (streamer: $streamer)"
echo "try: docker live version"
