#!/bin/sh
# README command (a): install what is missing, build, run the demo.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/examples/zmqkit-demo
