#!/bin/sh
# Configures and builds zmqkit (library, patterns, examples, tests) in
# ./build. Extra arguments go to the configure step, e.g. -DZMQKIT_WERROR=ON.
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j "$(nproc)"
