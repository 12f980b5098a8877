#!/usr/bin/python3
"""Three hosts, A -> B -> C, as network namespaces, under link cuts and kill -9.

    host A                       host B                    host C
    3 x zmq-pub --reliable  -->  zmq-forwarder B  -->  zmq-forwarder C  -->  zmq-sub --durable audit
      zmq-forwarder A --forward-to  (veth ab)  --forward-to  (veth bc)       zmq-sub --durable billing

Each host is a network namespace; A and B share one veth pair, B and C
another, so A cannot reach C but through B. Three publishers on A feed lines
at a steady rate while, one after the other:

  1. A's end of the A-B link goes down (ip link set down) until A's
     forwarder reports the link disconnected, then comes back up;
  2. B and C drop each other's packets (iptables DROP on INPUT, a silent
     partition) until B's forwarder reports the link disconnected;
  3. the forwarders on B, C and A are killed with kill -9 and started again,
     one at a time, each once its successor or predecessor has noticed;
  4. the subscriber "billing" on C is killed with kill -9 and started again.

Each cut must be noticed within 5 s: the forwarders' forward-to links PING
every second (--link-heartbeat 1) and drop a peer silent for 3 s; the socket
monitor's "disconnected" event, printed by zmq-forwarder -v, is the notice.

Then the publishers' stdin closes; each must exit 0 (every line
acknowledged by A). Afterwards every acknowledged line must reach both
subscribers on C exactly once after dropping duplicates by (producer, seq),
in order per producer (but for what a killed subscriber held: see
check_delivery), and C's journal must hold each exactly once, in order.

Usage: three_hosts.py BUILD_DIR RUN_DIR [--rate LINES_PER_S]
Prints SKIPPED and exits 0 without root, ip, iptables or namespaces.
"""

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

DETECT_LIMIT_S = 5.0  # a cut link must be noticed within this
PRODUCERS = 3
WINDOW = 1000         # zmq-sub's credit window: what a member may hold unacknowledged


def skip(why):
    print(f"three hosts: SKIPPED: {why}")
    sys.exit(0)


def fail(why):
    print(f"three hosts: FAILED: {why}", flush=True)
    raise SystemExit(1)


def run(*args, check=True):
    r = subprocess.run(args, capture_output=True, text=True)
    if check and r.returncode != 0:
        fail(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


class Process:
    """A child in a namespace; its stdout and stderr lines are kept with the
    time each arrived, and waited on with deadlines."""

    def __init__(self, name, ns, argv, stdin=False, log_dir=None):
        self.name = name
        self.lines = []  # (monotonic time, stream, line)
        self.out_count = 0
        self.out_last_words = set()  # each stdout line's last word
        self.wanted = set()  # last words waited for, not seen yet
        self.killed = False
        self.cond = threading.Condition()
        self.log = open(os.path.join(log_dir, name + ".log"), "a")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns] + argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.readers = [threading.Thread(target=self._read, args=(s, n), daemon=True)
                        for s, n in ((self.proc.stdout, "out"), (self.proc.stderr, "err"))]
        for t in self.readers:
            t.start()

    def _read(self, stream, which):
        for line in stream:
            line = line.rstrip("\n")
            now = time.monotonic()
            with self.cond:
                self.lines.append((now, which, line))
                if which == "out":
                    self.out_count += 1
                    word = line.rsplit(" ", 1)[-1]
                    self.out_last_words.add(word)
                    self.wanted.discard(word)
                if which == "err":
                    self.log.write(f"{now:.3f} {line}\n")
                    self.log.flush()
                self.cond.notify_all()

    def wait_line(self, predicate, after, timeout, what):
        """The time of the first stderr line since `after` that matches."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, which, line in self.lines:
                    if which == "err" and t >= after and predicate(line):
                        return t
                if self.proc.poll() is not None and not any(r.is_alive() for r in self.readers):
                    fail(f"{self.name} exited ({self.proc.returncode}) before its {what}; "
                         f"its stderr is in {self.log.name}")
                left = end - time.monotonic()
                if left <= 0:
                    fail(f"{self.name}: no {what} within {timeout:.0f} s; its stderr is in {self.log.name}")
                self.cond.wait(min(left, 0.5))  # also notices the exit

    def wait_until(self, predicate, timeout, what):
        """Waits, with a deadline, until predicate() holds; it is checked
        whenever this process prints a line."""
        end = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = end - time.monotonic()
                if left <= 0:
                    fail(f"{self.name}: {what() if callable(what) else what} not within {timeout:.0f} s")
                self.cond.wait(left)

    def wait_for_words(self, words, timeout):
        """Waits, with a deadline, until stdout has had a line ending in
        each of words."""
        with self.cond:
            self.wanted = set(words) - self.out_last_words
        self.wait_until(lambda: not self.wanted, timeout,
                        lambda: f"{len(words)} lines ({len(self.wanted)} still missing)")

    def out_lines(self):
        with self.cond:
            return [line for _, which, line in self.lines if which == "out"]

    def kill9(self):
        self.killed = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        for t in self.readers:
            t.join()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()
        for t in self.readers:
            t.join()
        self.log.close()


class Network:
    """Three namespaces; veth ab joins A and B, veth bc joins B and C."""

    def __init__(self):
        tag = str(os.getpid())
        self.ns = {h: f"zk{h.lower()}{tag}" for h in "ABC"}
        self.ab = (f"zkab{tag}a", f"zkab{tag}b")  # A's end, B's end
        self.bc = (f"zkbc{tag}b", f"zkbc{tag}c")  # B's end, C's end
        self.ip = {"A": "10.79.1.1", "B_ab": "10.79.1.2", "B_bc": "10.79.2.2", "C": "10.79.2.3"}
        self.made = []

    def up(self):
        for h in "ABC":
            run("ip", "netns", "add", self.ns[h])
            self.made.append(self.ns[h])
            run("ip", "-n", self.ns[h], "link", "set", "lo", "up")
        for (left, right), (lh, rh), (lip, rip) in (
                (self.ab, ("A", "B"), (self.ip["A"], self.ip["B_ab"])),
                (self.bc, ("B", "C"), (self.ip["B_bc"], self.ip["C"]))):
            run("ip", "link", "add", left, "type", "veth", "peer", "name", right)
            for dev, h, addr in ((left, lh, lip), (right, rh, rip)):
                run("ip", "link", "set", dev, "netns", self.ns[h])
                run("ip", "-n", self.ns[h], "addr", "add", addr + "/24", "dev", dev)
                run("ip", "-n", self.ns[h], "link", "set", dev, "up")

    def down(self):
        for ns in self.made:  # deleting a namespace deletes its veth ends
            run("ip", "netns", "del", ns, check=False)


def check_prerequisites():
    if os.geteuid() != 0:
        skip("needs root for network namespaces (ip netns) and iptables")
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            skip(f"'{tool}' not found (Debian: iproute2, iptables)")
    probe = f"zkprobe{os.getpid()}"
    r = run("ip", "netns", "add", probe, check=False)
    if r.returncode != 0:
        skip(f"cannot create a network namespace: {r.stderr.strip()}")
    r = run("ip", "netns", "exec", probe, "iptables", "-A", "INPUT", "-p", "tcp", "-j", "DROP", check=False)
    run("ip", "netns", "del", probe, check=False)
    if r.returncode != 0:
        skip(f"iptables does not work in a namespace: {r.stderr.strip()}")


def main():
    parser = argparse.ArgumentParser(
        description="Three hosts A -> B -> C in network namespaces, under link cuts and kill -9.")
    parser.add_argument("build", help="the build directory (its tools/ has zmq-forwarder, zmq-pub, zmq-sub)")
    parser.add_argument("run_dir", help="where the journals and the processes' logs go (emptied first)")
    parser.add_argument("--rate", type=int, default=400, help="lines a second per producer [400]")
    args = parser.parse_args()
    if args.rate < 1:
        parser.error("--rate: at least 1 line a second")
    check_prerequisites()
    tools = os.path.join(os.path.abspath(args.build), "tools")
    for tool in ("zmq-forwarder", "zmq-pub", "zmq-sub", "zmq-journal"):
        if not os.access(os.path.join(tools, tool), os.X_OK):
            fail(f"{tools}/{tool} not found: build first (scripts/build.sh)")
    run_dir = os.path.abspath(args.run_dir)
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    net = Network()
    procs = []
    try:
        net.up()
        exercise(net, tools, run_dir, args.rate, procs)
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.proc.kill()
        net.down()


def exercise(net, tools, run_dir, rate, procs):
    start = time.monotonic()
    ns, ip = net.ns, net.ip
    port = 5560  # each host has its own port space: fixed ports cannot clash
    intake = {"A": f"tcp://127.0.0.1:{port}", "B": f"tcp://{ip['B_ab']}:{port}", "C": f"tcp://{ip['C']}:{port}"}
    forward_to = {"A": intake["B"], "B": intake["C"]}
    replay_c = "tcp://127.0.0.1:5561"

    def spawn(name, host, argv, stdin=False):
        p = Process(name, ns[host], argv, stdin=stdin, log_dir=run_dir)
        procs.append(p)
        return p

    fwd = {}

    def start_forwarder(host):
        argv = [f"{tools}/zmq-forwarder", "-v", "-d", f"{run_dir}/journal-{host.lower()}",
                "--intake", "@" + intake[host], "--frontend", "none", "--live", "none",
                "--control", "none", "--link-heartbeat", "1", "--link-resend", "2"]
        # A subscriber killed -9 holds its unacknowledged lines until it is
        # declared gone; 3 s instead of 10 keeps the run short.
        argv += ["--replay", "@" + replay_c, "--member-timeout", "3"] if host == "C" else ["--replay", "none"]
        if host in forward_to:
            argv += ["--forward-to", ">" + forward_to[host]]
        since = time.monotonic()
        p = spawn(f"forwarder-{host.lower()}", host, argv)
        p.wait_line(lambda line: "ready:" in line, since, 30, "readiness line")
        fwd[host] = p
        return since

    def link_connected(host, since, timeout=30):
        target = forward_to[host]
        return fwd[host].wait_line(lambda line: line == f"zmq-forwarder: handshake succeeded {target}",
                                   since, timeout, f"handshake with {target}")

    def link_lost(host, since):
        target = forward_to[host]
        t = fwd[host].wait_line(lambda line: line == f"zmq-forwarder: disconnected {target}",
                                since, 30, f"'disconnected {target}'")
        return t - since

    for h in "CBA":
        start_forwarder(h)
    link_connected("B", start)
    link_connected("A", start)

    subs = {}

    def start_subscriber(name, first):
        argv = [f"{tools}/zmq-sub", ">" + replay_c, "--durable", name, "-F", "{{producer}} {{seq}} {{raw}}"]
        if first:
            argv += ["--replay", "first"]
        subs.setdefault(name, []).append(spawn(f"sub-{name}-{len(subs.get(name, []))}", "C", argv))

    for name in ("audit", "billing"):
        start_subscriber(name, first=True)

    # Publishers on A, each fed `rate` lines a second until told to stop.
    stop_feeding = threading.Event()
    pubs, fed = [], [0] * PRODUCERS

    def feed(k, p):
        step, i, t0 = max(1, rate // 50), 0, time.monotonic()
        try:
            while not stop_feeding.is_set():
                chunk = "".join(f"p{k}-{i + j}\n" for j in range(step))
                p.proc.stdin.write(chunk)
                p.proc.stdin.flush()
                i += step
                fed[k] = i
                # Pace by the clock, not by sleeping a fixed time: behind
                # schedule (a blocked pipe), it catches up at once.
                ahead = t0 + i / rate - time.monotonic()
                if ahead > 0:
                    stop_feeding.wait(ahead)
        finally:
            p.proc.stdin.close()

    feeders = []
    for k in range(PRODUCERS):
        p = spawn(f"pub-{k}", "A", [f"{tools}/zmq-pub", "--reliable", ">" + intake["A"], "-t", "order_placed",
                                    "-l", "--ack-timeout", "60", "--stats"], stdin=True)
        pubs.append(p)
        t = threading.Thread(target=feed, args=(k, p), daemon=True)
        t.start()
        feeders.append(t)

    def settle():
        """Lets traffic flow through all three hosts again: until audit on C
        has received 200 more lines."""
        audit = subs["audit"][-1]
        want = audit.out_count + 200
        audit.wait_until(lambda: audit.out_count >= want, 30, "200 more lines (traffic resuming)")

    figures = {}
    settle()

    # 1. A's end of the A-B link goes down.
    t_cut = time.monotonic()
    run("ip", "-n", ns["A"], "link", "set", net.ab[0], "down")
    figures["link A-B down, noticed by A in"] = link_lost("A", t_cut)
    run("ip", "-n", ns["A"], "link", "set", net.ab[0], "up")
    link_connected("A", time.monotonic())
    settle()

    # 2. A silent partition between B and C.
    rules = [(ns["B"], net.bc[0]), (ns["C"], net.bc[1])]
    t_cut = time.monotonic()
    for n, dev in rules:
        run("ip", "netns", "exec", n, "iptables", "-I", "INPUT", "-i", dev, "-j", "DROP")
    figures["partition B-C (iptables DROP), noticed by B in"] = link_lost("B", t_cut)
    for n, dev in rules:
        run("ip", "netns", "exec", n, "iptables", "-D", "INPUT", "-i", dev, "-j", "DROP")
    link_connected("B", time.monotonic(), timeout=60)
    settle()

    # 3. kill -9 each forwarder in turn: B, C, A.
    for host in "BCA":
        fwd[host].kill9()
        since = start_forwarder(host)
        if host in forward_to:
            link_connected(host, since)
        if host == "B":
            link_connected("A", since)
        if host == "C":
            link_connected("B", since)
        settle()

    # 4. kill -9 the subscriber "billing"; it resumes where it acknowledged.
    subs["billing"][-1].kill9()
    start_subscriber("billing", first=False)
    settle()

    stop_feeding.set()
    for t in feeders:
        t.join()
    published = {}
    for k, p in enumerate(pubs):
        try:
            rc = p.proc.wait(90)
        except subprocess.TimeoutExpired:
            fail(f"pub-{k} did not exit within 90 s of its stdin closing")
        for t in p.readers:
            t.join()
        if rc != 0:
            fail(f"pub-{k} exited {rc}: not every line was acknowledged by A (see {run_dir}/pub-{k}.log)")
        published[k] = fed[k]
    total = sum(published.values())

    # Every acknowledged line at both subscribers.
    expected = {f"p{k}-{i}" for k in published for i in range(published[k])}

    def check_delivery(name):
        """Every acknowledged line once after dropping duplicates by
        (producer, seq), in order per producer, but for the lines a member
        killed -9 held unacknowledged (its credit window): the forwarder
        hands those to the next member only after the member timeout, so
        they come after newer ones. Returns (lines, duplicates, late)."""
        seen, lines, order, held = set(), set(), {}, {}
        dups = late = 0
        for p in subs[name]:
            for line in p.out_lines():
                producer, seq, raw = line.split(" ", 2)
                seq = int(seq)
                if (producer, seq) in seen:
                    dups += 1
                    continue
                seen.add((producer, seq))
                lines.add(raw)
                if seq <= order.get(producer, 0):
                    low, high = held.get(producer, (0, 0))
                    if not low < seq <= high:
                        fail(f"{name}: producer {producer} seq {seq} after seq {order[producer]}")
                    late += 1
                    continue
                order[producer] = seq
            if p.killed:
                held = {producer: (top, top + WINDOW) for producer, top in order.items()}
        if len(lines) != len(seen):
            fail(f"{name}: {len(seen)} (producer, seq) pairs carried {len(lines)} distinct lines")
        missing = expected - lines
        if missing:
            fail(f"{name}: {len(missing)} of {total} acknowledged lines never arrived, e.g. {sorted(missing)[:3]}")
        if lines - expected:
            fail(f"{name}: lines that were never published: {sorted(lines - expected)[:3]}")
        return lines, dups, late

    for name in subs:
        earlier = set().union(*(p.out_last_words for p in subs[name][:-1]))
        subs[name][-1].wait_for_words(expected - earlier, 60)
    for name in subs:
        lines, dups, late = check_delivery(name)
        figures[f"{name}: received once after dedup, duplicates dropped, redelivered late"] = \
            f"{len(lines)}, {dups}, {late}"

    # C's journal holds each line exactly once (the links' dedup).
    for p in subs["audit"] + subs["billing"] + [fwd["C"]]:
        p.stop()
    dump = run(f"{tools}/zmq-journal", "dump", f"{run_dir}/journal-c")
    records = [json.loads(line) for line in dump.stdout.splitlines() if line]
    def text(payload):  # zmq-pub -l sends each line as bytes, dumped as base64
        if isinstance(payload, dict) and "$base64" in payload:
            return base64.b64decode(payload["$base64"]).decode()
        return payload
    payloads = [text(r.get("payload")) for r in records]
    if len(payloads) != total or set(payloads) != expected:
        fail(f"C's journal holds {len(payloads)} records, {len(set(payloads))} distinct; {total} were acknowledged")
    last_seq = {}
    for r in records:
        if r["seq"] <= last_seq.get(r["producer"], 0):
            fail(f"C's journal: producer {r['producer']} seq {r['seq']} after {last_seq[r['producer']]}")
        last_seq[r["producer"]] = r["seq"]

    elapsed = time.monotonic() - start
    for what, value in figures.items():
        if isinstance(value, float):
            print(f"three hosts: {what} {value:.2f} s")
            if value > DETECT_LIMIT_S:
                fail(f"{what} {value:.2f} s, over {DETECT_LIMIT_S:.0f} s")
        else:
            print(f"three hosts: {what} {value}")
    print(f"three hosts: {total} lines from {PRODUCERS} producers on A acknowledged, "
          f"each in C's journal once and in order, at both subscribers once after dedup; "
          f"2 link cuts, 3 forwarders and 1 subscriber killed -9, in {elapsed:.0f} s")


if __name__ == "__main__":
    main()
