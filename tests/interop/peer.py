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
  intake ENDPOINT           DEALER to a forwarder's intake: PUBs in and out of
                            order and malformed, each reply checked
  replay ENDPOINT           DEALER to a forwarder's replay socket holding five
                            messages: SUB, CREDIT, ACK, a second SUB, NACK

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


def uint(frame, what):
    """A frame holding one msgpack unsigned integer (any encoding of it)."""
    try:
        value = msgpack.unpackb(frame)
    except Exception as e:
        fail(f"{what}: {frame!r} is not one msgpack value: {e}")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        fail(f"{what}: {frame!r} is not a msgpack unsigned integer")
    return value


def cmd_intake(ctx, args):
    """Publishes as docs/protocol.md's Intake says and checks every reply:
    an ACK of the sender's highest gap-free seq after each PUB (so a PUB
    ahead of a gap shows as an ACK that stays below it), and NACKs with an
    empty sender id and seq 0 where the forwarder cannot tell whose it was."""
    sock = ctx.socket(zmq.DEALER)
    sock.connect(args.endpoint)
    producer = os.urandom(16)
    say(producer.hex())

    def reply(what):
        frames = receive(sock, what)
        if frames[0] == b"ACK":
            if len(frames) != 3:
                fail(f"{what}: ACK with {len(frames)} frames, expected 3")
            return [b"ACK", frames[1], uint(frames[2], f"{what}: seq")]
        if frames[0] == b"NACK":
            if len(frames) != 4:
                fail(f"{what}: NACK with {len(frames)} frames, expected 4")
            return [b"NACK", frames[1], frames[2], uint(frames[3], f"{what}: seq")]
        fail(f"{what}: {frames!r} is neither ACK nor NACK")

    def publish(seq, wanted_ack):
        sock.send_multipart([b"PUB", b"orders", encode(producer, seq, {}, {"n": seq})])
        # The sender id comes back as the envelope's 16 raw bytes.
        expect(f"reply to PUB {seq}", reply(f"reply to PUB {seq}"), [b"ACK", producer, wanted_ack])

    publish(1, 1)
    publish(3, 1)  # ahead of a gap (2 never sent): refused, the ACK stays at 1
    publish(2, 2)
    publish(3, 3)  # sent again from the acknowledged seq + 1: stored now
    publish(2, 3)  # a duplicate: dropped, acknowledged again

    # Malformed PUBs: a NACK, with an empty sender id and seq 0 when unknown.
    sock.send_multipart([b"PUB", b"orders"])
    expect("reply to a 2-frame PUB", reply("reply to a 2-frame PUB"), [b"NACK", b"BAD_FRAME", b"", 0])
    sock.send_multipart([b"PUB", b"o" * 65536, encode(producer, 4, {}, None)])
    expect("reply to a 65 536-byte topic", reply("reply to a 65 536-byte topic"),
           [b"NACK", b"TOO_BIG", b"", 0])
    # With a key frame the forwarder names the key, even when the envelope is bad.
    other = os.urandom(16)
    sock.send_multipart([b"PUB", b"orders", b"\xc1", msgpack.packb([other, 7], use_bin_type=True)])
    expect("reply to a keyed PUB with a bad envelope", reply("reply to a keyed PUB with a bad envelope"),
           [b"NACK", b"BAD_FRAME", other, 7])

    # A key that says the sender's oldest unacknowledged seq (a forwarder's
    # link sends one): a sender the forwarder has nothing of starts only
    # there, and a sender whose oldest unacknowledged seq lies past a gap
    # goes on from it.
    link = os.urandom(16)

    def relay(seq, first, wanted_ack=None):
        key = msgpack.packb([link, seq, first], use_bin_type=True)
        sock.send_multipart([b"PUB", b"orders", encode(producer, 100 + seq, {}, {"n": seq}), key])
        if wanted_ack is not None:
            what = f"reply to relayed PUB {seq} (oldest unacknowledged {first})"
            expect(what, reply(what), [b"ACK", link, wanted_ack])

    relay(5, 1)  # 1..4 lost on the way: refused, and no ACK (nothing of it is stored)
    relay(1, 1, 1)
    relay(2, 1, 2)
    relay(4, 2, 2)  # ahead of a gap: refused
    relay(9, 9, 9)  # acknowledged up to 8 before: goes on from 9
    sock.send_multipart([b"PUB", b"orders", encode(producer, 120, {}, None),
                         msgpack.packb([link, 10, 11], use_bin_type=True)])
    expect("reply to a key whose oldest unacknowledged seq is past its seq",
           reply("reply to a key whose oldest unacknowledged seq is past its seq"),
           [b"NACK", b"BAD_FRAME", b"", 0])
    say("intake replies as specified")


def cmd_replay(ctx, args):
    """Reads a forwarder's five stored messages (payloads 1 to 5, one per
    fseq) as docs/protocol.md's Replay says, and checks that a second SUB
    makes the member leave and join again: no credit, delivery from the
    subscription's position, start and prefixes of a known name ignored."""
    sock = ctx.socket(zmq.DEALER)
    sock.connect(args.endpoint)
    pack = msgpack.packb

    def reply(what):
        return receive(sock, what)

    def message(what):
        frames = reply(what)
        if frames[0] != b"MSG":
            fail(f"{what}: {frames!r} is not a MSG")
        if len(frames) != 4:
            fail(f"{what}: MSG with {len(frames)} frames, expected 4")
        topic, _, _, _, _, payload = check_envelope(frames[1:3], what)
        expect(f"{what} topic", topic, "orders")
        position = msgpack.unpackb(frames[3])
        if not isinstance(position, list) or len(position) < 4:
            fail(f"{what}: position {position!r} is not an array of at least 4")
        journal_id, fseq, stored_ns, last_fseq = position[:4]
        if not isinstance(journal_id, bytes) or len(journal_id) != 16:
            fail(f"{what}: journal_id {journal_id!r} is not 16 bytes of bin")
        if not isinstance(stored_ns, int) or stored_ns <= 0:
            fail(f"{what}: stored_ns {stored_ns!r} is not a positive integer")
        expect(f"{what} last_fseq", last_fseq, 5)
        expect(f"{what} payload", payload, fseq)  # the C++ side stored payload n at fseq n
        return fseq

    sock.send_multipart([b"PING"])
    expect("reply to PING before SUB", reply("reply to PING before SUB"), [b"ERR", b"UNKNOWN"])
    sock.send_multipart([b"SUB", b"audit", pack([])])  # three frames, not four
    expect("reply to a 3-frame SUB", reply("reply to a 3-frame SUB"), [b"ERR", b"BAD_FRAME"])
    sock.send_multipart([b"SUB", b".audit", pack([]), b"first"])
    expect("reply to SUB .audit", reply("reply to SUB .audit"), [b"ERR", b"BAD_NAME"])

    sock.send_multipart([b"SUB", b"audit", pack([]), b"first"])
    sock.send_multipart([b"CREDIT", pack(10)])
    for n in range(1, 6):
        expect(f"fseq of MSG {n}", message(f"MSG {n}"), n)
    sock.send_multipart([b"ACK", pack(1)])
    sock.send_multipart([b"ACK", pack(2)])

    # Again on the same connection, with another start and prefixes: it
    # leaves and joins again with no credit, and its name's position (3,
    # the first not acknowledged) wins over the start and the prefixes.
    sock.send_multipart([b"SUB", b"audit", pack([b"no.such.topic"]), b"fseq:5"])
    sock.send_multipart([b"CREDIT", pack(1)])
    expect("fseq after the second SUB", message("MSG after the second SUB"), 3)
    # Had the five credits left from before carried over, 4 and 5 would be
    # on their way already and come before this NACKed 3.
    sock.send_multipart([b"NACK", pack(3)])
    sock.send_multipart([b"CREDIT", pack(1)])
    expect("fseq after NACK 3", message("MSG after NACK 3"), 3)
    say("replay as specified")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check")
    for name, place in [("sub", "endpoint"), ("xpub", "address"), ("pull", "address"),
                        ("push", "endpoint"), ("req", "endpoint"), ("rep", "address"),
                        ("intake", "endpoint"), ("replay", "endpoint")]:
        p = commands.add_parser(name)
        p.add_argument(place)
        if name not in ("req", "intake", "replay"):
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
