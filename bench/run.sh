#!/usr/bin/env bash
# The standard benchmark suite: zmq-bench's scenarios, each beside raw
# libzmq in the same run, written as CSV and JSON, and plotted to PNG with
# gnuplot. About 5 minutes on 2 cores. A benchmark, not a test: CI runs only
# zmq-bench's smoke test.
#
# Usage: bench/run.sh [BUILD_DIR] [OUT_DIR]
#   BUILD_DIR  a Release build with tools (default: build-rel; configured
#              and built here if it has no tools/zmq-bench)
#   OUT_DIR    where results and plots go (default: bench-results)
#
# Writes OUT_DIR/machine.txt, throughput.csv (pub/sub and push/pull over
# tcp, 32 B to 1 MiB, with the "frames" reference: raw libzmq sending
# zmqkit's own frames), transports.csv (inproc, ipc, tcp), latency.csv
# (open loop), forwarder.csv (each fsync policy, against a zmq_proxy),
# results.json (all of it), and, by bench/plot.sh, throughput.png,
# bandwidth.png and latency.png.
# docs/performance.md shows and explains them.
set -euo pipefail

build=${1:-build-rel}
out=${2:-bench-results}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

if ! command -v gnuplot >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "bench: installing gnuplot-nox (Debian) for the plots" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
  else
    echo "bench: gnuplot is missing: apt-get install gnuplot-nox (as root), then run again" >&2
    exit 2
  fi
fi
if [[ ! -x $build/tools/zmq-bench ]]; then
  echo "bench: building zmq-bench (Release) in $build" >&2
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j"$(nproc)" --target zmq-bench >/dev/null
fi
bench="$build/tools/zmq-bench"
mkdir -p "$out"
journal_dir=${TMPDIR:-/var/tmp}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "kernel: $(uname -sr)"
  echo "libzmq: $(dpkg-query -W -f='${Version}' libzmq5 2>/dev/null || echo '?')"
  echo "zmqkit: $(git -C "$root" describe --always --dirty 2>/dev/null || echo 'not a git checkout')"
  echo "command: bench/run.sh $build $out"
} >"$out/machine.txt"

step() { echo "bench: $*" >&2; }
start=$(date +%s)

step "throughput, pub/sub and push/pull over tcp, 32 B to 1 MiB (zmqkit, raw, frames; 5 pairs)"
"$bench" pushpull pubsub -t tcp -s 32,64,256,1k,16k,64k,1m --impl all -p 5 --format json >"$out/throughput.json"

step "throughput by transport: inproc, ipc, tcp at 64 B and 16 KiB"
"$bench" pushpull pubsub -t inproc,ipc,tcp -s 64,16k -p 5 --format json >"$out/transports.json"

step "latency, open loop: push/pull at 10 000/s, req/rep round trips at 5 000/s, 64 B and 1 KiB"
"$bench" pushpull -s 64,1k --rate 10000 -n 30000 -p 5 --format json >"$out/latency-pushpull.json"
"$bench" reqrep -s 64,1k --rate 5000 -n 15000 -p 5 --format json >"$out/latency-reqrep.json"

step "through the forwarder, each fsync policy, 100 B (journal in $journal_dir)"
"$bench" forwarder -s 100 --fsync always,interval:10,never -n 100000 -p 5 --journal-dir "$journal_dir" \
  --format json >"$out/forwarder.json"
"$bench" forwarder -s 100 --fsync always --rate 10000 -n 30000 -p 5 --journal-dir "$journal_dir" \
  --format json >"$out/latency-forwarder.json"

# One JSON document, and a CSV per table, from the JSON (no second run).
python3 - "$out" <<'EOF'
import csv, json, sys, os
out = sys.argv[1]
parts = ["throughput", "transports", "latency-pushpull", "latency-reqrep", "forwarder", "latency-forwarder"]
docs = {p: json.load(open(os.path.join(out, p + ".json"))) for p in parts}
machine = docs["throughput"]["machine"]
rows = {p: d["results"] for p, d in docs.items()}
json.dump({"machine": machine, "results": rows}, open(os.path.join(out, "results.json"), "w"), indent=2)
for p in parts:
    os.remove(os.path.join(out, p + ".json"))

def get(r, *path):
    for k in path:
        if not isinstance(r, dict) or k not in r or r[k] is None:
            return ""
        r = r[k]
    return r

def write(name, table, columns):
    with open(os.path.join(out, name), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([c for c, _ in columns])
        for r in table:
            w.writerow([get(r, *path) for _, path in columns])

thr = [("scenario", ["scenario"]), ("transport", ["transport"]), ("payload_bytes", ["payload_bytes"]),
       ("zmqkit_msgs_per_s", ["zmqkit", "msgs_per_s", "median"]), ("raw_msgs_per_s", ["raw", "msgs_per_s", "median"]),
       ("frames_msgs_per_s", ["frames", "msgs_per_s", "median"]),
       ("ratio_zmqkit_to_raw_median", ["ratio_zmqkit_to_raw_msgs_per_s", "median"]),
       ("ratio_zmqkit_to_raw_min", ["ratio_zmqkit_to_raw_msgs_per_s", "min"]),
       ("ratio_zmqkit_to_raw_max", ["ratio_zmqkit_to_raw_msgs_per_s", "max"]),
       ("ratio_zmqkit_to_frames_median", ["ratio_zmqkit_to_frames_msgs_per_s", "median"]),
       ("zmqkit_mib_per_s", ["zmqkit", "mib_per_s"]), ("raw_mib_per_s", ["raw", "mib_per_s"])]
write("throughput.csv", rows["throughput"], thr)
write("transports.csv", rows["transports"], thr)
write("forwarder.csv", rows["forwarder"], [("fsync", ["fsync"])] + thr)
lat = [("scenario", ["scenario"]), ("payload_bytes", ["payload_bytes"]), ("rate_per_s", ["rate_per_s"]),
       ("fsync", ["fsync"])]
for impl in ("zmqkit", "raw"):
    lat += [(f"{impl}_{p}", [impl, p]) for p in ("p50_us", "p99_us", "p999_us", "max_us")]
lat += [("p50_us_zmqkit_minus_raw", ["p50_us_zmqkit_minus_raw", "median"])]
write("latency.csv", rows["latency-pushpull"] + rows["latency-reqrep"] + rows["latency-forwarder"], lat)
EOF

step "plots"
"$here/plot.sh" "$out"

echo "bench: done in $(($(date +%s) - start)) s; results and plots in $out/" >&2
