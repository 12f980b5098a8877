#!/bin/sh
# README command (b), and what CI runs: install what is missing, build with
# warnings as errors, run every test, then the unit and pattern tests again
# under ASan+UBSan and TSan (scripts/sanitize.sh), then every fuzz target for
# 60 s (tests/fuzz/run.sh, docs/fuzzing.md).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DZMQKIT_WERROR=ON
(cd build && ctest --output-on-failure --timeout 300 -j "$(nproc)")
scripts/sanitize.sh
tests/fuzz/run.sh 60
