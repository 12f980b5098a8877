#!/usr/bin/env python3
"""Runs the shell examples of README.md and docs/cli.md as a reader pastes them.

Usage: doc_examples.py SOURCE_DIR BUILD_DIR WORK_DIR

Each ```sh block is read from the document itself, split into the commands a
shell would run (continuation lines and here-documents kept whole), and run
in order, in one working directory per document, with the document's state
carried from block to block (a forwarder started with `&` keeps running, a
journal written earlier is read later). README.md calls the tools as
build/tools/zmq-...: the working directory has `build` linked to BUILD_DIR;
docs/cli.md calls them by name: BUILD_DIR/tools is first on PATH.

The plan below says, for each block, how its commands run (to the end; as a
terminal of their own, stopped like Ctrl-C when the block ends; in the
background until the document ends, as `&` does) and what each must print or
exit with. Every command of every block appears in the plan exactly once, or
the block is skipped with the reason printed: a changed or new example fails
this test until the plan says how to check it.

The examples use the tools' default ports; as root the test runs in a network
namespace of its own, so nothing else on the machine can hold those ports.
"""

import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tty

DEADLINE = 30.0  # seconds for anything the test waits for; generous for a busy machine


def run_step(cmd, **check):
    return dict(cmd=cmd, **check)


# -- the plan -----------------------------------------------------------------
# A block is found by its first command's first line, as the document has
# it without the comment after it.
# Steps: {"doc": i} is the block's i-th command; {"cmd": "..."} is one the
# test adds (a publisher to feed a subscriber, a file to send), never a
# replacement for one of the document's.
#   as:   "run" (default; waits for the exit), "term" (its own terminal,
#         stopped when the block ends), "bg" (until the document ends; the
#         default for a command ending in &), "script" (the whole block as
#         one shell script, where $? and variables carry between lines)
#   exit: the exit code required (run: default 0; term/bg: wait for it)
#   out / err: regular expressions stdout / stderr must match (a term's are
#         waited for); lines: the number of stdout lines required
#   absent: regular expressions a term's stdout must not match at the end
#   stop: a step {"stop": name} stops the term named `name` (Ctrl-C) now
#   file: (path, regex) a file the step waits to match after it runs
# subst: text replaced in the block before it runs: host names and system
# paths that do not exist here (the documents say "ports and host names apart").

# docs/cli.md's work-queue worker, run as often as the recipes say.
SQUARE_WORKER = 'zmq-pull | while read -r n; do echo "$n squared is $((n * n))"; done'

PLANS = {
    "README.md": [
        ("scripts/demo.sh", {"skip": "the README's two commands: CI runs the second, and it runs this test"}),
        ("build/tools/zmq-sub -t user_ --out-format jsonl", {"steps": [
            {"doc": 0, "as": "term", "out": [r'"payload":\{"user":"ada","n":1\}', r'"n":3\}']},
            {"doc": 1},
        ]}),
        ("build/tools/zmq-pull -v &", {"steps": [
            # Each of the three workers gets some of the ten jobs.
            {"doc": 0, "as": "term", "out": [r"^\d+$"]},
            {"doc": 1, "as": "term", "out": [r"^\d+$"]},
            {"doc": 2, "as": "term", "out": [r"^\d+$"]},
            {"doc": 3},
            {"doc": 4, "as": "bg"},
            {"doc": 5, "out": [r"^HELLO$"]},
            {"doc": 6, "as": "term"},
        ]}),
        ("build/tools/zmq-forwarder -d ./journal --metrics 127.0.0.1:9464 -v &", {"steps": [
            {"doc": 0},
            {"doc": 1},
            {"doc": 2, "lines": 1000, "out": [r"^1$", r"^1000$"]},
            {"doc": 3, "lines": 10, "out": [r"^1$", r"^10$"]},
            {"doc": 4, "out": [r"1000 records"]},
        ]}),
        ("seq 1000 | build/tools/zmq-pub --reliable -t payments -l", {"steps": [
            {"doc": 0},
            {"doc": 1, "err": [r"payments"]},
            {"doc": 2, "out": [r'zmqkit_forwarder_topic_events_total\{topic="orders"\} 1000',
                               r'zmqkit_forwarder_topic_events_total\{topic="payments"\} 1000']},
        ]}),
        ("build/tools/zmq-keygen server --dir keys && build/tools/zmq-keygen client --dir keys", {"steps": [
            {"doc": 0},
            {"doc": 1},
            {"doc": 2},
            {"doc": 3, "out": [r"^for your eyes only$"]},
        ]}),
        ("build/tools/zmq-bench pushpull pubsub -s 64,1k,16k",
         {"skip": "benchmarks take minutes; zmq-bench has its own tests"}),
        ("cmake --install build --prefix /usr/local",
         {"skip": "installs into /usr/local; the consumer test installs into a directory of its own"}),
        ("cmake -S . -B build && cmake --build build && ./build/hello_zmqkit",
         {"skip": "the consumer test builds and runs this example"}),
        ("build/examples/example-user-events",
         {"skip": "ctest -R examples runs each of them and checks its summary line"}),
    ],
    "docs/cli.md": [
        ("zmq-sub -t greetings", {"steps": [
            {"doc": 0, "as": "term", "out": [r"^hello$"]},
            {"doc": 1},
        ]}),
        ("zmq-sub -t greetings", {"steps": [  # the same, in the recipes
            {"doc": 0, "as": "term", "out": [r"^hello$"]},
            {"doc": 1},
        ]}),
        ("zmq-sub -t ticks", {"steps": [
            {"doc": 0, "as": "term",
             "out": [r"^tick 3 at \d{4}-\d\d-\d\dT[0-9:.]+Z id=[0-9a-f-]{36} die=[1-6]$"]},
            {"doc": 1},
        ]}),
        ("echo '{\"user\": \"ada\", \"plan\": \"pro\"}' | zmq-pub -t user_registered --in-format json",
         {"steps": [{"doc": 0}, {"doc": 1}]}),
        ("zmq-sub -F '{{time}} {{topic}} seq={{seq}} {{latency}} ms\\t{{payload}}'", {"steps": [
            {"doc": 0, "as": "term", "out": [r"^\d{4}-\d\d-\d\dT\S+Z trace seq=1 [0-9.]+ ms\t\"x\"$"]},
            {"doc": 1, "as": "term", "out": [r"^t-1 x$"]},
            {"cmd": "zmq-pub -t trace -H trace_id=t-1 -m x --wait-subscribers 2"},
        ]}),
        ("zmq-pub --reliable -t order_placed --in-format json -m '{\"order_id\": \"ord-1001\"}'", {
            "before": "zmq-forwarder -d ./forwarder-journal",
            "steps": [
                {"doc": 0},
                {"doc": 1, "as": "term", "out": [r'"payload":\{"order_id":"ord-1001"\}']},
                {"doc": 2, "exit": 3, "out": [r'^\{"order_id":"ord-1001"\}$']},
            ]}),
        ("zmq-keygen server --dir keys && zmq-keygen client --dir keys", {"steps": [
            {"doc": 0},
            {"doc": 1},
            {"doc": 2, "as": "term", "exit": 0},
            {"doc": 3, "as": "term", "out": [r"^hi$"]},
        ]}),
        ("zmq-sub -t app. -F '{{time}} {{topic}} {{raw}}'", {
            "subst": [("/var/log/app.log", "app.log")],
            "before": "touch app.log",
            "steps": [
                {"doc": 0, "as": "term", "out": [r"^\S+Z app\.log GET /index\.html 200$"]},
                {"doc": 1, "as": "term"},
                # tail -F and the subscription each take their time to start:
                # the log grows until the block ends (allow-sleep: the writer's pace).
                {"cmd": "while :; do echo 'GET /index.html 200' >> app.log; sleep 0.2; done",
                 "as": "term"},
            ]}),
        ("cat > events.jsonl <<'EOF'", {"steps": [
            {"doc": 0},
            {"doc": 1, "as": "term", "out": [r'"topic":"user_registered"', r'"topic":"order_placed"'],
             "absent": [r'"topic":"audit"']},
            {"doc": 2},
        ]}),
        ("zmq-pub -t order_placed --in-format json --rate 10 -n 100 \\", {"steps": [{"doc": 0}]}),
        ("zmq-sub -t order_placed -C 100 | jq -s 'map(.total) | add'", {"steps": [
            {"doc": 0, "as": "term", "exit": 0, "out": [r"^100$"]},
            {"doc": 1, "as": "term", "out": [r"^100 ord-100 1$"]},
            {"cmd": "zmq-pub -t order_placed --in-format json -n 100 --wait-subscribers 2 "
                    "-m '{\"order_id\": \"ord-{{seq}}\", \"total\": 1}'"},
        ]}),
        # Three workers, as the recipe says, each in a terminal of its own;
        # each gets some of the jobs.
        ("zmq-pull | while read -r n; do echo \"$n squared is $((n * n))\"; done", {"steps": [
            {"doc": 0, "as": "term", "out": [r"^\d+ squared is \d+$"]},
            {"cmd": SQUARE_WORKER, "as": "term", "out": [r"^\d+ squared is \d+$"]},
            {"cmd": SQUARE_WORKER, "as": "term", "out": [r"^\d+ squared is \d+$"]},
            {"doc": 1},
        ]}),
        ("zmq-pull '@tcp://127.0.0.1:5559' > results.txt", {"steps": [
            {"doc": 0, "as": "term"},
            {"doc": 1, "as": "term"},
            {"cmd": SQUARE_WORKER + " | zmq-push '>tcp://127.0.0.1:5559' -t result", "as": "term"},
            {"cmd": SQUARE_WORKER + " | zmq-push '>tcp://127.0.0.1:5559' -t result", "as": "term"},
            {"doc": 2, "file": ("results.txt", r"(?s)^(\d squared is \d+\n){9}$")},
        ]}),
        ("cat > service.sh <<'EOF'", {"steps": [
            {"doc": 0},
            {"doc": 1},
            {"doc": 2, "as": "term", "out": [r'^upper "hello"$', r'^wc "hello"$']},
            {"doc": 3, "out": [r"^HELLO$"]},
            {"doc": 4, "out": [r"^5$"]},
            {"doc": 5, "out": [r"^1$"],
             "err": [r"^zmq-req: error reply: command exited with status 3: unknown topic 'nope'$"]},
        ]}),
        ("zmq-rep --exec 'jq -cj \"{total: (.items | map(.price) | add)}\"' -q", {"steps": [
            {"doc": 0, "as": "term"},
            {"doc": 1, "out": [r'^\{"total":6\.5\}$']},
        ]}),
        ("zmq-req -m ping --timeout 1 --retries 0 >/dev/null 2>&1", {"steps": [
            {"as": "script", "out": [r"^no replier$"]},
        ]}),
        ("zmq-sub '>tcp://host-a:5556' --out-format jsonl | zmq-pub '@tcp://*:6000' --in-format jsonl-envelope", {
            "subst": [("host-a", "127.0.0.1")],
            "steps": [
                {"doc": 0, "as": "term"},
                {"cmd": "zmq-sub '>tcp://127.0.0.1:6000' -C 1", "as": "term", "exit": 0,
                 "out": [r"^relayed$"]},
                # B's subscriber joins the relay's publisher when it will:
                # publish until it has one.
                {"cmd": "zmq-pub -t relay -m relayed --rate 20 -n 1000", "as": "term"},
            ]}),
        ("ssh host-a zmq-sub --out-format jsonl | zmq-pub --in-format jsonl-envelope",
         {"skip": "needs ssh to another host; run here it would relay a publisher to itself"}),
        ("zmq-sub --out-format jsonl > recorded.jsonl", {"steps": [
            {"doc": 0, "as": "term", "name": "recorder"},
            {"cmd": "zmq-pub -t rec -m 'r{{seq}}' -n 5 --wait-subscribers 1",
             "file": ("recorded.jsonl", r'(?s)"r5"')},
            {"stop": "recorder"},
            {"cmd": "zmq-sub -C 5", "as": "term", "exit": 0, "out": [r"^r1$", r"^r5$"]},
            {"doc": 1},
        ]}),
        ("zmq-pull -C 1 | head -c -1 > copy.pdf", {
            "before": "head -c 300000 /dev/urandom > report.pdf",
            "steps": [
                {"doc": 0, "as": "term", "exit": 0},
                {"doc": 1},
                {"cmd": "cmp report.pdf copy.pdf", "after_terms": True},
            ]}),
        ("zmq-sub '@tcp://127.0.0.1:*' -v -C 3 > out.txt 2> sub.err &", {"steps": [
            {"as": "script", "file": ("out.txt", r"^1\n2\n3\n$")},
        ]}),
        ("zmq-sub -W 10 --stats > /dev/null", {"steps": [
            {"doc": 0, "as": "term", "exit": 3},
            {"doc": 1, "as": "term", "exit": 0, "lines": 1000, "err": [r"1000"]},
            {"cmd": "seq 1000 | zmq-push -t m"},  # waits for a puller (--timeout)
        ]}),
        ("cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2",
         {"skip": "a second build tree and a benchmark of minutes"}),
        ("zmq-forwarder -d ./journal -v &", {"steps": [
            {"doc": 0},
            {"doc": 1},
            {"doc": 2, "lines": 1000, "out": [r"^1$", r"^1000$"]},
            {"doc": 3, "lines": 10, "out": [r"^1$", r"^10$"]},
            {"doc": 4, "as": "term", "out": [r"^1000$"]},
        ]}),
        ("zmq-forwarder -d /var/lib/zmqkit --intake '@tcp://*:5560' --replay '@tcp://*:5561' -v",
         {"skip": "two hosts: examples/two_hosts.sh and the netns test run this topology for real"}),
        ("zmq-journal stat /var/lib/zmqkit/journal", {
            "subst": [("/var/lib/zmqkit/journal", "./journal")],
            "steps": [
                {"doc": 0, "out": [r"1000 records|records +1000"]},
                {"doc": 1, "out": [r"^clean$"]},
                {"doc": 2, "lines": 0},
                {"doc": 3},
            ]}),
    ],
}


# -- reading the documents ----------------------------------------------------

def sh_blocks(path):
    """(line number, text) of each ```sh block."""
    blocks, lines = [], open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            start, body = i + 1, []
            i += 1
            while lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            blocks.append((start + 1, "\n".join(body)))
        i += 1
    return blocks


def commands(text):
    """The commands of a block as a shell reads them: comment lines dropped,
    continuation lines and here-documents kept with their command."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cmd = line
        while cmd.endswith("\\") and i < len(lines):
            cmd += "\n" + lines[i]
            i += 1
        here = re.search(r"<<-?'?(\w+)'?", cmd)
        if here:
            while i < len(lines):
                cmd += "\n" + lines[i]
                i += 1
                if lines[i - 1] == here.group(1):
                    break
        out.append(cmd)
    return out


def key(text):
    """What names a block in the plan: its first command's first line, without
    the comment after it."""
    cmds = commands(text)
    first = cmds[0].split("\n")[0] if cmds else ""
    return re.sub(r"\s+#\s.*$", "", first).rstrip()


def backgrounded(cmd):
    """The command without a trailing `&` (and its comment), or None."""
    m = re.match(r"^(.*[^&])&\s*(#.*)?$", cmd, re.S)
    return m.group(1).rstrip() if m and not cmd.rstrip().endswith("&&") else None


# -- running ------------------------------------------------------------------

def copy_terminal(master, path):
    """What a terminal shows, into `path`, colours left out."""
    with open(path, "ab") as f:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed it
                break
            if not data:
                break
            f.write(re.sub(rb"\x1b\[[0-9;]*m", b"", data))
            f.flush()
    os.close(master)


class Failure(Exception):
    pass


class Runner:
    def __init__(self, work, env):
        self.work, self.env = work, env
        self.serial = 0
        self.background = []  # (proc, what): until the document ends

    def start(self, cmd, terminal=False):
        """Starts `cmd` in a shell. A terminal's stdout is a pseudo-terminal,
        as in the reader's own (jq and grep flush each line only there); what
        it prints is copied to a file."""
        self.serial += 1
        base = os.path.join(self.work, "..", "out-%d" % self.serial)
        out, err = open(base, "wb"), open(base + ".err", "wb")
        master = None
        if terminal:
            master, slave = pty.openpty()
            tty.setraw(slave)  # no \r added before each \n
            out.close()
            out = slave
        # A session of its own: the whole pipeline is stopped by its group.
        proc = subprocess.Popen(["bash", "-c", cmd], cwd=self.work, env=self.env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        if terminal:
            os.close(slave)
            threading.Thread(target=copy_terminal, args=(master, base), daemon=True).start()
        else:
            out.close()
        err.close()
        proc.out_path, proc.err_path, proc.cmd = base, base + ".err", cmd
        return proc

    @staticmethod
    def read(path):
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    @staticmethod
    def stop(proc, sig=signal.SIGINT):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass
        # Anything the pipeline left behind in its group goes too.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def describe(self, proc, why):
        return "%s\n    command: %s\n    stdout: %s\n    stderr: %s" % (
            why, proc.cmd.replace("\n", "\n             "),
            self.read(proc.out_path)[-600:].replace("\n", "\n            "),
            self.read(proc.err_path)[-600:].replace("\n", "\n            "))

    def check_output(self, proc, step, wait):
        """The step's out/err/lines checks; waited for with a deadline when `wait`."""
        deadline = time.monotonic() + (DEADLINE if wait else 0)
        while True:
            out, err = self.read(proc.out_path), self.read(proc.err_path)
            missing = [r for r in step.get("out", []) if not re.search(r, out, re.M)]
            missing += ["stderr " + r for r in step.get("err", []) if not re.search(r, err, re.M)]
            if "lines" in step and out.count("\n") != step["lines"]:
                missing.append("%d lines (got %d)" % (step["lines"], out.count("\n")))
            if not missing:
                return
            if time.monotonic() > deadline or (wait and proc.poll() is not None and
                                               time.monotonic() > deadline - DEADLINE + 1):
                raise Failure(self.describe(proc, "expected " + "; ".join(missing)))
            time.sleep(0.05)  # allow-sleep: polls files a child writes, up to the deadline

    def wait_file(self, spec):
        path, pattern = spec
        deadline = time.monotonic() + DEADLINE
        full = os.path.join(self.work, path)
        while time.monotonic() < deadline:
            if os.path.exists(full) and re.search(pattern, self.read(full)):
                return
            time.sleep(0.05)  # allow-sleep: polls a file a child writes, up to the deadline
        text = self.read(full) if os.path.exists(full) else "(no such file)"
        raise Failure("%s does not match %s: %r" % (path, pattern, text[-300:]))

    def wait_exit(self, proc, code):
        try:
            got = proc.wait(timeout=DEADLINE * 2)
        except subprocess.TimeoutExpired:
            raise Failure(self.describe(proc, "still running after %d s" % (DEADLINE * 2)))
        if got != code:
            raise Failure(self.describe(proc, "exit %d, expected %d" % (got, code)))

    def run_block(self, text, plan):
        for old, new in plan.get("subst", []):
            text = text.replace(old, new)
        cmds = commands(text)
        steps = plan["steps"]
        used = sorted(s["doc"] for s in steps if "doc" in s)
        if not any(s.get("as") == "script" for s in steps) and used != list(range(len(cmds))):
            raise Failure("the plan covers commands %s of %d: %s" % (used, len(cmds), cmds))
        terms, named, block_procs = [], {}, []
        try:
            if "before" in plan:
                block_procs.append(self.start(plan["before"]))
                # A setup step that ends (touch, head) must end before the block.
                try:
                    block_procs[-1].wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
            for step in steps:
                if "stop" in step:
                    self.stop(named[step["stop"]])
                    continue
                if step.get("as") == "script":
                    cmd, mode = text, "run"
                elif "doc" in step:
                    cmd = cmds[step["doc"]]
                    mode = step.get("as", "bg" if backgrounded(cmd) else "run")
                    cmd = backgrounded(cmd) or cmd
                else:
                    cmd, mode = step["cmd"], step.get("as", "run")
                if step.get("after_terms"):
                    for proc, s in terms:
                        if "exit" in s:
                            self.wait_exit(proc, s["exit"])
                proc = self.start(cmd, terminal=(mode == "term"))
                if "name" in step:
                    named[step["name"]] = proc
                if mode == "run":
                    try:
                        code = proc.wait(timeout=DEADLINE * 2)
                    except subprocess.TimeoutExpired:
                        self.stop(proc, signal.SIGKILL)
                        raise Failure(self.describe(proc, "still running after %d s (waits for ever?)"
                                                    % (DEADLINE * 2)))
                    if code != step.get("exit", 0):
                        raise Failure(self.describe(proc, "exit %d, expected %d" %
                                                    (code, step.get("exit", 0))))
                    self.check_output(proc, step, wait=False)
                elif mode == "term":
                    terms.append((proc, step))
                else:
                    self.background.append(proc)
                    block_procs.append(proc)
                if "file" in step:
                    self.wait_file(step["file"])
            for proc, step in terms:
                self.check_output(proc, step, wait=True)
                for r in step.get("absent", []):
                    if re.search(r, self.read(proc.out_path), re.M):
                        raise Failure(self.describe(proc, "printed " + r))
                if "exit" in step:
                    self.wait_exit(proc, step["exit"])
                elif proc.poll() not in (None, 0):
                    raise Failure(self.describe(proc, "ended with exit %d" % proc.returncode))
            for proc in block_procs:
                if proc in self.background and proc.poll() not in (None, 0):
                    raise Failure(self.describe(proc, "ended with exit %d" % proc.returncode))
        finally:
            for proc, _ in terms:
                self.stop(proc)
            if "before" in plan:
                self.stop(block_procs[0])

    def end(self):
        for proc in self.background:
            self.stop(proc)
        self.background = []


def main():
    source, build, work = (os.path.abspath(a) for a in sys.argv[1:4])
    if os.geteuid() == 0 and not os.environ.get("ZMQKIT_DOC_NETNS") and shutil.which("unshare"):
        # The default ports, in a network of our own.
        env = dict(os.environ, ZMQKIT_DOC_NETNS="1")
        sys.exit(subprocess.call(["unshare", "--net", "--", "sh", "-c",
                                  'ip link set lo up && exec "$@"', "sh", sys.executable]
                                 + sys.argv, env=env))
    shutil.rmtree(work, ignore_errors=True)
    failures, ran, skipped = 0, 0, []
    for doc, plans in PLANS.items():
        dir_ = os.path.join(work, doc.replace("/", "_"), "cwd")
        os.makedirs(dir_)
        os.symlink(build, os.path.join(dir_, "build"))
        env = dict(os.environ, PATH=os.path.join(build, "tools") + ":" + os.environ["PATH"])
        runner = Runner(dir_, env)
        blocks = sh_blocks(os.path.join(source, doc))
        # A document may show one example twice: the plan lists it twice.
        pending = {}
        for first, plan in plans:
            pending.setdefault(first, []).append(plan)
        try:
            for line, text in blocks:  # in the document's order: state carries over
                first = key(text)
                if not pending.get(first):
                    print("FAILED %s:%d: an example the plan does not cover: %s" % (doc, line, first))
                    failures += 1
                    continue
                plan = pending[first].pop(0)
                if "skip" in plan:
                    skipped.append("%s:%d (%s)" % (doc, line, plan["skip"]))
                    continue
                started = time.monotonic()
                try:
                    runner.run_block(text, plan)
                    ran += 1
                    print("ok %s:%d (%.1f s) %s" % (doc, line, time.monotonic() - started, first))
                except Failure as e:
                    failures += 1
                    print("FAILED %s:%d: %s\n  %s" % (doc, line, first, e))
                sys.stdout.flush()
        finally:
            runner.end()
        for first, left in pending.items():
            for _ in left:
                print("FAILED %s: no example starts with %r any more: update the plan" % (doc, first))
                failures += 1
    for s in skipped:
        print("not run here: " + s)
    print("doc examples: %d blocks ran, %d failed, %d not run here" % (ran, failures, len(skipped)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
