#!/usr/bin/env bash
# A/B of ferrokafka clients built from two commits (or one binary with two
# settings), interleaved against ONE broker process, so both sides meet the
# same broker and the same machine load. Prints one JSON line per client run
# (the `ferrokafka-bench client` figures plus a "side" field) and, at the end,
# a markdown table of the medians per side.
#
#   scripts/bench/ab_clients.sh MODE ROUNDS BROKER_BIN \
#       "A_LABEL|A_BIN|A_EXTRA_ARGS" "B_LABEL|B_BIN|B_EXTRA_ARGS" [COMMON_ARGS...]
#
# MODE is produce (blackhole broker) or consume (storing broker, filled once
# by BROKER_BIN's ferrokafka producer). Run it under `flock /tmp/bench.lock`.
set -euo pipefail
mode=$1 rounds=$2 broker_bin=$3 a=$4 b=$5
shift 5
common=("$@")
store=0
[ "$mode" = consume ] && store=1
dir=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null || true; rm -rf "$dir"' EXIT
mkfifo "$dir/in"
"$broker_bin" serve --broker ferrokafka-mock --partitions 8 --topic bench --store "$store" \
    <"$dir/in" >"$dir/bootstrap" &
exec 3>"$dir/in"
for _ in $(seq 100); do [ -s "$dir/bootstrap" ] && break; sleep 0.1; done
bootstrap=$(head -1 "$dir/bootstrap")
if [ "$mode" = consume ]; then
    "$broker_bin" client --lib ferrokafka --bootstrap "$bootstrap" --topic bench \
        "${common[@]}" --acks 1 --linger 5 >"$dir/fill.json"
    echo "fill: $(cat "$dir/fill.json")" >&2
fi
for r in $(seq "$rounds"); do
    for side in "$a" "$b"; do
        IFS='|' read -r label bin extra <<<"$side"
        # shellcheck disable=SC2086
        "$bin" client --lib ferrokafka --bootstrap "$bootstrap" --topic bench --mode "$mode" \
            "${common[@]}" $extra | jq -c --arg side "$label" --arg round "$r" '. + {side: $side, round: $round}' \
            | tee -a "$dir/runs.json"
    done
done
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| side | runs | msgs/s (median) | CPU s / 1M msgs (median) | CPU s / 1M msgs (min-max) | peak RSS MiB (median) |"
echo "|---|---:|---:|---:|---:|---:|"
jq -rs 'group_by(.side) | .[] |
    def med: sort | .[(length / 2 | floor)];
    [.[0].side, length,
     (map(.msgs_per_sec) | med | floor),
     (map(.cpu_per_million) | med * 100 | round / 100),
     "\(map(.cpu_per_million) | min * 100 | round / 100)-\(map(.cpu_per_million) | max * 100 | round / 100)",
     (map(.peak_rss_kb) | med / 1024 * 10 | round / 10)]
    | "| " + (map(tostring) | join(" | ")) + " |"' "$dir/runs.json"
