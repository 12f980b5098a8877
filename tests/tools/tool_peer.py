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
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from zmqkit_peer import (bind, check_envelope, encode, fail, receive, say,  # noqa: E402
                         wait_for_done, zmq)


# What xpub, push and req send: (topic, headers, payload).
SAMPLES = [
    ("inv.text", {"k": "v"}, "hello"),
    ("inv.bin", {}, bytes(range(256))),
    ("other.skipped", {}, "zmq-sub -t inv. never sees this"),
    ("inv.map", {"n": "3"}, {"a": 1, "b": [True, None, 1.5, -7], "s": "x"}),
]


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
    topic, producer, seq, _, headers, payload = check_envelope(frames, what)
    return {"topic": topic, "seq": seq, "producer": producer.hex(), "headers": headers,
            "payload": jsonable(payload)}


def print_received(sock, count, what):
    for n in range(1, count + 1):
        say(json.dumps(decode(receive(sock, f"{what} {n}"), f"{what} {n}")))


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
