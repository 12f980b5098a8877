#!/usr/bin/env bash
# The forwarder's performance, end to end: zmq-forwarder as a process with
# its journal on a real disk, bench/forwarder_bench publishing to its intake
# over tcp loopback with acknowledgements. A benchmark, not a test: CI does
# not run it. Results: docs/journal.md, "The forwarder's performance".
#
# Usage: bench/forwarder.sh [BUILD_DIR] [DIR] [RUNS]
#   BUILD_DIR  CMake build directory; configured as a Release build with the
#              tests on if it has no CMakeCache.txt yet          (default: build)
#   DIR        a directory on the disk to measure; not a tmpfs (default:
#              /var/tmp, or the current directory if /var/tmp is a tmpfs)
#   RUNS       runs of each row                                  (default: 3)
#
# Measures (a) acknowledged throughput of 1 000 000 messages of 100 bytes per
# fsync policy; (b) acknowledgement latency at a constant 100 000 msg/s
# (half the 200 000 target) and 10 000 msg/s with fsync always, for
# --commit-interval 0, 1 (the default) and 2 ms, with the CPU time the
# hypervisor took from this machine meanwhile (steal, from /proc/stat);
# (c) the forwarder's memory (VmRSS, VmHWM) as its journal grows to 4 000 000
# messages and while a subscriber replays all of them.
set -euo pipefail

build=${1:-build}
base=${2:-}
runs=${3:-3}
if [[ -z $base ]]; then
  base=/var/tmp
  if [[ ! -d $base || $(stat -f -c %T "$base") == tmpfs ]]; then base=.; fi
fi
[[ -d $base ]] || { echo "forwarder.sh: $base is not a directory" >&2; exit 2; }

src=$(cd "$(dirname "$0")/.." && pwd)
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DZMQKIT_BUILD_TESTS=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target forwarder_bench zmq-forwarder zmq-sub >/dev/null
tools=$build/tools
bench=$build/bench/forwarder_bench

work=$(mktemp -d "$base/forwarder-bench.XXXXXX")
fwd_pid=""
stop_forwarder() {
  if [[ -n $fwd_pid ]]; then kill "$fwd_pid" 2>/dev/null || true; wait "$fwd_pid" 2>/dev/null || true; fi
  fwd_pid=""
}
trap 'stop_forwarder; rm -rf "$work"' EXIT

# Starts a forwarder on a fresh journal; sets intake and replay from its
# readiness line.
start_forwarder() {
  stop_forwarder
  rm -rf "$work/journal"
  "$tools/zmq-forwarder" -d "$work/journal" -v --intake '@tcp://127.0.0.1:*' --replay '@tcp://127.0.0.1:*' \
    --live none --frontend none --control none "$@" 2>"$work/forwarder.err" &
  fwd_pid=$!
  for _ in $(seq 100); do
    grep -q 'ready:' "$work/forwarder.err" 2>/dev/null && break
    sleep 0.05  # allow-sleep: polls a file the forwarder writes once (a benchmark script, not a test)
  done
  intake=$(sed -n 's/.*intake=@\([^ ]*\).*/\1/p' "$work/forwarder.err")
  replay=$(sed -n 's/.*replay=@\([^ ]*\).*/\1/p' "$work/forwarder.err")
  [[ -n $intake ]] || { cat "$work/forwarder.err" >&2; exit 1; }
}

steal() { awk '/^cpu /{print $9}' /proc/stat; }
memory() { awk '/^VmRSS|^VmHWM/{printf "%s %s %s  ", $1, $2, $3}' "/proc/$fwd_pid/status"; }

echo "zmqkit $(git -C "$src" describe --always --dirty 2>/dev/null || echo '?'), build type" \
  "$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt"), $(date -u +%Y-%m-%dT%H:%MZ)," \
  "$(nproc) cores, $(stat -f -c %T "$work") on $(df --output=source "$work" | tail -1)"

echo "== (a) acknowledged throughput, 1 000 000 x 100 B, one publisher"
for policy in always interval:10 never; do
  for _ in $(seq "$runs"); do
    start_forwarder --fsync "$policy"
    printf 'fsync=%-12s ' "$policy"
    "$bench" "$intake" --count 1000000
  done
done

echo "== (b) acknowledgement latency, fsync always (microseconds, from the scheduled send time)"
for interval in 0 1 2; do
  for rate in 100000 10000; do
    for _ in $(seq "$runs"); do
      start_forwarder --commit-interval "$interval"
      before=$(steal)
      printf 'commit-interval=%s ms ' "$interval"
      result=$("$bench" "$intake" --count $((rate * 3)) --rate "$rate")
      echo "$result steal_jiffies=$(( $(steal) - before ))"
    done
  done
done

echo "== (c) forwarder memory as the journal grows, and during a full replay"
start_forwarder
echo "empty journal:        $(memory)"
for total in 1000000 4000000; do
  "$bench" "$intake" --count $((total == 1000000 ? 1000000 : 3000000)) >/dev/null
  echo "$total messages:     $(memory)"
done
"$tools/zmq-sub" ">$replay" --replay first -C 4000000 --out-format raw -W 30 >/dev/null &
sub_pid=$!
peak=""
while kill -0 "$sub_pid" 2>/dev/null; do
  peak=$(memory)
  sleep 0.5  # allow-sleep: samples memory twice a second
done
wait "$sub_pid"
echo "during the replay:    $peak"
echo "after the replay:     $(memory)"
du -sh "$work/journal" | awk '{print "journal on disk: " $1}'
