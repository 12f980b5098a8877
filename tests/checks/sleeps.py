#!/usr/bin/python3
"""Tests wait for events, never for time (docs/building.md, Tests).

  /usr/bin/python3 tests/checks/sleeps.py [SOURCE_DIR]

Lists every sleep in tests/ and examples/ (the examples are run as tests)
that has no `allow-sleep` comment on its line or the line before, and exits
1 if there is any. A sleep that waits for something should wait for that
thing instead; a sleep that is the point (a slow handler on purpose, a
child process to be killed, the interval of a poll that has no event to
wait on) says so: `// allow-sleep: the mail server being slow is the example`.
Run by CTest as a "checks:" test.
"""

import os
import re
import sys

SCANNED = ("tests", "examples")
SKIPPED_DIRS = {"corpus", "__pycache__"}  # fuzz seed inputs: data, not code
SUFFIXES = (".cpp", ".hpp", ".h", ".c", ".py", ".sh", ".cmake", ".txt")

SLEEP = re.compile(
    r"\b(?:sleep_for|sleep_until|usleep|nanosleep|clock_nanosleep|sleep)\s*\("  # C, C++, Python
    r"|(?:^|[\s;&|(`'\"])sleep\s+[\"']?(?:[0-9.]|\$)"  # the shell's, given a number or a $variable
)


def offences(path):
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except UnicodeDecodeError:
        return
    for i, line in enumerate(lines):
        if not SLEEP.search(line) or "allow-sleep" in line:
            continue
        if i > 0 and "allow-sleep" in lines[i - 1]:
            continue
        yield i + 1, line.strip()


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    found = []
    for top in SCANNED:
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(x for x in dirs if x not in SKIPPED_DIRS)
            for name in sorted(files):
                if not name.endswith(SUFFIXES):
                    continue
                path = os.path.join(d, name)
                for n, text in offences(path):
                    found.append("%s:%d: %s" % (os.path.relpath(path, root), n, text))
    if found:
        print("sleeps without an allow-sleep comment saying why (wait for the event instead):")
        print("\n".join("  " + f for f in found))
        return 1
    print("no sleep without an allow-sleep comment in %s" % " or ".join(SCANNED))
    return 0


if __name__ == "__main__":
    sys.exit(main())
