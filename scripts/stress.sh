#!/usr/bin/env bash
# make stress: the tests on a busy host.
#
#   scripts/stress.sh              the unit suite under -race -count=10, then the
#                                  e2e fault, security and foundation tests three
#                                  times in a row, all while the load runs
#   scripts/stress.sh -- CMD ARG   run CMD while the load runs; exit with its status
#
# The load: CPU burner containers from the e2e helper image (FROM scratch, built
# here exactly as e2e/main_test.go builds it, so both share one tag) and
# `docker stats` streams over those same containers, which keep the Engine busy
# too. Every burner carries the label docker-live-stress=<run id>; only those are
# ever removed. The load is bounded twice: each burner exits by itself after
# STRESS_LIMIT (and is --rm), and each `docker stats` runs under
# `timeout -s KILL` with the same limit, so nothing outlives a killed script.
# On exit, failure, Ctrl-C or SIGTERM the script kills what it started and
# removes its burners at once.
#
# Knobs (environment):
#   STRESS_BURNERS     CPU burner containers (default 3)
#   STRESS_BURN        CPUs each burner burns (default 1; the host has 2 cores)
#   STRESS_STATS       `docker stats` streams over the burners (default 4)
#   STRESS_LIMIT       upper bound of the load, in seconds (default 5400)
#   STRESS_UNIT_COUNT  -count of the unit suite (default 10)
#   STRESS_E2E_ROUNDS  rounds of the e2e tests (default 3)
#   STRESS_LOG         where the test output goes (default stress.out)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
GO=${GO:-go}

burners=${STRESS_BURNERS:-3}
burn=${STRESS_BURN:-1}
stats_streams=${STRESS_STATS:-4}
limit=${STRESS_LIMIT:-5400}
unit_count=${STRESS_UNIT_COUNT:-10}
e2e_rounds=${STRESS_E2E_ROUNDS:-3}
log=${STRESS_LOG:-stress.out}

run_id=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
label="docker-live-stress=$run_id"
tmp=$(mktemp -d)
stats_pids=()
child=""

say() { printf 'stress: %s\n' "$*" >&2; }

cleanup() {
	local pid
	# docker stats may ignore SIGTERM; timeout made each one a process
	# group of its own, so SIGKILL to the group ends timeout and docker stats.
	for pid in "${stats_pids[@]}"; do
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	local ids
	ids=$(docker ps -aq --filter "label=$label" 2>/dev/null || true)
	if [ -n "$ids" ]; then
		# shellcheck disable=SC2086 # one id per word
		docker rm -f $ids >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}

# on_signal stops the running step (its own process group, so SIGINT reaches
# the test binary, which removes what it created) and then the load.
on_signal() {
	trap - INT TERM
	say "interrupted: stopping the tests and the load"
	if [ -n "$child" ]; then
		kill -INT -- "-$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	exit 130
}
trap cleanup EXIT
trap on_signal INT TERM

# run_step runs a command in a process group of its own (job control puts
# every background job in one, with SIGINT at its default even when this
# script was started in the background) and waits for it in a way that lets
# the traps above fire while it runs.
run_step() {
	set -m
	"$@" &
	child=$!
	set +m
	local rc=0
	wait "$child" || rc=$?
	child=""
	return "$rc"
}

# build_image builds the helper image the way e2e/main_test.go's buildImage
# does (same flags, same tag: a hash of the binary and the Dockerfile), and
# reuses the tag when it exists.
build_image() {
	(cd e2e/testdata/helper && CGO_ENABLED=0 GOOS=linux "$GO" build -trimpath -ldflags '-s -w' -o "$tmp/image/helper" .)
	cp e2e/testdata/Dockerfile "$tmp/image/Dockerfile"
	image="docker-live-e2e-helper:$(cat "$tmp/image/helper" "$tmp/image/Dockerfile" | sha256sum | cut -c1-12)"
	if ! docker image inspect "$image" >/dev/null 2>&1; then
		DOCKER_BUILDKIT=0 docker build -q --label docker-live-e2e-helper=1 -t "$image" "$tmp/image" >/dev/null 2>&1 ||
			docker build -q --label docker-live-e2e-helper=1 -t "$image" "$tmp/image" >/dev/null
	fi
}

start_load() {
	mkdir -p "$tmp/image"
	build_image
	local names=() i
	for i in $(seq 1 "$burners"); do
		names+=("dl-stress-$run_id-$i")
		# The lowest CPU weight: the burners keep both cores busy, so every
		# process on the host competes for CPU, but they give way to other
		# containers. At equal weight they starved the tests' own containers
		# to 2 % of a core, and no test can expect a workload to show half a
		# core that the host never gives it.
		docker run -d --rm --network none --cpu-shares 2 --label "$label" --label "docker-live-stress.pid=$$" \
			--name "dl-stress-$run_id-$i" "$image" \
			cpu --share "$burn" exit --code 0 --after "${limit}s" >/dev/null
	done
	for i in $(seq 1 "$stats_streams"); do
		timeout -s KILL "$limit" docker stats "${names[@]}" >/dev/null 2>&1 &
		stats_pids+=("$!")
		disown "$!" # no "Killed" notices when cleanup ends it
	done
	say "load: $burners burner(s) at $burn CPU, $stats_streams docker stats stream(s), run $run_id, at most ${limit}s"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

start_load

if [ "${1:-}" = "--" ]; then
	shift
	rc=0
	run_step "$@" || rc=$?
	say "load average at the end: $(loadavg)"
	exit "$rc"
fi

# The foundation, fault and security tests, by name from their files.
e2e_tests=$(grep -ho '^func Test[A-Za-z0-9_]*' e2e/foundation_test.go e2e/faults_test.go e2e/security_test.go |
	sed 's/^func //' | paste -sd'|' -)

: >"$log"
summary=()
failed=0
step() { # step NAME CMD...: runs CMD into the log, records result and time
	local name=$1
	shift
	local start=$SECONDS rc=0
	say "$name: started (load average $(loadavg))"
	echo "=== stress step: $name: $*" >>"$log"
	run_step "$@" >>"$log" 2>&1 || rc=$?
	local took=$((SECONDS - start))
	if [ "$rc" -eq 0 ]; then
		summary+=("PASS  $name  ${took}s")
	else
		summary+=("FAIL  $name  ${took}s (exit $rc)")
		failed=1
	fi
	say "$name: $([ "$rc" -eq 0 ] && echo ok || echo FAILED) after ${took}s (load average $(loadavg))"
}

# shellcheck disable=SC2046 # one package per word
step "unit -race -count=$unit_count" "$GO" test -race -count="$unit_count" -timeout 40m $("$GO" list ./... | grep -v /e2e)
for round in $(seq 1 "$e2e_rounds"); do
	step "e2e round $round" "$GO" test -race -count=1 -p 1 -timeout 30m -v -run "^($e2e_tests)\$" ./e2e/
done

say "failures in $log:"
grep -E '^\s*--- FAIL|^FAIL|^panic' "$log" >&2 || echo "  none" >&2
say "summary (total ${SECONDS}s):"
printf '  %s\n' "${summary[@]}" >&2
exit "$failed"
