#!/usr/bin/env bash
# End-to-end throughput of the command-line tools: `zmq-pub -l` -> `zmq-sub`
# over tcp loopback. A benchmark, not a test: CI does not run it.
#
# Usage: bench/cli_throughput.sh [BUILD_DIR] [LINES] [LINE_SIZE] [RUNS]
#   BUILD_DIR  CMake build directory holding tools/zmq-pub   (default: build)
#   LINES      lines to send                                 (default: 1000000)
#   LINE_SIZE  bytes per line, newline not counted, >= 10   (default: 100)
#   RUNS       runs; the median is reported                  (default: 3)
#
# Per run: zmq-sub binds tcp://127.0.0.1:* (kernel-chosen port, read from its
# -v readiness line) with -C LINES -W 10 --stats, writing its raw output to a
# file; zmq-pub connects with --wait-subscribers 1 and reads the input file
# on stdin. Timed: from zmq-pub's start to zmq-sub's exit (connection set-up
# included). Checked after the clock stops: both exit 0, zmq-sub reports
# LINES received with no gaps, and its output is byte-identical to the input
# (so every line arrived, once, in order).
set -euo pipefail

build=${1:-build}
lines=${2:-1000000}
size=${3:-100}
runs=${4:-3}
idle=10  # zmq-sub gives up (exit 3) after this many seconds without a message

pub="$build/tools/zmq-pub"
sub="$build/tools/zmq-sub"
for tool in "$pub" "$sub"; do
  [[ -x $tool ]] || { echo "cli_throughput: $tool not found: build first, or pass the build dir" >&2; exit 2; }
done
if ! [[ $lines =~ ^[1-9][0-9]*$ && $size =~ ^[0-9]+$ && $runs =~ ^[1-9][0-9]*$ ]] || ((size < 10)); then
  echo "usage: $0 [BUILD_DIR] [LINES >= 1] [LINE_SIZE >= 10] [RUNS >= 1]" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cli_throughput.XXXXXX")
sub_pid=""
pub_pid=""
cleanup() {
  if [[ -n $pub_pid ]]; then kill "$pub_pid" 2>/dev/null || true; fi
  if [[ -n $sub_pid ]]; then kill "$sub_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }

# The input, not timed: line i is its number, zero-padded, then filler up to
# LINE_SIZE bytes. Every line differs, so a lost or reordered line shows.
input="$work/input.txt"
awk -v n="$lines" -v s="$size" 'BEGIN {
  pad = sprintf("%*s", s, ""); gsub(/ /, "x", pad)
  for (i = 1; i <= n; i++) { head = sprintf("%09d ", i); print head substr(pad, 1, s - length(head)) }
}' >"$input"
bytes=$(stat -c %s "$input")

echo "zmq-pub -l -> zmq-sub over tcp loopback: $lines lines of $size bytes, $runs run(s), $(nproc) CPU(s)"
src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
echo "tools: $build/tools; their source checkout: ${src:-?} (now at $(git -C "${src:-.}" describe --always --dirty 2>/dev/null || echo 'not a git checkout'))"

rates=()
for ((run = 1; run <= runs; run++)); do
  out="$work/output.txt"
  sub_err="$work/sub.err"
  pub_err="$work/pub.err"
  "$sub" '@tcp://127.0.0.1:*' -v -C "$lines" -W "$idle" --stats >"$out" 2>"$sub_err" &
  sub_pid=$!
  port=""
  for ((i = 0; i < 500; i++)); do  # the readiness line, within 5 s
    port=$(sed -n 's|^zmq-sub: ready: @tcp://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$sub_err")
    [[ -n $port ]] && break
    kill -0 "$sub_pid" 2>/dev/null || break
    sleep 0.01  # allow-sleep: polls for the readiness line (a benchmark script, not a test)
  done
  [[ -n $port ]] || { echo "cli_throughput: zmq-sub printed no readiness line:" >&2; cat "$sub_err" >&2; exit 1; }

  start=$(now)
  "$pub" ">tcp://127.0.0.1:$port" --wait-subscribers 1 <"$input" 2>"$pub_err" &
  pub_pid=$!
  sub_status=0
  wait "$sub_pid" || sub_status=$?
  end=$(now)
  sub_pid=""
  pub_status=0
  wait "$pub_pid" || pub_status=$?
  pub_pid=""

  if ((sub_status != 0 || pub_status != 0)); then
    echo "run $run: zmq-sub exited $sub_status, zmq-pub exited $pub_status" \
      "($(wc -l <"$out") lines received; status 3 = none for ${idle} s)" >&2
    cat "$sub_err" "$pub_err" >&2
    exit 1
  fi
  stats=$(grep '^zmq-sub: stats:' "$sub_err")
  received=$(sed -n 's/.*received \([0-9]*\) in.*/\1/p' <<<"$stats")
  gaps=$(sed -n 's/.*gaps \([0-9]*\),.*/\1/p' <<<"$stats")
  if [[ $received != "$lines" || $gaps != 0 ]]; then
    echo "run $run: expected $lines received and 0 gaps: $stats" >&2
    exit 1
  fi
  if ! cmp -s "$input" "$out"; then
    echo "run $run: zmq-sub's output differs from the input (lost, changed or reordered lines)" >&2
    exit 1
  fi
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
  rate=$(awk -v n="$lines" -v t="$secs" 'BEGIN { printf "%.0f", n / t }')
  rates+=("$rate")
  printf 'run %d: %s lines in %s s = %s lines/s end to end (%.1f MB/s of input); output identical to input\n' \
    "$run" "$lines" "$secs" "$rate" "$(awk -v b="$bytes" -v t="$secs" 'BEGIN { print b / t / 1e6 }')"
  echo "       ${stats#zmq-sub: }"
  rm -f "$out"
done

median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }')
echo "median of $runs: $median lines/s end to end"
