#!/usr/bin/env bash
# Instructions per record on the library's record paths, counted by
# callgrind as the inclusive cost of the functions that do per-record work:
#
#   produce  Producer::enqueue            send -> record queued in its batch
#            sender::build_request        queued records -> encoded request
#            sender::Shared::finish       acknowledged batch -> reports
#   consume  consumer::decode::decode     fetched bytes -> messages
#            Consumer::take               queued message -> application
#
# Whole-process counts (callgrind_cli.sh) also hold what depends on time:
# a consumer that waits for the broker wakes on timers and fetches again,
# and how often depends on how fast valgrind lets it run (two runs of one
# binary gave 709 and 1442 instructions per record). The functions above
# run once per record or per batch and not per wake-up, so their counts
# repeat from run to run and from machine to machine.
#
# Each command runs for N and 2N records through `ferrokafka produce` and
# `ferrokafka consume` against the embedded mock; (I(2N) - I(N)) / N
# cancels start-up and connections.
#
#   [CODEC=lz4] scripts/bench/callgrind_paths.sh FERROKAFKA_CLI_BIN [N] [SIZE]
#
# A function the compiler inlined into its caller has no count of its own:
# it is reported as missing, and the sum is then not comparable.
set -euo pipefail
fk=$1 n=${2:-100000} size=${3:-100}
codec=(-X "compression.codec=${CODEC:-none}")
dir=$(mktemp -d)
# shellcheck source=scripts/bench/cli_mock.sh
. "$(dirname "$0")/cli_mock.sh"
write_n_and_2n "$n" "$size"
# Runs the command under callgrind; leaves the profiles in $dir/NAME.*.
profile() {
    local name=$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$dir/$name.%p" "$@" >/dev/null 2>"$dir/vg.err" \
        || { cat "$dir/vg.err" >&2; return 1; }
}
# Inclusive instructions of function $2 in the profiles named $1 (0 when
# absent), from callgrind_annotate's inclusive listing of the binary.
inclusive() {
    local total=0 f ir
    for f in "$dir/$1".*; do
        ir=$(callgrind_annotate --inclusive=yes --threshold=100 "$f" 2>/dev/null \
            | grep -F ":$2 [$fk]" | head -1 | awk '{gsub(",", "", $1); print $1}')
        total=$((total + ${ir:-0}))
    done
    echo "$total"
}
produce_fns=(
    "ferrokafka::producer::Producer::enqueue"
    "ferrokafka::producer::sender::build_request"
    "ferrokafka::producer::sender::Shared::finish"
)
consume_fns=(
    "ferrokafka::consumer::decode::decode"
    "ferrokafka::consumer::Consumer::take"
)
start_mock --blackhole
profile p1 "$fk" produce -b "$bootstrap" -t bench "${codec[@]}" "$dir/in$n"
profile p2 "$fk" produce -b "$bootstrap" -t bench "${codec[@]}" "$dir/in$((2 * n))"
stop_mock
start_mock --topic bench1:8 --topic bench2:8
# A topic of exactly as many records as each run reads: the consumer
# decodes ahead of what it hands over, up to the end of what is stored.
"$fk" produce -b "$bootstrap" -t bench1 "${codec[@]}" "$dir/in$n"
"$fk" produce -b "$bootstrap" -t bench2 "${codec[@]}" "$dir/in$((2 * n))"
profile c1 "$fk" consume -b "$bootstrap" -t bench1 -q -c "$n" -o beginning
profile c2 "$fk" consume -b "$bootstrap" -t bench2 -q -c $((2 * n)) -o beginning
stop_mock
echo "codec: ${CODEC:-none}, $n and $((2 * n)) records of $size bytes"
echo "| path | function | instructions per record |"
echo "|---|---|---:|"
rows() {
    local path=$1 a=$2 b=$3 sum=0 missing=
    shift 3
    for fn in "$@"; do
        local i1 i2 per
        i1=$(inclusive "$a" "$fn")
        i2=$(inclusive "$b" "$fn")
        if [ "$i1" = 0 ] || [ "$i2" = 0 ]; then
            echo "| $path | \`$fn\` | missing (inlined?) |"
            missing=" (incomplete)"
            continue
        fi
        per=$(((i2 - i1) / n))
        sum=$((sum + per))
        echo "| $path | \`$fn\` | $per |"
    done
    echo "| $path | **sum**$missing | **$sum** |"
}
rows produce p1 p2 "${produce_fns[@]}"
rows consume c1 c2 "${consume_fns[@]}"
