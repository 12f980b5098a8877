#!/bin/sh
# Example (c), work queue: a producer, a durable forwarder and 3 workers
# sharing one durable subscription. Worker 1 is killed -9 in the middle of
# a job; the forwarder hears no more from it and gives that job to another
# worker. Every job is finished.
#
#   example-work-queue produce --> zmq-forwarder (journal) --"jobs"--> worker-1 (killed -9)
#                                                                  --> worker-2
#                                                                  --> worker-3
#
# Usage: examples/work_queue.sh [BUILD_DIR [RUN_DIR]]
#   BUILD_DIR  the build tree (default: build)
#   RUN_DIR    journal, sockets, logs and done files (emptied first; default: ./work-queue-run)
set -eu
build=${1:-build}
run=${2:-work-queue-run}
jobs=30
rm -rf "$run"
mkdir -p "$run/done"
at="ipc://$run"
pids=""
cleanup() { for pid in $pids; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# Waits up to $1 seconds for the shell condition $2.
wait_for() {
  limit=$(( $(date +%s) + $1 ))
  until eval "$2"; do
    if [ "$(date +%s)" -ge "$limit" ]; then echo "work queue: FAILED, timed out waiting for: $2" >&2; exit 1; fi
    sleep 0.05  # allow-sleep: polls a file or a log line, up to the deadline
  done
}

# A member that sends nothing for 1 s is gone: its job goes to another.
"$build/tools/zmq-forwarder" -d "$run/journal" --intake "@$at/intake" --replay "@$at/replay" \
  --frontend none --live none --control none --member-timeout 1 2>"$run/forwarder.log" &
pids="$pids $!"
for w in 1 2 3; do
  "$build/examples/example-work-queue" worker "worker-$w" "$at/replay" "$run/done" >"$run/worker-$w.log" &
  eval "worker_$w=$!"
  pids="$pids $!"
done

"$build/examples/example-work-queue" produce "$at/intake" "$jobs"

# Kill worker 1 in the middle of its first job: started, not finished.
wait_for 15 'grep -q "started job" "$run/worker-1.log"'
kill -9 "$worker_1"
victim=$(sed -n 's/^worker-1 started job \([0-9]*\)$/\1/p' "$run/worker-1.log" | tail -n 1)
echo "worker-1 killed -9 during job $victim"

wait_for 30 '[ "$(ls "$run/done" | grep -c "^job-[0-9]*$")" -eq "$jobs" ]'
finisher=$(cat "$run/done/job-$victim")
kill "$worker_2" "$worker_3"
wait "$worker_2" "$worker_3" || true
grep -h "jobs done" "$run/worker-2.log" "$run/worker-3.log" || true

lost=0
n=1
while [ "$n" -le "$jobs" ]; do
  [ -f "$run/done/job-$n" ] || lost=$((lost + 1))
  n=$((n + 1))
done
echo "work queue: $jobs jobs, $((jobs - lost)) done, $lost lost; job $victim, interrupted by kill -9 in worker-1, finished by $finisher"
[ "$lost" -eq 0 ] && [ "$finisher" != worker-1 ]
