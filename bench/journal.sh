#!/usr/bin/env bash
# The journal's performance: builds bench/journal_bench and runs it once.
# A benchmark, not a test: CI does not run it.
#
# Usage: bench/journal.sh [BUILD_DIR] [DIR] [-- JOURNAL_BENCH_OPTIONS...]
#   BUILD_DIR  CMake build directory; configured as a Release build with the
#              tests on if it has no CMakeCache.txt yet        (default: build)
#   DIR        a directory on the disk to measure; not a tmpfs (default:
#              /var/tmp, or the current directory if /var/tmp is a tmpfs)
#   options after --  go to journal_bench: --seconds S (each throughput
#              row, default 2), --size-mib N (the journal whose open and read
#              are timed, default 1024), --opens N (default 5)
#
# Measures (a) append+commit throughput of 100-byte envelopes for the fsync
# policies always, interval:10 and never at 1, 16, 128 and 1024 records per
# commit, (b) journal::open on a 1 GiB journal of 64 MiB segments, cold-ish
# (page cache dropped) and warm, min/median/max of several opens, and (c)
# sequential reading with journal::reader. Needs about 1.3 GiB free in DIR;
# everything written is deleted before the script exits.
set -euo pipefail

build=${1:-build}
base=${2:-}
if [[ $# -ge 2 ]]; then shift 2; elif [[ $# -ge 1 ]]; then shift 1; fi
if [[ ${1:-} == -- ]]; then shift; fi
if [[ -z $base ]]; then
  base=/var/tmp
  if [[ ! -d $base || $(stat -f -c %T "$base") == tmpfs ]]; then base=.; fi
fi
[[ -d $base ]] || { echo "journal.sh: $base is not a directory" >&2; exit 2; }

src=$(cd "$(dirname "$0")/.." && pwd)
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DZMQKIT_BUILD_TESTS=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target journal_bench >/dev/null

# journal_bench deletes its data itself; this catches a kill -9 as well.
work=$(mktemp -d "$base/journal-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "zmqkit $(git -C "$src" describe --always --dirty 2>/dev/null || echo '?'), build type" \
  "$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt"), $(date -u +%Y-%m-%dT%H:%MZ)," \
  "$(stat -f -c %T "$work") on $(df --output=source "$work" | tail -1)"
"$build/bench/journal_bench" "$work" "$@"
