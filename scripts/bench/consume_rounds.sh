#!/usr/bin/env bash
# Consumer rounds of several `ferrokafka-bench` binaries and librdkafka,
# interleaved against ONE storing ferrokafka-mock filled once, so every side
# meets the same broker, the same records and the same machine load. Prints
# one JSON line per run and a markdown table of the medians per side.
#
#   scripts/bench/consume_rounds.sh ROUNDS CODEC BROKER_BIN \
#       "LABEL|BIN|CLIENT_ARGS" ["LABEL|BIN|CLIENT_ARGS" ...]
#
# CLIENT_ARGS choose the client, e.g. "--lib ferrokafka" or
# "--lib librdkafka --rdkafka-set fetch.queue.backoff.ms=10". Each run reads
# 1,000,000 records of 100 bytes from 8 partitions (COUNT overrides the
# count). Run it under `flock /tmp/bench.lock`.
set -euo pipefail
rounds=$1 codec=$2 broker_bin=$3
shift 3
count=${COUNT:-1000000}
dir=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null || true; rm -rf "$dir"' EXIT
mkfifo "$dir/in"
"$broker_bin" serve --broker ferrokafka-mock --partitions 8 --topic bench --store 1 \
    <"$dir/in" >"$dir/bootstrap" &
exec 3>"$dir/in"
for _ in $(seq 100); do [ -s "$dir/bootstrap" ] && break; sleep 0.1; done
bs=$(head -1 "$dir/bootstrap")
"$broker_bin" client --lib ferrokafka --bootstrap "$bs" --topic bench --count "$count" \
    --partitions 8 --codec "$codec" --acks 1 --linger 5 >/dev/null
echo "codec $codec, start $(date -u +%T), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$rounds"); do
    for side in "$@"; do
        IFS='|' read -r label bin extra <<<"$side"
        # shellcheck disable=SC2086
        "$bin" client --bootstrap "$bs" --topic bench --mode consume --count "$count" \
            --partitions 8 --codec "$codec" $extra \
            | jq -c --arg side "$label" --arg round "$r" '. + {side: $side, round: $round}' \
            | tee -a "$dir/runs.json"
    done
done
echo "end $(date -u +%T), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo
echo "| side | msgs/s by round (M) | msgs/s (median, M) | CPU s / 1M msgs (median) | peak RSS MiB (median) |"
echo "|---|---|---:|---:|---:|"
jq -rs 'group_by(.side) | .[] |
    def med: sort | .[(length / 2 | floor)];
    [.[0].side,
     (map(.msgs_per_sec / 1e4 | round / 100 | tostring) | join(", ")),
     (map(.msgs_per_sec) | med / 1e4 | round / 100),
     (map(.cpu_per_million) | med * 100 | round / 100),
     (map(.peak_rss_kb) | med / 1024 | round)]
    | "| " + (map(tostring) | join(" | ")) + " |"' "$dir/runs.json"
