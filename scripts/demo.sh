#!/bin/sh
# README command (a): install what is missing, build, run the demo: the
# patterns in one program, then the same shop's events through a durable
# forwarder, with its journal in ./demo-run, then the event-driven examples
# (docs/event-bus.md), their journals in ./demo-run too.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/examples/zmqkit-demo
examples/forwarder_demo.sh build/tools demo-run
echo "== the event-driven examples =="
echo "-- (a) user events: one handler per event type"
build/examples/example-user-events
echo "-- (b) shopping cart: notified once per crossing of 10 items, despite redeliveries"
build/examples/example-cart-notifier demo-run
echo "-- (c) work queue: 3 workers, one killed -9 mid-task"
examples/work_queue.sh build demo-run/work-queue
echo "-- (d) rpc: timeouts and retries"
build/examples/example-rpc
echo "-- (e) two hosts: a forwarder on each, store and forward"
examples/two_hosts.sh build demo-run/two-hosts
