#!/usr/bin/env python3
"""Python producer and consumer throughput, side by side: ferrokafka,
kafka-python and confluent-kafka against one ``ferrokafka mock`` broker.

Each client runs in a fresh process (so its peak RSS is its own): it
produces --count records of --size bytes to a topic of its own (keyless,
one partition, send without keeping the futures, then flush), then
consumes them back from the start. Printed per client: messages/s, CPU
time per message (user + system, every thread of the process) and peak RSS.
Clients keep their default settings except bootstrap and offsets reset.

    python python/bench.py --count 200000 --size 100
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# This script sits beside the package's source folder, which lacks the built
# native module: import the installed package instead.
if sys.path and os.path.abspath(sys.path[0]) == HERE:
    sys.path.pop(0)


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def produce_ferrokafka(mod, bootstrap, topic, count, value):
    p = mod.KafkaProducer(bootstrap_servers=bootstrap)
    p.partitions_for(topic)
    t0, c0 = time.perf_counter(), cpu()
    send = p.send
    for _ in range(count):
        send(topic, value)
    p.flush()
    t, c = time.perf_counter() - t0, cpu() - c0
    p.close()
    return t, c


def consume_kafka_api(mod, bootstrap, topic, count):
    c = mod.KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    c.assign([mod.TopicPartition(topic, 0)])
    n = 0
    t0, c0 = time.perf_counter(), cpu()
    deadline = time.monotonic() + 600
    while n < count and time.monotonic() < deadline:
        for records in c.poll(timeout_ms=1000, max_records=10000).values():
            n += len(records)
    t, cp = time.perf_counter() - t0, cpu() - c0
    c.close()
    if n < count:
        raise RuntimeError("consumed %d of %d" % (n, count))
    return t, cp


def produce_confluent(bootstrap, topic, count, value):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap})
    p.list_topics(topic, timeout=10)
    t0, c0 = time.perf_counter(), cpu()
    produce, poll = p.produce, p.poll
    for _ in range(count):
        try:
            produce(topic, value)
        except BufferError:
            poll(0.01)
            produce(topic, value)
        # Serve delivery reports as librdkafka's docs tell applications to.
        poll(0)
    p.flush()
    return time.perf_counter() - t0, cpu() - c0


def consume_confluent(bootstrap, topic, count):
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-" + topic, "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    n = 0
    t0, c0 = time.perf_counter(), cpu()
    deadline = time.monotonic() + 600
    while n < count and time.monotonic() < deadline:
        for m in c.consume(num_messages=10000, timeout=1.0):
            if m.error() is None:
                n += 1
    t, cp = time.perf_counter() - t0, cpu() - c0
    c.close()
    if n < count:
        raise RuntimeError("consumed %d of %d" % (n, count))
    return t, cp


def worker(args):
    topic = "bench-%s-%s" % (args.worker, uuid.uuid4().hex[:8])
    value = os.urandom(args.size)
    if args.worker == "confluent-kafka":
        pt, pc = produce_confluent(args.bootstrap, topic, args.count, value)
        ct, cc = consume_confluent(args.bootstrap, topic, args.count)
    else:
        mod = __import__("ferrokafka" if args.worker == "ferrokafka" else "kafka")
        pt, pc = produce_ferrokafka(mod, args.bootstrap, topic, args.count, value)
        ct, cc = consume_kafka_api(mod, args.bootstrap, topic, args.count)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"produce": [pt, pc], "consume": [ct, cc], "rss_kib": rss_kib}))


def mock_binary(arg):
    if arg:
        return arg
    for profile in ("release", "debug"):
        path = os.path.join(ROOT, "target", profile, "ferrokafka")
        if os.access(path, os.X_OK):
            return path
    sys.exit("no ferrokafka binary: cargo build --release -p ferrokafka-cli, or --mock-bin")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--clients", default="ferrokafka,confluent-kafka,kafka-python")
    ap.add_argument("--kafka-python-count", type=int, default=None,
                    help="records for kafka-python (default: --count)")
    ap.add_argument("--mock-bin", default=None)
    ap.add_argument("--bootstrap", default=None, help="use this broker instead of starting the mock")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    mock = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        binary = mock_binary(args.mock_bin)
        mock = subprocess.Popen([binary, "mock", "--brokers", "1"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        bootstrap = mock.stdout.readline().strip().split("=", 1)[1]
        print("broker: %s (%s)" % (bootstrap, binary))
    print("%d records of %d bytes, one partition, default client settings" % (args.count, args.size))
    print("%-16s %12s %10s %12s %10s %10s" % ("client", "produce/s", "cpu us/msg", "consume/s", "cpu us/msg", "peak RSS"))
    try:
        for name in args.clients.split(","):
            count = args.count
            if name == "kafka-python" and args.kafka_python_count:
                count = args.kafka_python_count
            out = subprocess.run(
                [sys.executable, __file__, "--worker", name, "--bootstrap", bootstrap,
                 "--count", str(count), "--size", str(args.size)],
                capture_output=True, text=True, timeout=1800,
            )
            if out.returncode != 0:
                print("%-16s failed: %s" % (name, out.stderr.strip().splitlines()[-1:]))
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            (pt, pc), (ct, cc) = r["produce"], r["consume"]
            print("%-16s %12.0f %10.2f %12.0f %10.2f %7.1f MiB%s" % (
                name, count / pt, pc / count * 1e6, count / ct, cc / count * 1e6,
                r["rss_kib"] / 1024.0, "" if count == args.count else "  (%d records)" % count))
    finally:
        if mock is not None:
            mock.stdin.close()
            mock.wait(10)


if __name__ == "__main__":
    main()
