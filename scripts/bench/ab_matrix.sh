#!/usr/bin/env bash
# The producer matrix's workloads, interleaved: for each broker (one
# process per broker kind), ROUNDS rounds of every workload, each round
# running the ferrokafka client of every binary given and librdkafka (from
# the first binary), one after the other. So the sides meet the same broker
# and the same machine load, which a whole matrix per binary does not.
# Prints one JSON line per client run and, at the end, a markdown table of
# medians per broker, workload and side, with the ratio to librdkafka.
# The two rows paced at 1.5M msgs/s (below both clients' unpaced rates)
# compare memory at equal throughput: unpaced, the faster client fills
# more of its queue (queue.buffering.max.messages) and holds more records.
#
#   scripts/bench/ab_matrix.sh ROUNDS COUNT LATENCY_COUNT "LABEL|BIN" ["LABEL|BIN"...]
#
# Run it under `flock /tmp/bench.lock`.
set -euo pipefail
rounds=$1 count=$2 lcount=$3
shift 3
sides=("$@")
first_bin=${sides[0]#*|}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
workloads=(
    "acks=1, none|--count $count --acks 1 --codec none --linger 5"
    "acks=1, lz4|--count $count --acks 1 --codec lz4 --linger 5"
    "acks=all, none|--count $count --acks all --codec none --linger 5"
    "acks=all, lz4|--count $count --acks all --codec lz4 --linger 5"
    "acks=1, none at 1.5M/s|--count $count --rate 1500000 --acks 1 --codec none --linger 5"
    "acks=1, lz4 at 1.5M/s|--count $count --rate 1500000 --acks 1 --codec lz4 --linger 5"
    "latency: $lcount at 10000/s, linger.ms=0|--count $lcount --rate 10000 --acks 1 --codec none --linger 0"
)
for broker in ferrokafka-mock librdkafka-mock; do
    rm -f "$dir/in" "$dir/bootstrap"
    mkfifo "$dir/in"
    "$first_bin" serve --broker "$broker" --partitions 8 --topic bench <"$dir/in" >"$dir/bootstrap" &
    exec 3>"$dir/in"
    for _ in $(seq 100); do [ -s "$dir/bootstrap" ] && break; sleep 0.1; done
    bootstrap=$(head -1 "$dir/bootstrap")
    for r in $(seq "$rounds"); do
        for w in "${workloads[@]}"; do
            IFS='|' read -r wname wargs <<<"$w"
            runs=("${sides[@]}" "librdkafka|$first_bin")
            for side in "${runs[@]}"; do
                IFS='|' read -r label bin <<<"$side"
                lib=ferrokafka
                [ "$label" = librdkafka ] && lib=librdkafka
                # shellcheck disable=SC2086
                "$bin" client --lib "$lib" --bootstrap "$bootstrap" --topic bench $wargs \
                    | jq -c --arg side "$label" --arg w "$wname" --arg b "$broker" --arg round "$r" \
                        --arg load "$(cut -d' ' -f1 /proc/loadavg)" \
                        '. + {side: $side, workload: $w, broker: $b, round: $round, load: $load}' \
                    | tee -a "$dir/runs.json"
            done
        done
    done
    exec 3>&-
    wait
done
echo
echo "| broker | workload | side | msgs/s | CPU s / 1M msgs | peak RSS MiB | RSS / librdkafka | RSS min-max MiB |"
echo "|---|---|---|---:|---:|---:|---:|---:|"
jq -rs '
    def med: sort | .[(length / 2 | floor)];
    group_by(.broker + "|" + .workload) | .[] |
    (map(select(.side == "librdkafka")) | map(.peak_rss_kb) | med) as $rd |
    group_by(.side) | .[] |
    [.[0].broker, .[0].workload, .[0].side,
     (map(.msgs_per_sec) | med | floor),
     (map(.cpu_per_million) | med * 100 | round / 100),
     (map(.peak_rss_kb) | med / 1024 * 10 | round / 10),
     "\((map(.peak_rss_kb) | med) / $rd * 100 | round / 100)x",
     "\(map(.peak_rss_kb) | min / 1024 * 10 | round / 10)-\(map(.peak_rss_kb) | max / 1024 * 10 | round / 10)"]
    | "| " + (map(tostring) | join(" | ")) + " |"' "$dir/runs.json"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
