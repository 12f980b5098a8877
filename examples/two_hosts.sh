#!/bin/sh
# Example (e), two hosts: a forwarder on each, store-and-forward between
# them. Events published on host A are acknowledged by A's forwarder (on A's
# disk) whether or not host B is up, and flow to B when it is: B is down for
# the first half and killed -9 once, and its durable subscriber still gets
# every event, in order. Killed -9, B sends the subscriber again what it
# acknowledged since B last saved its position (every 100 ms at most,
# docs/protocol.md): the subscriber keeps the first of each (producer, seq),
# so it takes each event exactly once.
#
#   host A: zmq-pub --reliable --> zmq-forwarder A --forward-to--> host B: zmq-forwarder B
#                                   (journal a/)                    (journal b/) --> zmq-sub --durable
#
# As root with network namespaces, A and B are two namespaces joined by a
# veth pair (10.78.0.1 and 10.78.0.2), as two machines on a link; otherwise
# both run on loopback.
#
# Usage: examples/two_hosts.sh [BUILD_DIR [RUN_DIR]]
set -eu
build=${1:-build}
run=${2:-two-hosts-run}
tools="$build/tools"
rm -rf "$run"
mkdir -p "$run"
pids=""
a_ns="zka$$" b_ns="zkb$$"
netns=no
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for pid in $pids; do wait "$pid" 2>/dev/null || true; done  # none outlives the script
  if [ "$netns" = yes ]; then ip netns del "$a_ns" 2>/dev/null || true; ip netns del "$b_ns" 2>/dev/null || true; fi
}
trap cleanup EXIT

if [ "$(id -u)" -eq 0 ] && ip netns add "$a_ns" 2>/dev/null; then
  netns=yes
  ip netns add "$b_ns"
  ip link add "va$$" type veth peer name "vb$$"
  ip link set "va$$" netns "$a_ns"
  ip link set "vb$$" netns "$b_ns"
  ip -n "$a_ns" addr add 10.78.0.1/24 dev "va$$"
  ip -n "$b_ns" addr add 10.78.0.2/24 dev "vb$$"
  for ns in "$a_ns" "$b_ns"; do ip -n "$ns" link set lo up; done
  ip -n "$a_ns" link set "va$$" up
  ip -n "$b_ns" link set "vb$$" up
  on_a="ip netns exec $a_ns" on_b="ip netns exec $b_ns" a_ip=10.78.0.1 b_ip=10.78.0.2
  echo "host A and host B: network namespaces $a_ns (10.78.0.1) and $b_ns (10.78.0.2), joined by veth"
else
  on_a="" on_b="" a_ip=127.0.0.1 b_ip=127.0.0.1
  echo "host A and host B: both on loopback (run as root for two network namespaces)"
fi
a_intake="tcp://$a_ip:25570" b_intake="tcp://$b_ip:25571" b_replay="tcp://$b_ip:25572"

start_b() {
  $on_b "$tools/zmq-forwarder" -d "$run/b" --intake "@$b_intake" --replay "@$b_replay" -v \
    --frontend none --live none --control none 2>>"$run/b.log" &
  b_pid=$!
  pids="$pids $b_pid"
}

$on_a "$tools/zmq-forwarder" -d "$run/a" --intake "@$a_intake" --forward-to ">$b_intake" -v \
  --frontend none --live none --control none 2>"$run/a.log" &
pids="$pids $!"

# Events FROM to TO, acknowledged by A (on A's disk) when this returns.
publish() {
  seq "$1" "$2" | $on_a "$tools/zmq-pub" --reliable ">$a_intake" -t order_placed -l --ack-timeout 60
}

publish 1 100
echo "host A: events 1-100 acknowledged while host B is down"

start_b
# The subscriber prints each event's producer, seq and payload; the reader
# keeps the first of each (producer, seq) and stops at 200 events.
mkfifo "$run/audit.fifo"
$on_b "$tools/zmq-sub" ">$b_replay" --durable audit --replay first -W 60 \
  -F '{{producer}} {{seq}} {{raw}}' >"$run/audit.fifo" &
sub_pid=$!
pids="$pids $sub_pid"
read_once() {
  n=0 again=0 seen=" "
  while [ "$n" -lt 200 ] && read -r producer number payload; do
    case "$seen" in
      *" $producer:$number "*) again=$((again + 1)) ;;
      *) seen="$seen$producer:$number " n=$((n + 1)); echo "$payload" ;;
    esac
  done
  echo "$again" >"$run/again.txt"
}
read_once <"$run/audit.fifo" >"$run/received.txt" &
reader_pid=$!

publish 101 150
kill -9 "$b_pid"
wait "$b_pid" 2>/dev/null || true
echo "host B: forwarder killed -9"
publish 151 200
echo "host A: events 101-200 acknowledged"
start_b
echo "host B: forwarder restarted"

wait "$reader_pid"
kill "$sub_pid" 2>/dev/null || true
wait "$sub_pid" || true
if seq 1 200 | cmp -s - "$run/received.txt"; then
  echo "two hosts: 200 events published on host A, 200 received on host B once each and in order" \
    "($(cat "$run/again.txt") sent again after the kill -9, dropped by producer and seq)"
else
  echo "two hosts: FAILED, host B's subscriber got $(wc -l <"$run/received.txt") events, not 1..200 in order" >&2
  exit 1
fi
