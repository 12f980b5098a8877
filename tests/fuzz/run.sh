#!/bin/sh
# tests/fuzz/run.sh [SECONDS]: builds the libFuzzer targets (clang, in
# build-fuzz, or in $ZMQKIT_FUZZ_BUILD) and runs each one for SECONDS
# (default 60), two at a time, on a copy of its seed corpus (the committed
# corpus never grows), with -rss_limit_mb=512 -malloc_limit_mb=512. Prints one
# line per target: execs, exec/s, corpus size, result. Exits 1 if any target
# found a crash, a leak, an oversized allocation or a hang, or left files in
# its TMPDIR; the input that did it is kept in $BUILD/fuzz-artifacts.
# docs/fuzzing.md says more.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${ZMQKIT_FUZZ_BUILD:-$root/build-fuzz}

# One target; run by the xargs below. Writes its line to $work/$t.result.
if [ "${1:-}" = "--one" ]; then
  t=$2 seconds=$3 work=$4
  corpus=$work/$t/corpus tmp=$work/$t/tmp
  log=$build/fuzz-logs/$t.log
  mkdir -p "$corpus" "$tmp" "$build/fuzz-logs" "$build/fuzz-artifacts"
  cp "$here/corpus/$t/"* "$corpus/"
  dict=
  [ -f "$here/$t.dict" ] && dict=-dict=$here/$t.dict
  # ASan's quarantine of freed memory would count 256 MiB towards the RSS
  # limit; 64 MiB keeps use-after-free detection and leaves room to measure.
  # shellcheck disable=SC2086  # $dict is one word or none
  if TMPDIR=$tmp ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64} \
    "$build/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=512 -malloc_limit_mb=512 \
      -timeout=25 -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" \
      $dict "$corpus" >"$log" 2>&1; then
    rc=0
  else
    rc=$?
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  files=$(find "$corpus" -type f | wc -l)
  kib=$(du -sk --apparent-size "$corpus" | cut -f1)
  left=$(find "$tmp" -mindepth 1 | wc -l)
  if [ "$rc" -ne 0 ]; then
    why=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz check failed|deadly signal|out-of-memory|malloc\(' "$log" || true)
    input=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log" | head -1)
    result="FAILED (exit $rc): ${why:-see the log}; input $input; log $log"
  elif [ "$left" -ne 0 ]; then
    result="FAILED: left $left files in its TMPDIR ($tmp)"
  else
    result=ok
  fi
  printf 'fuzz: %-17s %10s execs %7s exec/s  corpus %4s files %5s KiB  %s\n' \
    "$t" "${execs:-?}" "${rate:-?}" "$files" "$kib" "$result" | tee "$work/$t.result"
  exit 0
fi

seconds=${1:-60}
case $seconds in
  '' | *[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS] (whole seconds per target)" >&2; exit 2 ;;
esac
command -v clang++ >/dev/null ||
  { echo "fuzz: clang++ not found; install clang and libclang-rt-14-dev (scripts/install-deps.sh)" >&2; exit 2; }

mkdir -p "$build/fuzz-logs"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$here" -B "$build" >"$build/fuzz-logs/configure.log" 2>&1 ||
    { tail -30 "$build/fuzz-logs/configure.log" >&2; echo "fuzz: FAILED to configure $build" >&2; exit 1; }
fi
cmake --build "$build" -j "$(nproc)" --target fuzz_targets >"$build/fuzz-logs/build.log" 2>&1 ||
  { tail -30 "$build/fuzz-logs/build.log" >&2; echo "fuzz: FAILED to build the targets in $build" >&2; exit 1; }

# Scratch space on tmpfs when there is one: the journal targets sync a lot.
base=${TMPDIR:-/tmp}
[ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/zmqkit-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

targets=$(cd "$here/corpus" && ls)
echo "fuzz: $(echo "$targets" | wc -l) targets, ${seconds} s each, two at a time, build $build"
start=$(date +%s)
# shellcheck disable=SC2086  # one target a word, one a line
printf '%s\n' $targets | xargs -P 2 -I '{}' "$0" --one '{}' "$seconds" "$work"

failed=0
for t in $targets; do
  if [ ! -f "$work/$t.result" ] || ! grep -q ' ok$' "$work/$t.result"; then
    failed=$((failed + 1))
  fi
done
elapsed=$(( $(date +%s) - start ))
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED: $failed of $(echo "$targets" | wc -l) targets (see the lines above) in ${elapsed} s"
  exit 1
fi
echo "fuzz: all $(echo "$targets" | wc -l) targets ok in ${elapsed} s"
