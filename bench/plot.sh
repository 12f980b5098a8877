#!/usr/bin/env bash
# Plots what bench/run.sh measured: OUT_DIR's CSV files to PNG, with
# gnuplot (Debian: gnuplot-nox). Run by bench/run.sh; on its own it redraws
# the plots of an earlier run.
#
# Usage: bench/plot.sh OUT_DIR
set -euo pipefail
out_dir=${1:?usage: bench/plot.sh OUT_DIR}
for f in throughput.csv latency.csv; do
  [[ -f $out_dir/$f ]] || { echo "plot: $out_dir/$f not found: run bench/run.sh first" >&2; exit 2; }
done
gnuplot <<EOF
set datafile separator ","
set terminal pngcairo size 1000,600 font ",11"
set logscale x 2
set xtics ("32" 32, "64" 64, "256" 256, "1k" 1024, "4k" 4096, "16k" 16384, "64k" 65536, "256k" 262144, "1M" 1048576)
set xlabel "payload bytes"
set key top right
set grid
set output "$out_dir/throughput.png"
set title "Throughput over tcp loopback: zmqkit beside raw libzmq (median of 5 interleaved pairs)"
set ylabel "messages per second"
set logscale y
set format y "%.0s%c"
plot "< grep '^pushpull' $out_dir/throughput.csv" using 3:4 with linespoints lw 2 title "push/pull zmqkit", \
     "< grep '^pushpull' $out_dir/throughput.csv" using 3:5 with linespoints lw 2 dt 2 title "push/pull raw libzmq", \
     "< grep '^pushpull' $out_dir/throughput.csv" using 3:6 with linespoints lw 1 dt 3 title "push/pull raw, zmqkit's frames", \
     "< grep '^pubsub' $out_dir/throughput.csv" using 3:4 with linespoints lw 2 title "pub/sub zmqkit", \
     "< grep '^pubsub' $out_dir/throughput.csv" using 3:5 with linespoints lw 2 dt 2 title "pub/sub raw libzmq"
unset logscale y
set output "$out_dir/bandwidth.png"
set title "Payload bandwidth over tcp loopback, and the ratio zmqkit / raw libzmq"
set ylabel "MiB/s of payload"
set y2label "ratio zmqkit / raw"
set y2range [0:1.5]
set y2tics
set ytics nomirror
set format y "%g"
set key top left
plot "< grep '^pushpull' $out_dir/throughput.csv" using 3:11 with linespoints lw 2 title "push/pull zmqkit MiB/s", \
     "< grep '^pushpull' $out_dir/throughput.csv" using 3:12 with linespoints lw 2 dt 2 title "push/pull raw MiB/s", \
     "< grep '^pushpull' $out_dir/throughput.csv" using 3:7 axes x1y2 with linespoints lw 1 title "push/pull ratio", \
     "< grep '^pubsub' $out_dir/throughput.csv" using 3:7 axes x1y2 with linespoints lw 1 dt 4 title "pub/sub ratio"
unset y2tics; unset y2label; unset logscale x
set output "$out_dir/latency.png"
set title "Latency, open loop, from the intended send time (median of 5 pairs)"
set style data histogram
set datafile columnheaders
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel "microseconds"
set xlabel ""
set xtics rotate by -20
set key top left
plot "$out_dir/latency.csv" using 5:xtic(sprintf("%s %s%s", strcol(1), strcol(2), strcol(4) eq "" ? "" : " ".strcol(4))) title "zmqkit p50", \
     "" using 9 title "raw p50", "" using 6 title "zmqkit p99", "" using 10 title "raw p99", \
     "" using 7 title "zmqkit p99.9", "" using 11 title "raw p99.9"
EOF

