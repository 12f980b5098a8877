"""What the Python test peers share: envelope v1 written and checked from the
spec with pyzmq and Python's msgpack (Debian python3-zmq, python3-msgpack),
never with zmqkit's own code. Run the peers with /usr/bin/python3.

Every failure is one stderr line "<script>: <reason>" and exit status 1.
A peer run as "<script> check" exits 0 when zmq and msgpack import, or 1
with the reason; the C++ side turns that into SKIPPED.
"""

import os
import select
import sys
import time

DEADLINE_MS = 5000
PLAUSIBLE_CLOCK_SKEW_NS = 60 * 10**9
_PROGRAM = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "peer"


def fail(reason):
    print(f"{_PROGRAM}: {reason}", file=sys.stderr, flush=True)
    sys.exit(1)


try:
    import msgpack
    import zmq
except ImportError as e:
    if sys.argv[1:2] == ["check"]:
        fail(f"cannot import {e.name} in {sys.executable}")
    raise


def say(line):
    print(line, flush=True)


def encode(producer, seq, headers, payload, extra=(), version=1):
    return msgpack.packb([version, producer, seq, time.time_ns(), headers, payload, *extra],
                         use_bin_type=True)


def receive(sock, what):
    if not sock.poll(DEADLINE_MS, zmq.POLLIN):
        fail(f"no {what} within {DEADLINE_MS} ms")
    return sock.recv_multipart()


def check_envelope(frames, what):
    """Checks one zmqkit message; returns (topic, producer, seq, time_ns, headers, payload)."""
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
    return topic, producer, seq, time_ns, headers, payload


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
