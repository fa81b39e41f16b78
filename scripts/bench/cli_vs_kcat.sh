#!/usr/bin/env bash
# `ferrokafka produce` / `ferrokafka consume` beside `kcat -P` / `kcat -C`:
# the same input file to the same broker, the same records read back into a
# pipe, the two commands alternating ROUNDS times so both see the same load.
#
#   [PRODUCE_X="acks=1 linger.ms=5"] [CONSUME_X="..."] \
#   scripts/bench/cli_vs_kcat.sh FERROKAFKA_BIN [ROUNDS] [RECORDS] [SIZE]
#
# The broker is `FERROKAFKA_BIN mock` (3 brokers, topic bench with 8
# partitions): blackhole for the produce rounds, storing (filled once by
# `ferrokafka produce`) for the consume rounds. PRODUCE_X / CONSUME_X are
# properties (space-separated name=value) given with -X to both clients. Prints one line per run and a markdown table of medians (wall
# seconds, user+sys CPU seconds, peak RSS) with the ratios kcat/ferrokafka
# of wall-clock time (above 1: ferrokafka is faster).
# Run it under `flock /tmp/bench.lock`.
set -euo pipefail
fk=$1 rounds=${2:-5} records=${3:-1000000} size=${4:-100}
kcat=${FERROKAFKA_KCAT:-$(command -v kcat)}
dir=$(mktemp -d)
# shellcheck source=scripts/bench/cli_mock.sh
. "$(dirname "$0")/cli_mock.sh"
python3 - "$records" "$size" >"$dir/input" <<'EOF'
import sys, random
n, size = int(sys.argv[1]), int(sys.argv[2])
random.seed(1)
alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789"
line = bytes(random.choice(alphabet) for _ in range(size))
out = sys.stdout.buffer
for i in range(n):
    out.write(b"%08d" % i + line[8:] + b"\n")
EOF

xs=() cxs=()
for p in ${PRODUCE_X:-}; do xs+=(-X "$p"); done
for p in ${CONSUME_X:-}; do cxs+=(-X "$p"); done

# One timed run: label, then the command; appends "label wall cpu rss_kb".
timed() {
    local label=$1
    shift
    /usr/bin/time -f "%e %U %S %M" -o "$dir/time" "$@"
    read -r wall user sys rss <"$dir/time"
    echo "$label $wall $(echo "$user + $sys" | bc) $rss" | tee -a "$dir/runs"
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); PRODUCE_X=${PRODUCE_X:-} CONSUME_X=${CONSUME_X:-}"
start_mock --blackhole
for _ in $(seq "$rounds"); do
    timed "produce-kcat" "$kcat" -P -b "$bootstrap" -t bench "${xs[@]}" -l "$dir/input"
    timed "produce-ferrokafka" "$fk" produce -b "$bootstrap" -t bench "${xs[@]}" "$dir/input"
done
stop_mock
start_mock
"$fk" produce -b "$bootstrap" -t bench "${xs[@]}" "$dir/input"
for _ in $(seq "$rounds"); do
    timed "consume-kcat" sh -c "'$kcat' -C -b '$bootstrap' -t bench -e -q ${cxs[*]:-} | cat >/dev/null"
    timed "consume-ferrokafka" sh -c "'$fk' consume -b '$bootstrap' -t bench -e -q ${cxs[*]:-} | cat >/dev/null"
done
stop_mock
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | client | wall s (median) | wall s (min-max) | CPU s user+sys (median) | peak RSS MiB (median) | wall ratio kcat/ferrokafka |"
echo "|---|---|---:|---:|---:|---:|---:|"
python3 - "$dir/runs" "$records" "$size" <<'EOF'
import sys, statistics as st
runs = {}
for line in open(sys.argv[1]):
    label, wall, cpu, rss = line.split()
    runs.setdefault(label, []).append((float(wall), float(cpu), int(rss)))
for op in ("produce", "consume"):
    k, f = runs[op + "-kcat"], runs[op + "-ferrokafka"]
    for name, r in (("kcat", k), ("ferrokafka", f)):
        w = [x[0] for x in r]
        ratio = st.median(x[0] for x in k) / st.median(w) if name == "ferrokafka" else ""
        print(f"| {op} {sys.argv[2]} x {sys.argv[3]}B | {name} | {st.median(w):.2f} | {min(w):.2f}-{max(w):.2f} | "
              f"{st.median(x[1] for x in r):.2f} | {st.median(x[2] for x in r) / 1024:.1f} | "
              f"{'%.2fx' % ratio if ratio else ''} |")
EOF
