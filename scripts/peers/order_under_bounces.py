#!/usr/bin/env python3
"""Per-key order of `ferrokafka produce` while each broker of librdkafka's
mock cluster goes down in turn (issue 13, item 1; figures in RELIABILITY.md).

Usage: order_under_bounces.py FERROKAFKA_BINARY [--records N] [--idempotence true|false]
                              [--down-ms MS] [--every-ms MS] [--in-flight N] [--rate R]

Starts rdkafka_mock.py (3 brokers, topic `order` with 6 partitions, 3
replicas), pipes N keyed records (`key-K<TAB>I`, 24 keys) into
`ferrokafka produce -K '\\t'` at R records/s with acks=all and N requests in flight, and
while it runs takes broker 1, 2, 3, 1, ... down for --down-ms every
--every-ms. Then reads every partition back with confluent-kafka and counts,
per partition and key, records written after a later record of the same key
(inversions; a record written twice counts as a duplicate, not an
inversion). Prints one `ORDER ...` line.
"""

import argparse
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = 24
PARTITIONS = 6


def mock():
    p = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "rdkafka_mock.py"), "--brokers", "3",
         "--topic", "order:%d:3" % PARTITIONS],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    first = p.stdout.readline().strip()
    assert first.startswith("BOOTSTRAP="), first
    return p, first[len("BOOTSTRAP="):]


def command(p, line, lock):
    with lock:
        p.stdin.write(line + "\n")
        p.stdin.flush()
        answer = p.stdout.readline().strip()
    if not answer.startswith("OK"):
        raise SystemExit("mock: %s -> %s" % (line, answer))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--idempotence", default="true")
    ap.add_argument("--down-ms", type=int, default=2000)
    ap.add_argument("--every-ms", type=int, default=3000)
    ap.add_argument("--in-flight", type=int, default=5)
    ap.add_argument("--rate", type=int, default=30_000, help="records per second written")
    a = ap.parse_args()

    m, bootstrap = mock()
    lock = threading.Lock()
    prod = subprocess.Popen(
        [a.binary, "produce", "-b", bootstrap, "-t", "order", "-K", "\\t",
         "-X", "acks=all", "-X", "enable.idempotence=" + a.idempotence,
         "-X", "max.in.flight.requests.per.connection=%d" % a.in_flight,
         "-X", "linger.ms=5", "-X", "message.timeout.ms=300000"],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    done = threading.Event()

    def bounce():
        b = 0
        while not done.wait(a.every_ms / 1000.0):
            broker = b % 3 + 1
            b += 1
            command(m, "down %d" % broker, lock)
            time.sleep(a.down_ms / 1000.0)
            command(m, "up %d" % broker, lock)

    t = threading.Thread(target=bounce, daemon=True)
    t.start()
    start = time.time()
    for i in range(a.records):
        prod.stdin.write("key-%d\t%d\n" % (i % KEYS, i))
        if i % 1000 == 999:
            prod.stdin.flush()
            ahead = start + (i + 1) / a.rate - time.time()
            if ahead > 0:
                time.sleep(ahead)
    prod.stdin.close()
    err = prod.stderr.read()
    rc = prod.wait()
    elapsed = time.time() - start
    done.set()
    t.join()
    for b in (1, 2, 3):
        command(m, "up %d" % b, lock)

    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "order-check",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    ends = []
    for p in range(PARTITIONS):
        lo, hi = c.get_watermark_offsets(TopicPartition("order", p), timeout=20)
        ends.append(hi)
    c.assign([TopicPartition("order", p, 0) for p in range(PARTITIONS)])
    logs = [[] for _ in range(PARTITIONS)]
    eof = set(p for p in range(PARTITIONS) if ends[p] == 0)
    deadline = time.time() + 300
    while len(eof) < PARTITIONS and time.time() < deadline:
        msg = c.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == -191:  # _PARTITION_EOF
                eof.add(msg.partition())
            continue
        logs[msg.partition()].append((msg.offset(), int(msg.value())))
    c.close()
    m.stdin.close()
    m.wait()

    in_log = dup = inv = 0
    first = None
    seen = set()
    for p, log in enumerate(logs):
        last = {}
        for off, i in log:
            in_log += 1
            if i in seen:
                dup += 1
                continue
            seen.add(i)
            k = i % KEYS
            if k in last and last[k][1] > i:
                inv += 1
                if first is None:
                    first = "partition %d: record %d at offset %d after record %d (offset %d)" % (
                        p, i, off, last[k][1], last[k][0])
                continue
            last[k] = (off, i)
    print("ORDER binary=%s idempotence=%s in_flight=%d records=%d exit=%d elapsed=%.1fs "
          "in_log=%d missing=%d duplicates=%d inversions=%d first=%s"
          % (os.path.basename(a.binary), a.idempotence, a.in_flight, a.records, rc, elapsed,
             in_log, a.records - len(seen), dup, inv, first))
    if rc != 0:
        print("produce stderr (last 5 lines):\n" + "\n".join(err.strip().splitlines()[-5:]))


if __name__ == "__main__":
    main()
