#!/usr/bin/env bash
# The main job: `ferrokafka perf produce` against the embedded mock cluster
# (no -b: the CLI starts one in-process). Extra arguments go to `perf produce`,
# e.g. `bash scripts/run-main.sh -n 1000000 -s 100 --json`.
# Needs only cargo: the first run builds the release binary (a few minutes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo run --release --quiet -p ferrokafka-cli -- perf produce "$@"
