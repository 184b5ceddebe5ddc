#!/bin/sh
# Records testdata/v1-cgroupfs from this host (cgroup v1, cgroupfs driver):
# runs the workload in a FROM-scratch image on an --internal network,
# pauses it so no counter moves, copies the files Probe and Read use
# (rebased under v1-cgroupfs/) and saves the Engine's stats record of the
# same moment as engine.json. A second copy must equal the first, proving
# the counters held still. Everything it creates carries the label
# docker-live-dev=cgroup and is removed on exit. Needs docker, curl,
# python3 and Go; run as root (ns links of other processes).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=$here/v1-cgroupfs
run=$$
label=docker-live-dev=cgroup
img=docker-live-dev-cgroup:$run
net=dlcgroup-net-$run
tmp=$(mktemp -d)

cleanup() {
	docker rm -f "dlcgroup-work-$run" "dlcgroup-send-$run" >/dev/null 2>&1 || true
	docker network rm "$net" >/dev/null 2>&1 || true
	docker rmi "$img" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

(cd "$here/workload" && CGO_ENABLED=0 go build -o "$tmp/workload" .)
tar -C "$tmp" -c workload | docker import \
	--change 'ENTRYPOINT ["/workload"]' --change "LABEL $label" - "$img" >/dev/null

# wait_log NAME WORD: poll until the container printed WORD.
wait_log() {
	end=$(($(date +%s) + 30))
	until docker logs "$1" 2>&1 | grep -qx "$2"; do
		[ "$(date +%s)" -lt "$end" ] || { echo "record.sh: $1 never printed $2" >&2; exit 1; }
		sleep 0.2
	done
}

# The kernel fills the v1 blkio throttle counters only for a cgroup with a
# throttle limit, so the workload gets a generous one on the Engine's disk.
dev=$(df --output=source "$(docker info --format '{{.DockerRootDir}}')" | tail -n 1)
docker network create --internal --label "$label" "$net" >/dev/null
work=$(docker run -d --label "$label" --network "$net" --name "dlcgroup-work-$run" \
	--device-read-bps "$dev:1gb" --device-write-bps "$dev:1gb" "$img" work 32 8)
wait_log "$work" working
ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$work")
docker run -d --label "$label" --network "$net" --name "dlcgroup-send-$run" "$img" send "$ip:9000" 1048576 >/dev/null
wait_log "dlcgroup-send-$run" sent
docker pause "$work" >/dev/null
pid=$(docker inspect -f '{{.State.Pid}}' "$work")

# snapshot DIR: the files of pid's cgroups and /proc, at their host paths
# under DIR.
snapshot() {
	d=$1
	mkdir -p "$d/proc/self/ns" "$d/proc/$pid/net" "$d/proc/$pid/ns"
	cat "/proc/$pid/cgroup" >"$d/proc/$pid/cgroup"
	cat "/proc/$pid/net/dev" >"$d/proc/$pid/net/dev"
	ln -s "$(readlink "/proc/$pid/ns/net")" "$d/proc/$pid/ns/net"
	ln -s "$(readlink /proc/self/ns/net)" "$d/proc/self/ns/net"
	# Only the root and the cgroup mounts: the rest names this machine's
	# private paths and plays no part.
	awk '$5 == "/" || $5 ~ /^\/sys\/fs\/cgroup/' /proc/self/mountinfo >"$d/proc/self/mountinfo"
	for c in cpuacct memory blkio pids; do
		p=$(awk -F: -v c="$c" '{ n = split($2, cs, ","); for (i = 1; i <= n; i++) if (cs[i] == c) print $3 }' "/proc/$pid/cgroup")
		src=/sys/fs/cgroup/$c$p
		mkdir -p "$d$src"
		for f in "$src"/*; do
			[ -f "$f" ] || continue
			cat "$f" >"$d$f" 2>/dev/null || rm -f "$d$f" # write-only files
		done
	done
}
# v1 memory.usage_in_bytes drifts for a while after the pause, as per-CPU
# charge caches drain: try until a snapshot before and after the Engine's
# record agree.
tries=0
while :; do
	rm -rf "$tmp/first" "$tmp/second"
	snapshot "$tmp/first"
	curl -sf --unix-socket /var/run/docker.sock \
		"http://localhost/v1.41/containers/$work/stats?stream=false&one-shot=true" >"$tmp/engine.json"
	snapshot "$tmp/second"
	diff -r --no-dereference "$tmp/first" "$tmp/second" >/dev/null && break
	tries=$((tries + 1))
	[ "$tries" -lt 20 ] || { echo "record.sh: counters kept moving while paused" >&2; exit 1; }
	sleep 0.5
done
cat /proc/stat >"$tmp/first/proc/stat"
cat /proc/meminfo >"$tmp/first/proc/meminfo"

rm -rf "$out"
mv "$tmp/first" "$out"
# python keeps 64-bit integers exact (jq 1.6 rounds them to doubles).
python3 -m json.tool --indent 2 "$tmp/engine.json" >"$out/engine.json"
printf '%s %s\n' "$work" "$pid" >"$out/target"
echo "recorded container $work (pid $pid) into $out"
