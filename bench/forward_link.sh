#!/usr/bin/env bash
# The forward-to link's throughput: a forwarder whose journal holds N
# messages starts with --forward-to a second, empty forwarder (both
# zmq-forwarder processes, tcp loopback, --fsync never on both so that the
# link is what is measured, not the disk), and the time until the second has
# stored all N (polled on its control socket, STATS) gives messages/s.
# Given several build directories, runs them interleaved, A B A B..., so a
# before/after ratio comes from one sitting. A benchmark, not a test: CI
# does not run it. Results: docs/performance.md, "The forward-to link".
#
# Usage: bench/forward_link.sh [-n N] [-s BYTES] [-r RUNS] BUILD_DIR...
#   -n N       messages held and forwarded              (default: 500000)
#   -s BYTES   payload bytes of each                    (default: 100)
#   -r RUNS    runs per build directory                 (default: 3)
# Needs Debian's python3 with pyzmq (python3-zmq), or $PYTHON, to poll STATS.
set -euo pipefail
python=${PYTHON:-/usr/bin/python3}  # Debian's, with python3-zmq

count=500000 size=100 runs=3
while getopts n:s:r: opt; do
  case $opt in
    n) count=$OPTARG ;;
    s) size=$OPTARG ;;
    r) runs=$OPTARG ;;
    *) echo "usage: bench/forward_link.sh [-n N] [-s BYTES] [-r RUNS] BUILD_DIR..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
(($# > 0)) || { echo "usage: bench/forward_link.sh [-n N] [-s BYTES] [-r RUNS] BUILD_DIR..." >&2; exit 2; }

base=/var/tmp
[[ -d $base && $(stat -f -c %T "$base") != tmpfs ]] || base=.
work=$(mktemp -d "$base/forward-link-bench.XXXXXX")
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_forwarder TOOLS NAME ARGS...: starts it, waits for its readiness line.
start_forwarder() {
  local tools=$1 name=$2
  shift 2
  "$tools/zmq-forwarder" -d "$work/$name" -v --fsync never --live none --frontend none \
    --replay none "$@" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 200); do
    grep -q 'ready:' "$work/$name.err" 2>/dev/null && return
    sleep 0.05  # allow-sleep: polls a file the forwarder writes once (a benchmark script, not a test)
  done
  cat "$work/$name.err" >&2
  exit 1
}

# Fills a journal of COUNT messages once per build (its own format), kept
# as a template copied for each run.
fill() {
  local tools=$1 template=$2 intake control
  intake=$(free_port) control=$(free_port)
  start_forwarder "$tools" fill --intake "@tcp://127.0.0.1:$intake" --control "@tcp://127.0.0.1:$control"
  head -c "$size" /dev/zero | tr '\0' x | awk -v n="$count" '{for (i = 0; i < n; i++) print}' |
    "$tools/zmq-pub" --reliable ">tcp://127.0.0.1:$intake" -t bench -l >/dev/null
  stop_all
  mv "$work/fill" "$template"
}

# One run: B up and empty, then A on a copy of the template with
# --forward-to B; prints messages/s from A's start to B's last store.
run() {
  local tools=$1 template=$2 b_intake b_control
  rm -rf "$work/a" "$work/b"
  cp -r "$template" "$work/a"
  b_intake=$(free_port) b_control=$(free_port)
  start_forwarder "$tools" b --intake "@tcp://127.0.0.1:$b_intake" --control "@tcp://127.0.0.1:$b_control"
  local t0
  t0=$(date +%s.%N)
  start_forwarder "$tools" a --intake "@tcp://127.0.0.1:$(free_port)" --control none \
    --forward-to "tcp://127.0.0.1:$b_intake"
  "$python" - "$b_control" "$count" "$t0" <<'EOF'
import json, sys, time, zmq
port, count, t0 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ctx = zmq.Context()
req = ctx.socket(zmq.REQ)
req.connect(f"tcp://127.0.0.1:{port}")
deadline = time.time() + 600
while time.time() < deadline:
    req.send(b"STATS")
    stored = json.loads(req.recv())["counters"]["stored"]
    if stored >= count:
        elapsed = time.time() - t0
        print(f"{count / elapsed:.0f} msg/s ({count} in {elapsed:.2f} s)")
        sys.exit(0)
    time.sleep(0.01)  # allow-sleep: polls a counter (a benchmark script, not a test)
sys.exit("forward_link.sh: not all stored within 600 s")
EOF
  # CPU time of each forwarder (user + system), steadier than the rate on
  # a shared machine.
  printf '%40s  cpu: sender %s s, next hop %s s\n' "" "$(cpu_seconds "${pids[1]}")" "$(cpu_seconds "${pids[0]}")"
  stop_all
}

cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }

echo "forward-to link: $count x $size B, fsync never on both, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
i=0
for build in "$@"; do
  fill "$build/tools" "$work/template$i"
  i=$((i + 1))
done
for _ in $(seq "$runs"); do
  i=0
  for build in "$@"; do
    printf '%-40s ' "$build ($(git -C "$build" describe --always --dirty 2>/dev/null || echo '?'))"
    run "$build/tools" "$work/template$i"
    i=$((i + 1))
  done
done
