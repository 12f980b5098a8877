#!/bin/sh
# Example (e), two hosts: a forwarder on each, store-and-forward between
# them. Events published on host A are acknowledged by A's forwarder (on A's
# disk) whether or not host B is up, and flow to B when it is: B is down for
# the first half and killed -9 once, and its durable subscriber still gets
# every event exactly once, in order.
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
  $on_b "$tools/zmq-forwarder" -d "$run/b" --intake "@$b_intake" --replay "@$b_replay" \
    --frontend none --live none --control none 2>>"$run/b.log" &
  b_pid=$!
  pids="$pids $b_pid"
}

$on_a "$tools/zmq-forwarder" -d "$run/a" --intake "@$a_intake" --forward-to ">$b_intake" \
  --frontend none --live none --control none 2>"$run/a.log" &
pids="$pids $!"

seq 1 100 | $on_a "$tools/zmq-pub" --reliable ">$a_intake" -t order_placed -l
echo "host A: events 1-100 acknowledged while host B is down"

start_b
$on_b "$tools/zmq-sub" ">$b_replay" --durable audit --replay first -C 200 -W 30 >"$run/received.txt" &
sub_pid=$!
pids="$pids $sub_pid"

seq 101 150 | $on_a "$tools/zmq-pub" --reliable ">$a_intake" -t order_placed -l
kill -9 "$b_pid"
wait "$b_pid" 2>/dev/null || true
echo "host B: forwarder killed -9"
seq 151 200 | $on_a "$tools/zmq-pub" --reliable ">$a_intake" -t order_placed -l
echo "host A: events 101-200 acknowledged"
start_b
echo "host B: forwarder restarted"

wait "$sub_pid"
if seq 1 200 | cmp -s - "$run/received.txt"; then
  echo "two hosts: 200 events published on host A, 200 received on host B exactly once and in order"
else
  echo "two hosts: FAILED, host B's subscriber got $(wc -l <"$run/received.txt") lines, not 1..200 in order" >&2
  exit 1
fi
