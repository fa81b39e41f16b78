#!/usr/bin/env python3
"""librdkafka's own idempotent producer through the fault schedule of
ferrokafka's idempotence proof, against librdkafka's mock cluster.

It answers one question: when the mock cluster reorders records of an
idempotent producer under injected retriable Produce errors, does
librdkafka's producer (confluent-kafka) get the same reordering? If it does,
the reordering comes from the mock cluster, not from the client.

The run mirrors `ferrokafka/tests/idempotence_harness.rs`: record `i` (its
value is the decimal `i`) goes to partition `i % partitions`, so the send
order within a partition is numeric order; at `--points` evenly spaced
places the next two Produce requests fail with a retriable error (the mock
cluster's request error stack, which fails a request without writing it).
Then every partition is read back from the beginning and checked: no record
twice, records in send order per partition, every delivered record present.

Usage: rdkafka_idempotence_faults.py [--records N] [--in-flight N]
           [--points N] [--seed N] [--fault retriable|refusals|none]
           [--batch N] [--rtt MS] [--pause-ms MS] [--debug CONTEXTS]

Prints one `RESULT {json}` line; exits 0 when the log was in order, 1 when
it found a loss, a duplicate or a reordering (the details are in the JSON).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rdkafka_mock import Cluster, find_librdkafka, load  # noqa: E402

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402

PRODUCE = 0
# NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS
RETRIABLE = [6, 7, 19]
# The ones a broker returns before writing: NOT_LEADER_OR_FOLLOWER,
# NOT_ENOUGH_REPLICAS.
REFUSALS = [6, 19]


class Rng:
    """The harness's xorshift64* so a seed picks the same error codes."""

    def __init__(self, seed):
        self.s = max(seed, 1) & 0xFFFFFFFFFFFFFFFF

    def next(self):
        s = self.s
        s ^= s >> 12
        s ^= (s << 25) & 0xFFFFFFFFFFFFFFFF
        s ^= s >> 27
        self.s = s
        return (s * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF

    def below(self, n):
        return self.next() % max(n, 1)


def produce(bootstrap, topic, partitions, n, points, in_flight, fault, cluster, rng):
    reports = [None] * n
    errors = []

    def on_delivery(err, msg):
        i = int(msg.value())
        if err is None:
            reports[i] = ("ok", msg.partition(), msg.offset())
        else:
            reports[i] = ("failed", err.name())

    def on_error(err):
        errors.append("%s: %s (fatal=%s)" % (err.name(), err.str(), err.fatal()))

    p = Producer({
        "error_cb": on_error,
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "linger.ms": 2,
        "batch.num.messages": BATCH[0],
        "max.in.flight.requests.per.connection": in_flight,
        "request.timeout.ms": 1500,
        "socket.timeout.ms": 2000,
        "retry.backoff.ms": 20,
        "retry.backoff.max.ms": 200,
        "message.timeout.ms": 60000,
        "queue.buffering.max.messages": 20000,
        **({"debug": DEBUG[0]} if DEBUG[0] else {}),
    })
    every = max(n // max(points, 1), 1)
    injected = 0
    for i in range(n):
        if i > 0 and i % every == 0 and fault != "none":
            # Let what was sent so far reach the brokers first (as the Rust
            # harness's produce_paced does), so the fault meets requests in
            # flight rather than all records still queued.
            end = time.time() + PAUSE_MS[0] / 1000.0
            while time.time() < end:
                p.poll(0.005)
            codes = RETRIABLE if fault == "retriable" else REFUSALS
            c = codes[rng.below(len(codes))]
            cluster.command(["errors", str(PRODUCE), "%d,%d" % (c, c)])
            injected += 1
        while True:
            try:
                p.produce(topic, value=str(i).encode(), partition=i % partitions, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)
    left = p.flush(120)
    return reports, errors, injected, left


def read_back(bootstrap, topic, partitions):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "rdkafka-idempotence-faults",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "fetch.wait.max.ms": 50,
    })
    ends = []
    for part in range(partitions):
        _, high = c.get_watermark_offsets(TopicPartition(topic, part), timeout=20)
        ends.append(high)
    c.assign([TopicPartition(topic, part, 0) for part in range(partitions) if ends[part] > 0])
    logs = [[] for _ in range(partitions)]
    done = {part for part in range(partitions) if ends[part] == 0}
    deadline = time.time() + 120
    while len(done) < partitions:
        if time.time() > deadline:
            raise SystemExit("read back did not finish in 120 s")
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                if m.offset() >= ends[m.partition()]:
                    done.add(m.partition())
                continue
            raise SystemExit("consumer error: %s" % m.error())
        logs[m.partition()].append((m.offset(), int(m.value())))
        if m.offset() + 1 >= ends[m.partition()]:
            done.add(m.partition())
    c.close()
    return logs


def runs(log):
    """The log as runs of consecutive records: [(first offset, first record, last record)]."""
    out = []
    for off, rec in log:
        if out and rec == out[-1][2] + PARTS_STEP[0]:
            out[-1][2] = rec
        else:
            out.append([off, rec, rec])
    return out


PARTS_STEP = [8]
DEBUG = [""]
BATCH = [200]
PAUSE_MS = [0]


def check(reports, logs, partitions):
    seen = {}
    problems = []
    for part, log in enumerate(logs):
        last = None
        for off, rec in log:
            if rec in seen:
                problems.append("record %d duplicated: at %s and at offset %d" % (rec, seen[rec], off))
            seen[rec] = (part, off)
            if last is not None and rec < last:
                problems.append("partition %d: record %d at offset %d after %d (reordered)" % (part, rec, off, last))
            last = rec if last is None else max(last, rec)
    delivered = sum(1 for r in reports if r and r[0] == "ok")
    for i, r in enumerate(reports):
        if r and r[0] == "ok" and i not in seen:
            problems.append("record %d reported delivered is missing" % i)
    return delivered, len(seen), problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--in-flight", type=int, default=5)
    ap.add_argument("--points", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--fault", choices=["retriable", "refusals", "none"], default="retriable")
    ap.add_argument("--pause-ms", type=int, default=0, help="pause before each fault, polling")
    ap.add_argument("--rtt", type=int, default=0,
                    help="added round trip per broker in ms (more requests in flight per partition)")
    ap.add_argument("--debug", default="", help="librdkafka debug contexts of the producer (to stderr)")
    ap.add_argument("--batch", type=int, default=200, help="batch.num.messages")
    args = ap.parse_args()
    BATCH[0] = args.batch
    PAUSE_MS[0] = args.pause_ms
    DEBUG[0] = args.debug
    PARTS_STEP[0] = args.partitions

    cluster = Cluster(load(find_librdkafka()), 3)
    topic = "idem"
    cluster.topic(topic, args.partitions, 3)
    if args.rtt:
        for b in (1, 2, 3):
            cluster.command(["rtt", str(b), str(args.rtt)])
    bootstrap = cluster.bootstrap()
    rng = Rng(args.seed)
    reports, errors, injected, left = produce(
        bootstrap, topic, args.partitions, args.records, args.points, args.in_flight,
        args.fault, cluster, rng)
    logs = read_back(bootstrap, topic, args.partitions)
    delivered, in_log, problems = check(reports, logs, args.partitions)
    failed = {}
    for r in reports:
        if r is None:
            failed["no report"] = failed.get("no report", 0) + 1
        elif r[0] == "failed":
            failed[r[1]] = failed.get(r[1], 0) + 1
    # Where the first reordering sits: the runs of consecutive records of
    # that partition's log around it.
    around = None
    for prob in problems:
        if "reordered" in prob:
            part = int(prob.split()[1].rstrip(":"))
            around = [list(r) for r in runs(logs[part])][:12]
            break
    result = {
        "client": "confluent-kafka (librdkafka) idempotent producer",
        "records": args.records, "in_flight": args.in_flight, "fault": args.fault, "rtt_ms": args.rtt, "batch_num_messages": args.batch, "pause_ms": args.pause_ms,
        "faults_injected": injected, "delivered": delivered, "in_log": in_log,
        "failed": failed, "left_after_flush": left, "errors": errors[:5],
        "problems": len(problems), "first_problems": problems[:5],
        "runs_of_reordered_partition": around,
    }
    print("RESULT " + json.dumps(result), flush=True)
    cluster.close()
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
