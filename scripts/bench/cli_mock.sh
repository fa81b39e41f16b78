# Shared by the CLI benchmark scripts (sourced, not run): the embedded mock
# cluster they run against and their input files. The caller sets `fk` (the
# ferrokafka CLI binary) and `dir` (a scratch directory) first.
#
#   start_mock [MOCK_ARGS...]   3 brokers, topic bench with 8 partitions;
#                               sets $bootstrap
#   stop_mock
#   write_lines COUNT SIZE      COUNT lines of SIZE bytes (a counter, then
#                               padding) on standard output
#   write_n_and_2n N SIZE       $dir/inN and $dir/in2N, for the callgrind
#                               scripts' (I(2N) - I(N)) / N
mock_pid=
cleanup() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
start_mock() {
    "$fk" mock --brokers 3 --topic bench:8 --no-stdin "$@" >"$dir/mock.out" 2>"$dir/mock.err" &
    mock_pid=$!
    for _ in $(seq 100); do grep -q BOOTSTRAP= "$dir/mock.out" 2>/dev/null && break; sleep 0.1; done
    bootstrap=$(sed -n 's/^BOOTSTRAP=//p' "$dir/mock.out" | head -1)
}
stop_mock() {
    kill "$mock_pid"
    wait "$mock_pid" 2>/dev/null || true
    mock_pid=
}
write_lines() {
    python3 - "$1" "$2" <<'PY'
import sys
n, size = int(sys.argv[1]), int(sys.argv[2])
pad = b"x" * (size - 8)
out = sys.stdout.buffer
for i in range(n):
    out.write(b"%08d" % i + pad + b"\n")
PY
}
write_n_and_2n() {
    local count
    for count in "$1" $((2 * $1)); do
        write_lines "$count" "$2" >"$dir/in$count"
    done
}
