#!/bin/sh
# zmqkit demo, part 2: the shop's events through a durable forwarder, each
# piece its own process, as on real hosts.
#
#   accounts, shop --zmq-pub --reliable-->  zmq-forwarder  --durable "audit"-->  zmq-sub
#                                         (journal on disk) --replay first---->  late joiner
#
# Every event is acknowledged only once it is on disk; the forwarder is then
# killed -9 and started again, and a subscriber that joins late replays
# everything from the journal.
#
# Usage: examples/forwarder_demo.sh [TOOLS_DIR [RUN_DIR]]
#   TOOLS_DIR  where zmq-forwarder and friends are (default: build/tools)
#   RUN_DIR    the journal and ipc sockets go here, emptied first (default: ./demo-run)
set -eu
tools=${1:-build/tools}
run=${2:-demo-run}
rm -rf "$run"
mkdir -p "$run"
at="ipc://$run"  # ipc endpoints in RUN_DIR: no port to collide with anything
forwarder_pid=""
audit_pid=""

cleanup() {
  for pid in $audit_pid $forwarder_pid; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

start_forwarder() {
  "$tools/zmq-forwarder" -d "$run/journal" --intake "@$at/intake" --replay "@$at/replay" \
    --live "@$at/live" --frontend none --control none &
  forwarder_pid=$!
}

say() { printf '[%-13s] %s\n' "$1" "$2"; }

echo "== part 2: through a durable forwarder, journal in $run/journal =="
start_forwarder
say forwarder "zmq-forwarder pid $forwarder_pid: intake $at/intake, replay $at/replay"

# audit: a durable subscription (it resumes by name after any restart).
"$tools/zmq-sub" ">$at/replay" --durable audit -C 9 -W 20 \
  -F '[audit        ] fseq={{fseq}} {{topic}} {{payload}}' >"$run/audit.out" &
audit_pid=$!

# Two services publish; each exits 0 only once every event is stored.
"$tools/zmq-pub" --reliable ">$at/intake" -t user_registered --in-format json <<'EOF'
{"user": "ada", "email": "ada@example.org"}
{"user": "grace", "email": "grace@example.org"}
{"user": "linus", "email": "linus@example.org"}
EOF
say accounts "3 user_registered events acknowledged (on disk)"
"$tools/zmq-pub" --reliable ">$at/intake" --in-format jsonl-envelope <<'EOF'
{"topic": "cart_updated", "payload": {"cart": "c-1", "user": "ada", "item": "tea", "quantity": 2}}
{"topic": "order_placed", "payload": {"order_id": "ord-1001", "user": "ada", "total": 19.5}}
{"topic": "cart_updated", "payload": {"cart": "c-2", "user": "grace", "item": "mug", "quantity": 1}}
{"topic": "order_placed", "payload": {"order_id": "ord-1002", "user": "grace", "total": 8.0}}
{"topic": "cart_updated", "payload": {"cart": "c-3", "user": "linus", "item": "pen", "quantity": 10}}
{"topic": "order_placed", "payload": {"order_id": "ord-1003", "user": "linus", "total": 12.25}}
EOF
say shop "6 cart_updated and order_placed events acknowledged (on disk)"

wait "$audit_pid" || true
audit_pid=""
cat "$run/audit.out"

# A crash: no chance to flush or save anything.
kill -9 "$forwarder_pid"
wait "$forwarder_pid" 2>/dev/null || true
say forwarder "killed -9; starting it again on the same journal"
start_forwarder

# A subscriber that was not there joins now and replays what it missed.
"$tools/zmq-sub" ">$at/replay" --replay first -C 9 -W 20 \
  -F '[late-joiner  ] replayed fseq={{fseq}} {{topic}} {{payload}}' >"$run/late.out"
cat "$run/late.out"

kill -TERM "$forwarder_pid"
wait "$forwarder_pid"
forwarder_pid=""
"$tools/zmq-journal" stat "$run/journal" | sed 's/^/[zmq-journal  ] /'

echo "forwarder demo finished: 9 events acknowledged, $(wc -l <"$run/audit.out") received by audit," \
  "forwarder killed -9 and restarted, $(wc -l <"$run/late.out") replayed by the late joiner"
