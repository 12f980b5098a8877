#!/bin/sh
# The sanitizer runs (part of scripts/test.sh, so of CI): the unit and
# pattern tests built and run under AddressSanitizer with
# UndefinedBehaviorSanitizer (and LeakSanitizer, part of ASan) in
# ./build-asan, and under ThreadSanitizer in ./build-tsan. Any report fails
# the run. Usage: scripts/sanitize.sh [asan|tsan]... (default: both)
set -eu
cd "$(dirname "$0")/.."

export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# tests/tsan.supp says why accesses from inside libzmq are not reported.
export TSAN_OPTIONS="suppressions=$(pwd)/tests/tsan.supp:second_deadlock_stack=1"

run() {  # NAME SANITIZERS
  dir="build-$1"
  echo "== $1 (-fsanitize=$2): building lib_tests and pattern_tests in $dir"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DZMQKIT_SANITIZE="$2" -DZMQKIT_WERROR=ON \
    -DZMQKIT_BUILD_TOOLS=OFF -DZMQKIT_BUILD_EXAMPLES=OFF -DZMQKIT_INSTALL=OFF >/dev/null
  cmake --build "$dir" -j "$(nproc)" --target lib_tests pattern_tests >/dev/null
  for t in lib_tests pattern_tests; do
    echo "== $1: $t"
    "$dir/tests/$t" --minimal || { echo "== $1: $t FAILED (see the report above)" >&2; exit 1; }
  done
}

[ $# -gt 0 ] || set -- asan tsan
for which in "$@"; do
  case "$which" in
    asan) run asan address,undefined ;;
    tsan) run tsan thread ;;
    *) echo "usage: scripts/sanitize.sh [asan|tsan]..." >&2; exit 2 ;;
  esac
done
echo "== sanitizers: no reports"
