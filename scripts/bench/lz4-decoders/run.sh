#!/usr/bin/env bash
# Instructions per decoded byte of three LZ4 block decoders (issue 19):
#   bash scripts/bench/lz4-decoders/run.sh [ROUNDS]
# Builds this crate with lz4_flex's safe decoder and without it (its
# unsafe fast path), then counts each decoder's instructions with callgrind
# for ROUNDS and 2*ROUNDS rounds over the same blocks; the difference
# divided by the bytes of ROUNDS rounds is the cost per byte, start-up
# cancelled. Needs valgrind.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
rounds=${1:-20}
target=${CARGO_TARGET_DIR:-$PWD/target}
cargo build -q --release --features safe --target-dir "$target/safe"
cargo build -q --release --target-dir "$target/fast"
count() {
    local f
    f=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$f" "$@" >/dev/null 2>&1
    sed -n 's/^summary: \([0-9]*\).*/\1/p' "$f"
    rm -f "$f"
}
bytes=$("$target/safe/release/lz4-decoders" flex 1 | sed 's/.* \([0-9]*\) per round/\1/')
echo "| decoder | instructions per decoded byte |"
echo "|---|---:|"
for row in "lz4_flex safe-decode|$target/safe/release/lz4-decoders flex" \
    "lz4_flex fast path (unsafe)|$target/fast/release/lz4-decoders flex" \
    "C lz4 (lz4-sys)|$target/fast/release/lz4-decoders c"; do
    IFS='|' read -r label cmd <<<"$row"
    # shellcheck disable=SC2086
    a=$(count $cmd "$rounds")
    # shellcheck disable=SC2086
    b=$(count $cmd $((2 * rounds)))
    echo "| $label | $(echo "scale=3; ($b - $a) / ($rounds * $bytes)" | bc) |"
done
