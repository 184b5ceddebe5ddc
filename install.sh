#!/usr/bin/env bash
# Builds docker-live with the local Go toolchain and installs it as a docker
# CLI plugin: ${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-live.
# ./install.sh --uninstall removes it (and stops any running streamer first).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
target="$plugins/docker-live"

if [ "${1:-}" = "--uninstall" ]; then
	if [ -x "$target" ]; then
		"$target" live stop --all >/dev/null 2>&1 || true
		rm -f "$target"
		echo "docker-live removed from $plugins"
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

version=$(git -C "$here" describe --tags --always --dirty 2>/dev/null || echo dev)
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p "$plugins"
tmp="$target.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(cd "$here" && CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X main.version=$version -X main.commit=$commit" \
	-o "$tmp" ./cmd/docker-live)
chmod 0755 "$tmp"
# Rename over the old binary so that a running streamer keeps its inode.
mv -f "$tmp" "$target"
echo "docker-live $version installed as $target"
echo "try: docker live version"
