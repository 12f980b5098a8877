#!/bin/sh
# README command (a): install what is missing, build, run the demo: the
# patterns in one program, then the same shop's events through a durable
# forwarder, with its journal in ./demo-run.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/examples/zmqkit-demo
exec examples/forwarder_demo.sh build/tools demo-run
