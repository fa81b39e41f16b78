#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time on stable Rust and prints
# executions per second and crashes (see FUZZING.md).
#   bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
# Seeds: record fixtures made by kafka-python and librdkafka, and real
# client/broker traffic recorded by fuzz/seeds/capture.py. New inputs go to
# fuzz/corpus/<target> (not committed); crashes to fuzz/artifacts/<target>.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    mapfile -t TARGETS < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^ferrokafka-fuzz$')
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked --version 0.13.2
fi

seeds_of() {
    case $1 in
        record_batch) echo ../crates/ferrokafka/tests/fixtures/records ;;
        mock_request) echo seeds/requests ;;
        frame_reader) echo seeds/frames ;;
        response_decode) echo seeds/responses ;;
        any_response) echo seeds/any_responses ;;
        response_*) echo "seeds/responses_${1#response_}" ;;
    esac
}

# `-s none`: no sanitizer, so stable Rust builds it (libFuzzer's coverage
# instrumentation works without nightly); debug assertions stay on.
for t in "${TARGETS[@]}"; do
    if ! out=$(cargo fuzz build -s none "$t" 2>&1); then
        echo "$out" | grep -v '^\s*Compiling' | tail -40 >&2
        echo "fuzz target $t does not build" >&2
        exit 1
    fi
done

failed=0
summary=()
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t"
    seeds=$(seeds_of "$t")
    log="target/fuzz-$t.log"
    mkdir -p target
    echo "==> fuzzing $t for ${SECONDS_PER_TARGET} s (seeds: ${seeds:-none})"
    if cargo fuzz run -s none "$t" "corpus/$t" ${seeds:+"$seeds"} -- \
        -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=CRASH
        failed=1
        grep -m1 -A3 "panicked at\|ERROR: libFuzzer" "$log" >&2 || tail -20 "$log" >&2
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    summary+=("$(printf '%-16s %-6s %10s execs %8s exec/s  cov %s' "$t" "$status" "${execs:-?}" "${rate:-?}" "${cov:-?}")")
done
printf '%s\n' "${summary[@]}"
exit $failed
