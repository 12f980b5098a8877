#!/usr/bin/python3
"""CURVE peer for the security tests: pyzmq's zmq.auth and CURVE sockets.

Run with the Debian interpreter (/usr/bin/python3, python3-zmq and
python3-msgpack). Certificates are made and read with pyzmq's own
zmq.auth functions, never zmqkit's, so the tests show the two agree.

Subcommands (every wait has a deadline; the first thing wrong ends the peer
with exit 1 and a one-line reason on stderr):

  check                          exit 0 if zmq (with CURVE) and msgpack import
  certs DIR NAME                 zmq.auth.create_certificates; prints the public key
  load FILE                      zmq.auth.load_certificate; prints "PUBLIC SECRET"
                                 (SECRET is "-" for a public certificate)
  sub ENDPOINT SECRET SERVER N   SUB connects as a CURVE client (our certificate
                                 SECRET, the server's certificate SERVER) and
                                 prints N envelopes as JSON lines
  pub ENDPOINT SECRET SERVER N   XPUB connects the same way, waits for a
                                 subscription, sends N envelopes ("curve 1"...),
                                 then waits for "done" on stdin
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from zmqkit_peer import check_envelope, encode, fail, receive, say, wait_for_done, zmq  # noqa: E402
import zmq.auth  # noqa: E402


def curve_client(ctx, kind, secret_file, server_file):
    public, secret = zmq.auth.load_certificate(secret_file)
    server, _ = zmq.auth.load_certificate(server_file)
    if secret is None:
        fail(f"{secret_file}: no secret key")
    sock = ctx.socket(kind)
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    sock.curve_serverkey = server
    return sock


def main():
    args = sys.argv[1:]
    if not args:
        fail("usage: curve_peer.py check|certs|load|sub|pub ...")
    command = args[0]
    if command == "check":
        if not zmq.has("curve"):
            fail("this libzmq has no CURVE")
        return
    if command == "certs":
        public_file, _ = zmq.auth.create_certificates(args[1], args[2])
        say(zmq.auth.load_certificate(public_file)[0].decode())
        return
    if command == "load":
        public, secret = zmq.auth.load_certificate(args[1])
        say(public.decode() + " " + (secret.decode() if secret else "-"))
        return

    endpoint, secret_file, server_file, count = args[1], args[2], args[3], int(args[4])
    ctx = zmq.Context()
    try:
        if command == "sub":
            sock = curve_client(ctx, zmq.SUB, secret_file, server_file)
            sock.setsockopt(zmq.SUBSCRIBE, b"")
            sock.connect(endpoint)
            for n in range(count):
                topic, _, seq, _, _, payload = check_envelope(receive(sock, f"message {n + 1}"),
                                                              f"message {n + 1}")
                say(json.dumps({"topic": topic, "seq": seq, "payload": payload}))
        elif command == "pub":
            sock = curve_client(ctx, zmq.XPUB, secret_file, server_file)
            sock.connect(endpoint)
            subscription = receive(sock, "subscription")
            if not subscription[0].startswith(b"\x01"):
                fail(f"expected a subscription, got {subscription!r}")
            producer = os.urandom(16)
            for seq in range(1, count + 1):
                sock.send_multipart([b"secured", encode(producer, seq, {}, f"curve {seq}")])
            wait_for_done()
        else:
            fail(f"unknown command {command!r}")
    except Exception as e:  # anything unexpected is still one line on stderr
        fail(f"{command}: {type(e).__name__}: {e}")
    finally:
        ctx.destroy(linger=1000)


if __name__ == "__main__":
    main()
