#!/bin/sh
# README command (b), and what CI runs: install what is missing, build with
# warnings as errors, run every test.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DZMQKIT_WERROR=ON
cd build
exec ctest --output-on-failure --timeout 300 -j "$(nproc)"
