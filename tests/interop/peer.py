#!/usr/bin/python3
"""The other end of zmqkit's interop tests: pyzmq + Python's msgpack.

Run with the Debian interpreter (/usr/bin/python3, which has python3-zmq and
python3-msgpack). Nothing here shares code with zmqkit: envelopes are built
with msgpack.packb and read with msgpack.unpackb, straight from the spec
(envelope v1, two frames):

    frame 0  topic bytes
    frame 1  msgpack [1, producer_id (bin 16), seq, time_ns, headers, payload]

Subcommands (each checks everything it receives and exits 1 with a one-line
reason on stderr at the first mismatch; every wait has a deadline):

  check                          exit 0 if zmq and msgpack import
  sub ENDPOINT N            SUB "match.": N data envelopes, then the end marker
  xpub ADDRESS N            XPUB: wait for a subscription, send good and bad envelopes
  pull ADDRESS N            PULL: N data envelopes
  push ENDPOINT N           PUSH: N envelopes
  req ENDPOINT              REQ: requests to a zmqkit replier, prints each answer
  rep ADDRESS N             REP: echo N requests' payloads

A peer that receives from one zmqkit producer checks that its id never
changes and ends with "received N from <producer id in hex>", which the C++
side compares with the producer's own id.

A peer that binds prints its resolved endpoint as its first stdout line. A
peer that sends waits for "done" on stdin before it exits, so nothing it
sent is lost with its sockets.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from zmqkit_peer import (PLAUSIBLE_CLOCK_SKEW_NS, bind, check_envelope, encode, fail,  # noqa: E402
                         msgpack, receive, say, wait_for_done, zmq)


def decode(frames, what):
    return check_envelope(frames, what)


def expect(what, got, wanted):
    if got != wanted:
        fail(f"{what}: got {got!r}, expected {wanted!r}")


def event_payload(n):
    # What the C++ side publishes and pushes as the nth data message.
    return {"i": n, "name": "order_placed", "tags": [n, -n], "ratio": n / 4}


def check_events(sock, count, topic):
    """Receives count data envelopes from one zmqkit producer, seq 1..count; returns its id."""
    producer = None
    last_time = None
    for n in range(1, count + 1):
        what = f"message {n}"
        got_topic, got_producer, seq, time_ns, headers, payload = decode(receive(sock, what), what)
        expect(f"{what} topic", got_topic, topic)
        producer = producer or got_producer
        expect(f"{what} producer_id", got_producer, producer)
        expect(f"{what} seq", seq, n)
        expect(f"{what} headers", headers, {"source": "zmqkit", "n": str(n)})
        expect(f"{what} payload", payload, event_payload(n))
        if last_time is not None and time_ns < last_time - PLAUSIBLE_CLOCK_SKEW_NS:
            fail(f"{what}: time_ns went back by more than a minute")
        last_time = time_ns
    return producer


def cmd_sub(ctx, args):
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, 0)  # the test counts every message: never drop here
    sock.setsockopt(zmq.SUBSCRIBE, b"match.")
    sock.connect(args.endpoint)
    producer = check_events(sock, args.count, "match.event")
    # The publisher sent count "other.*" messages before the end marker; they
    # used seqs but must have been filtered out on the way.
    topic, end_producer, seq, _, _, payload = decode(receive(sock, "end marker"), "end marker")
    expect("end marker topic", topic, "match.end")
    expect("end marker producer_id", end_producer, producer)
    expect("end marker seq", seq, 2 * args.count + 1)
    expect("end marker payload", payload, None)
    say(f"received {args.count} from {producer.hex()}")


def cmd_xpub(ctx, args):
    sock = ctx.socket(zmq.XPUB)
    bind(sock, args.address)
    producer = os.urandom(16)
    say(producer.hex())
    expect("subscription", receive(sock, "subscription"), [b"\x01inv."])

    seq = 0

    def send_good(payload, extra=()):
        nonlocal seq
        seq += 1
        sock.send_multipart([b"inv.stock",
                             encode(producer, seq, {"k": "v", "i": str(seq)}, payload, extra)])

    for n in range(1, args.count + 1):
        send_good({"a": n, "b": -n})
    send_good(bytes(range(256)))
    send_good({  # every msgpack family Python writes, in its widest common forms
        "f64": 1.5, "nil": None, "t": True, "f": False,
        "neg": -2**40, "u64": 2**64 - 1,
        "str8": "x" * 40, "bin16": b"\x00" * 300,
        "arr16": list(range(20)), "map16": {str(i): i for i in range(20)},
        "ext": msgpack.ExtType(5, b"abc"), "ts": msgpack.Timestamp(1, 500),
    })

    # Malformed messages, in the order the C++ side expects their errors.
    nested = None
    for _ in range(100):
        nested = [nested]
    bad = [
        [b"inv.bad"],                                               # 1 frame only
        [b"inv.bad", b"\xc1 is never used in msgpack"],             # garbage
        [b"inv.bad", encode(producer, 1, {}, None, version=2)],     # version 2
        [b"inv.bad", b"\xdd\xff\x00\x00\x00"],                      # array32 bomb
        [b"inv.bad", encode(producer, 1, {}, None), b"3", b"4"],    # 4 frames
        [b"inv.bad", encode(producer[:15], 1, {}, None)],           # short producer_id
        [b"inv.bad", encode(producer, 0, {}, None)],                # seq 0
        [b"inv.bad", encode(producer, 1, {"k": 1}, None)],          # header value not str
        [b"inv.bad", encode(producer, 1, {}, nested)],              # payload 100 deep
        [b"inv.bad", encode(producer, 1, {}, {"a": 1})[:-1]],       # truncated
    ]
    for frames in bad:
        sock.send_multipart(frames)

    send_good({"a": -1, "b": 1}, extra=("a field from a future version",))
    send_good({"a": 0, "b": 0})
    wait_for_done()


def cmd_pull(ctx, args):
    sock = ctx.socket(zmq.PULL)
    bind(sock, args.address)
    producer = check_events(sock, args.count, "work.item")
    say(f"received {args.count} from {producer.hex()}")


def cmd_push(ctx, args):
    sock = ctx.socket(zmq.PUSH)
    producer = os.urandom(16)
    say(producer.hex())
    sock.connect(args.endpoint)
    for n in range(1, args.count + 1):
        sock.send_multipart([b"work.item",
                             encode(producer, n, {"from": "pyzmq"}, {"a": n, "b": 2 * n})])
    wait_for_done()


def cmd_req(ctx, args):
    """Four requests; prints one line per answer: "reply <payload>" or "error <reason>"."""
    sock = ctx.socket(zmq.REQ)
    sock.connect(args.endpoint)
    producer = os.urandom(16)
    replier = None
    reply_seq = 0

    def ask(topic, body, echo_topic):
        nonlocal replier, reply_seq
        sock.send_multipart([topic, body])
        what = f"reply to {topic.decode()}"
        got_topic, got_producer, seq, _, headers, payload = decode(receive(sock, what), what)
        if echo_topic:
            expect(f"{what} topic", got_topic, topic.decode())
        replier = replier or got_producer
        expect(f"{what} producer_id", got_producer, replier)
        reply_seq += 1
        expect(f"{what} seq", seq, reply_seq)
        if "error" in headers:
            expect(f"{what} payload of an error", payload, None)
            say(f"error {headers['error']}")
        else:
            say(f"reply {payload!r}")

    ask(b"math.double", encode(producer, 1, {}, 21), echo_topic=True)
    ask(b"math.fail", encode(producer, 2, {}, 1), echo_topic=True)
    ask(b"math.double", encode(producer, 3, {}, 5, version=2), echo_topic=False)
    ask(b"math.double", encode(producer, 3, {}, -8), echo_topic=True)


def cmd_rep(ctx, args):
    sock = ctx.socket(zmq.REP)
    bind(sock, args.address)
    producer = os.urandom(16)
    requester = None
    for n in range(1, args.count + 1):
        what = f"request {n}"
        topic, got_producer, seq, _, headers, payload = decode(receive(sock, what), what)
        requester = requester or got_producer
        expect(f"{what} producer_id", got_producer, requester)
        expect(f"{what} seq", seq, n)
        reply_headers = dict(headers, echo="peer.py")
        sock.send_multipart([topic.encode(), encode(producer, n, reply_headers, payload)])
    say(f"received {args.count} from {requester.hex()}")
    wait_for_done()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check")
    for name, place in [("sub", "endpoint"), ("xpub", "address"), ("pull", "address"),
                        ("push", "endpoint"), ("req", "endpoint"), ("rep", "address")]:
        p = commands.add_parser(name)
        p.add_argument(place)
        if name != "req":
            p.add_argument("count", type=int)
    args = parser.parse_args()
    if args.command == "check":
        return

    ctx = zmq.Context()
    try:
        globals()["cmd_" + args.command](ctx, args)
    except Exception as e:  # anything unexpected is still one line on stderr
        fail(f"{args.command}: {type(e).__name__}: {e}")
    finally:
        ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
