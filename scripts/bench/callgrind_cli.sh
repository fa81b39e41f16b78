#!/usr/bin/env bash
# Instructions per record of `ferrokafka produce` (input file -> encoded
# batches on the wire) and `ferrokafka consume` (fetched bytes -> records
# written to a pipe), counted by callgrind over the client process only
# (every thread; the broker is another process, not counted). Each command
# runs for N and 2N records: (I(2N) - I(N)) / N is the cost per record with
# start-up, metadata and connection set-up cancelled out.
#
#   [CODEC=lz4] scripts/bench/callgrind_cli.sh FERROKAFKA_BIN [N] [SIZE]
#
# CODEC (default none) is the producer's compression.codec, both for the
# produce rows and for filling the topic the consume rows read.
#
# Needs valgrind. Instruction counts do not depend on the machine's load.
set -euo pipefail
fk=$1 n=${2:-100000} size=${3:-100}
codec=(-X "compression.codec=${CODEC:-none}")
dir=$(mktemp -d)
# shellcheck source=scripts/bench/cli_mock.sh
. "$(dirname "$0")/cli_mock.sh"
write_n_and_2n "$n" "$size"
# Total instructions (Ir) of one callgrind run of the command given.
instructions() {
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" "$@" >/dev/null 2>"$dir/vg.err" \
        || { cat "$dir/vg.err" >&2; return 1; }
    local total=0
    for f in "$dir"/cg.*; do
        local ir
        ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$f")
        total=$((total + ir))
        rm -f "$f"
    done
    echo "$total"
}
start_mock --blackhole
p1=$(instructions "$fk" produce -b "$bootstrap" -t bench "${codec[@]}" "$dir/in$n")
p2=$(instructions "$fk" produce -b "$bootstrap" -t bench "${codec[@]}" "$dir/in$((2 * n))")
stop_mock
start_mock
"$fk" produce -b "$bootstrap" -t bench "${codec[@]}" "$dir/in$((2 * n))"
c1=$(instructions "$fk" consume -b "$bootstrap" -t bench -q -c "$n" -o beginning)
c2=$(instructions "$fk" consume -b "$bootstrap" -t bench -q -c $((2 * n)) -o beginning)
stop_mock
echo "codec: ${CODEC:-none}"
echo "| command | instructions, $n records | instructions, $((2 * n)) records | instructions per record |"
echo "|---|---:|---:|---:|"
echo "| produce FILE | $p1 | $p2 | $(((p2 - p1) / n)) |"
echo "| consume -c N | $c1 | $c2 | $(((c2 - c1) / n)) |"
