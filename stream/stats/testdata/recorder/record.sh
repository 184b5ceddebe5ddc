#!/bin/sh
# Records the cgroup v1 fixtures in ../ from this host's Engine: builds the
# recorder into a FROM-scratch image, runs a CPU/memory/disk burner with no
# network and an echo pair on an internal network, and saves three
# consecutive records of each stats stream. Everything it creates carries
# the label docker-live-dev=stats and is removed on exit.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=$(dirname "$here")
run=$$
img=docker-live-dev-stats-rec:$run
net=dlstats-net-$run
sock=/var/run/docker.sock
api=http://localhost/v1.41
tmp=$(mktemp -d)

cleanup() {
	docker rm -f "dlstats-burn-$run" "dlstats-srv-$run" "dlstats-cli-$run" >/dev/null 2>&1 || true
	docker network rm "$net" >/dev/null 2>&1 || true
	docker rmi "$img" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

(cd "$here" && CGO_ENABLED=0 go build -o "$tmp/recorder" .)
tar -C "$tmp" -c recorder | docker import \
	--change 'ENTRYPOINT ["/recorder"]' \
	--change 'LABEL docker-live-dev=stats' - "$img" >/dev/null

# The kernel fills the v1 blkio throttle counters only for a cgroup with a
# throttle limit on the device, so the burner gets a generous one on the
# device that holds the Engine's data root.
dev=$(df --output=source "$(docker info --format '{{.DockerRootDir}}')" | tail -n 1)

# record NAME ID: three consecutive stream records, pretty-printed, one per
# file. python keeps 64-bit integers exact (jq 1.6 rounds them to doubles).
record() {
	timeout 20 curl -sN --unix-socket "$sock" "$api/containers/$2/stats?stream=true" |
		head -n 3 >"$tmp/$1.ndjson" || true
	[ "$(wc -l <"$tmp/$1.ndjson")" -eq 3 ] || { echo "record.sh: short stats stream for $1" >&2; exit 1; }
	i=1
	while read -r line; do
		printf '%s\n' "$line" | python3 -m json.tool --indent 2 >"$out/$1_$i.json"
		i=$((i + 1))
	done <"$tmp/$1.ndjson"
}

# wait_mem ID BYTES: poll until the container's memory usage passes BYTES.
wait_mem() {
	end=$(($(date +%s) + 20))
	while [ "$(date +%s)" -lt "$end" ]; do
		u=$(curl -s --unix-socket "$sock" "$api/containers/$1/stats?stream=false&one-shot=true" | jq '.memory_stats.usage // 0')
		[ "$u" -gt "$2" ] && return 0
		sleep 0.2
	done
	echo "record.sh: memory of $1 never passed $2" >&2
	exit 1
}

burn=$(docker run -d --label docker-live-dev=stats --network none --name "dlstats-burn-$run" \
	--device-read-bps "$dev:1gb" --device-write-bps "$dev:1gb" "$img" burn)
wait_mem "$burn" $((56 << 20))
record v1_burn "$burn"

docker network create --internal --label docker-live-dev=stats "$net" >/dev/null
srv=$(docker run -d --label docker-live-dev=stats --network "$net" --name "dlstats-srv-$run" "$img" serve 9000)
ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$srv")
cli=$(docker run -d --label docker-live-dev=stats --network "$net" --name "dlstats-cli-$run" "$img" send "$ip:9000")
record v1_net "$cli"
echo "recorded into $out"
