#!/bin/sh
# Soak: a zmq-forwarder under a steady 20 000 msg/s of acknowledged
# publishing for 10 minutes, with a durable subscriber reading throughout
# and other subscribers (durable, replaying, live) coming and going, some
# of them killed -9. Samples the forwarder's resident memory and open file
# descriptors every 10 s and compares the middle of the run (the journal
# has reached its retention limit) with the end: both must stay flat. Not
# run by CI (it takes the time it says); docs/reliability.md has a run's
# figures.
#
# Usage: bench/soak.sh [SECONDS [RATE [BUILD_DIR [RUN_DIR]]]]   (600, 20000, build, /var/tmp/zmqkit-soak)
set -eu
seconds=${1:-600}
rate=${2:-20000}
build=${3:-build}
run=${4:-/var/tmp/zmqkit-soak}
tools="$build/tools"
rm -rf "$run"
mkdir -p "$run"
at="ipc://$run"
pids=""
cleanup() { for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# Retention keeps the journal at 256 MiB in 16 MiB segments: it is full
# after about 4 minutes at 20 000/s, and from then on the forwarder's
# figures must not grow (each segment costs a descriptor and some index
# memory, so before that they grow with the journal, as they should).
# SOAK_FORWARDER_ARGS replaces these two options.
# shellcheck disable=SC2086  # the options are meant to split into words
"$tools/zmq-forwarder" -d "$run/journal" --intake "@$at/intake" --replay "@$at/replay" \
  --live "@$at/live" --control none --frontend none ${SOAK_FORWARDER_ARGS:---segment-mib 16 --max-mib 256} \
  2>"$run/forwarder.log" &
fwd=$!
pids="$pids $fwd"

total=$((seconds * rate))
# The producer: numbered lines at RATE, acknowledged by the forwarder.
seq 1 "$total" | "$tools/zmq-pub" --reliable ">$at/intake" -t soak -l --rate "$rate" 2>"$run/pub.log" &
pub=$!
pids="$pids $pub"
# The steady subscriber: everything, acknowledged as written.
"$tools/zmq-sub" ">$at/replay" --durable steady --replay first -W 30 --stats >"$run/steady.txt" 2>"$run/steady.log" &
steady=$!
pids="$pids $steady"

sample() {  # t rss_kib fds
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$fwd/status")
  fds=$(ls "/proc/$fwd/fd" | wc -l)
  echo "$1,$rss,$fds" >>"$run/samples.csv"
}
echo "t_s,rss_kib,fds" >"$run/samples.csv"

start=$(date +%s)
n=0
while :; do
  now=$(date +%s)
  elapsed=$((now - start))
  [ "$elapsed" -lt "$seconds" ] || break
  # Every 10 s: a sample, and a visitor of one of three kinds for 1-8 s.
  sample "$elapsed"
  n=$((n + 1))
  case $((n % 3)) in
    0) "$tools/zmq-sub" ">$at/replay" --durable "visitor-$n" --replay first >/dev/null 2>&1 & ;;
    1) "$tools/zmq-sub" ">$at/replay" --replay new >/dev/null 2>&1 & ;;
    2) "$tools/zmq-sub" ">$at/live" >/dev/null 2>&1 & ;;
  esac
  visitor=$!
  sleep $((1 + n % 8))  # a soak's pacing, not a wait for an event
  if [ $((n % 2)) -eq 0 ]; then kill -9 "$visitor"; else kill "$visitor"; fi
  wait "$visitor" 2>/dev/null || true
  sleep $((9 - n % 8))
done
wait "$pub" || { echo "soak: FAILED, zmq-pub exited non-zero: $(tail -n 1 "$run/pub.log")" >&2; exit 1; }
sleep 2
sample "$(( $(date +%s) - start ))"
kill "$steady"
wait "$steady" 2>/dev/null || true

received=$(wc -l <"$run/steady.txt")
awk -F, -v seconds="$seconds" -v rate="$rate" -v received="$received" -v total="$total" '
  NR == 1 { next }
  $1 >= seconds / 2 && !warm { warm = 1; rss0 = $2; fd0 = $3 }
  { if ($2 > rssmax) rssmax = $2; rss1 = $2; fd1 = $3 }
  END {
    printf "soak: %d s at %d msg/s: %d published and acknowledged, %d received by the steady subscriber\n", seconds, rate, total, received
    printf "soak: forwarder RSS %.1f MiB half-way, %.1f MiB at the end (max %.1f); open fds %d then %d\n", rss0 / 1024, rss1 / 1024, rssmax / 1024, fd0, fd1
    flat = (rss1 <= rss0 * 1.2 + 16384) && (fd1 <= fd0)
    print flat ? "soak: flat" : "soak: FAILED, memory or descriptors grew"
    exit flat ? 0 : 1
  }' "$run/samples.csv"
