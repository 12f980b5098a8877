#!/usr/bin/python3
"""The far end of the tools' end-to-end tests: pyzmq + Python's msgpack.

Run with the Debian interpreter (/usr/bin/python3, which has python3-zmq and
python3-msgpack). Nothing here shares code with zmqkit: envelopes are built
with msgpack.packb and read with msgpack.unpackb, straight from the spec
(envelope v1, two frames):

    frame 0  topic bytes
    frame 1  msgpack [1, producer_id (bin 16), seq, time_ns, headers, payload]

Subcommands (every wait has a deadline; the first thing wrong ends the peer
with exit 1 and a one-line reason on stderr):

  check              exit 0 if zmq and msgpack import
  sub ADDRESS N      SUB binds, subscribes to everything, prints N envelopes
  pull ADDRESS N     PULL binds, prints N envelopes
  rep ADDRESS N      REP binds, prints N requests, answers each with its
                     payload upper-cased and the header "replier": "pyzmq",
                     then waits for "done"
  xpub ADDRESS       XPUB binds, waits for a subscription, sends the samples
  push ADDRESS       PUSH binds, sends the samples
  req ENDPOINT       REQ connects, sends the samples one by one as requests
                     and prints each reply

A peer that binds prints its resolved endpoint first. A peer that sends
prints its producer id (hex) next. xpub, push and rep wait for "done" on
stdin before they exit, so nothing they sent is lost with their socket (a
REQ with ZMQ_IMMEDIATE drops a reply it has not read yet when the replier's
connection closes).

Each envelope received is checked against the spec and printed as one JSON
line {"topic", "seq", "producer", "headers", "payload"}, the producer in hex
and bin payloads as {"$base64": ...}, for the C++ side to compare.
"""

import argparse
import base64
import json
import os
import select
import sys
import time

DEADLINE_MS = 5000
PLAUSIBLE_CLOCK_SKEW_NS = 60 * 10**9


def fail(reason):
    print(f"tool_peer.py: {reason}", file=sys.stderr, flush=True)
    sys.exit(1)


try:
    import msgpack
    import zmq
except ImportError as e:  # the C++ side turns this into SKIPPED
    if __name__ == "__main__" and sys.argv[1:2] == ["check"]:
        fail(f"cannot import {e.name} in {sys.executable}")
    raise


def say(line):
    print(line, flush=True)


# What xpub, push and req send: (topic, headers, payload).
SAMPLES = [
    ("inv.text", {"k": "v"}, "hello"),
    ("inv.bin", {}, bytes(range(256))),
    ("other.skipped", {}, "zmq-sub -t inv. never sees this"),
    ("inv.map", {"n": "3"}, {"a": 1, "b": [True, None, 1.5, -7], "s": "x"}),
]


def encode(producer, seq, headers, payload):
    return msgpack.packb([1, producer, seq, time.time_ns(), headers, payload], use_bin_type=True)


def receive(sock, what):
    if not sock.poll(DEADLINE_MS, zmq.POLLIN):
        fail(f"no {what} within {DEADLINE_MS} ms")
    return sock.recv_multipart()


def jsonable(value):
    if isinstance(value, bytes):
        return {"$base64": base64.b64encode(value).decode()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def decode(frames, what):
    """Checks one zmqkit message against the spec; returns it as a dict."""
    if len(frames) != 2:
        fail(f"{what}: {len(frames)} frames, expected 2")
    try:
        topic = frames[0].decode("utf-8")
        envelope = msgpack.unpackb(frames[1], raw=False)
    except Exception as e:
        fail(f"{what}: not a zmqkit envelope: {e}")
    if not isinstance(envelope, list) or len(envelope) < 6:
        fail(f"{what}: envelope is not an array of at least 6: {envelope!r}")
    version, producer, seq, time_ns, headers, payload = envelope[:6]
    if version != 1:
        fail(f"{what}: version {version!r}, expected 1")
    if not isinstance(producer, bytes) or len(producer) != 16:
        fail(f"{what}: producer_id {producer!r} is not 16 bytes of bin")
    if not isinstance(seq, int) or seq < 1:
        fail(f"{what}: seq {seq!r} is not a positive integer")
    if not isinstance(time_ns, int) or abs(time.time_ns() - time_ns) > PLAUSIBLE_CLOCK_SKEW_NS:
        fail(f"{what}: time_ns {time_ns!r} is not within a minute of now")
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        fail(f"{what}: headers {headers!r} are not a map of str to str")
    return {"topic": topic, "seq": seq, "producer": producer.hex(), "headers": headers,
            "payload": jsonable(payload)}


def print_received(sock, count, what):
    for n in range(1, count + 1):
        say(json.dumps(decode(receive(sock, f"{what} {n}"), f"{what} {n}")))


def wait_for_done():
    ready, _, _ = select.select([sys.stdin], [], [], DEADLINE_MS / 1000)
    if not ready:
        fail(f"no 'done' on stdin within {DEADLINE_MS} ms")
    line = sys.stdin.readline().strip()
    if line != "done":
        fail(f"expected 'done' on stdin, got {line!r}")


def bind(sock, address):
    sock.bind(address)
    say(sock.getsockopt(zmq.LAST_ENDPOINT).decode())


def cmd_sub(ctx, args):
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    bind(sock, args.address)
    print_received(sock, args.count, "message")


def cmd_pull(ctx, args):
    sock = ctx.socket(zmq.PULL)
    bind(sock, args.address)
    print_received(sock, args.count, "message")


def cmd_rep(ctx, args):
    sock = ctx.socket(zmq.REP)
    bind(sock, args.address)
    producer = os.urandom(16)
    for n in range(1, args.count + 1):
        request = decode(receive(sock, f"request {n}"), f"request {n}")
        say(json.dumps(request))
        payload = request["payload"]
        reply = payload.upper() if isinstance(payload, str) else payload
        headers = dict(request["headers"], replier="pyzmq")
        sock.send_multipart([request["topic"].encode(), encode(producer, n, headers, reply)])
    wait_for_done()


def send_samples(sock, producer):
    for seq, (topic, headers, payload) in enumerate(SAMPLES, start=1):
        sock.send_multipart([topic.encode(), encode(producer, seq, headers, payload)])


def cmd_xpub(ctx, args):
    sock = ctx.socket(zmq.XPUB)
    bind(sock, args.address)
    producer = os.urandom(16)
    say(producer.hex())
    subscription = receive(sock, "subscription")
    if not subscription[0].startswith(b"\x01"):
        fail(f"expected a subscription, got {subscription!r}")
    send_samples(sock, producer)
    wait_for_done()


def cmd_push(ctx, args):
    sock = ctx.socket(zmq.PUSH)
    bind(sock, args.address)
    producer = os.urandom(16)
    say(producer.hex())
    send_samples(sock, producer)  # blocks until a puller connects
    wait_for_done()


def cmd_req(ctx, args):
    sock = ctx.socket(zmq.REQ)
    sock.connect(args.endpoint)
    producer = os.urandom(16)
    say(producer.hex())
    for seq, (topic, headers, payload) in enumerate(SAMPLES, start=1):
        sock.send_multipart([topic.encode(), encode(producer, seq, headers, payload)])
        say(json.dumps(decode(receive(sock, f"reply {seq}"), f"reply {seq}")))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check")
    for name in ("sub", "pull", "rep"):
        p = commands.add_parser(name)
        p.add_argument("address")
        p.add_argument("count", type=int)
    for name in ("xpub", "push"):
        commands.add_parser(name).add_argument("address")
    commands.add_parser("req").add_argument("endpoint")
    args = parser.parse_args()
    if args.command == "check":
        return

    ctx = zmq.Context()
    try:
        globals()["cmd_" + args.command](ctx, args)
    except Exception as e:  # anything unexpected is still one line on stderr
        fail(f"{args.command}: {type(e).__name__}: {e}")
    finally:
        ctx.destroy(linger=1000)


if __name__ == "__main__":
    main()
