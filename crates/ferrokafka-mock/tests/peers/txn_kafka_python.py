"""Transactions with kafka-python against ferrokafka-mock.

Usage: txn_kafka_python.py BOOTSTRAP

A transactional KafkaProducer commits one transaction and aborts another; a
read_committed KafkaConsumer sees the committed records only, and only after
the commit. Offsets sent to a transaction become the group's committed
offsets on commit. Every wait is bounded; exits non-zero with a message on
the first failure.
"""

import sys
import time
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata

BOOTSTRAP = sys.argv[1].split(",")
RUN = uuid.uuid4().hex[:8]
TOPIC = f"txn-kp-{RUN}"
LIMIT_S = 30.0


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def reader(isolation):
    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, isolation_level=isolation, enable_auto_commit=False)
    tp = TopicPartition(TOPIC, 0)
    c.assign([tp])
    c.seek(tp, 0)
    return c


def drain(c, want=None, quiet_s=1.5):
    values = []
    deadline = time.monotonic() + LIMIT_S
    last = time.monotonic()
    while time.monotonic() < deadline:
        got = c.poll(timeout_ms=200)
        if not got:
            if want is None and time.monotonic() - last >= quiet_s:
                break
            continue
        for records in got.values():
            values.extend(r.value.decode() for r in records)
        last = time.monotonic()
        if want is not None and len(values) >= want:
            break
    return values


def main():
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=10000)
    admin.create_topics([NewTopic(TOPIC, 1, 1)], timeout_ms=10000)

    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, transactional_id=f"kp-{RUN}")
    p.init_transactions()
    committed = reader("read_committed")

    p.begin_transaction()
    first = [f"c{i}" for i in range(4)]
    for v in first:
        p.send(TOPIC, value=v.encode(), partition=0)
    p.flush(timeout=15)
    early = drain(committed)
    if early:
        fail(f"read_committed saw {early} before commit")
    p.commit_transaction()
    got = drain(committed, want=len(first))
    if got != first:
        fail(f"read_committed after commit saw {got}, expected {first}")
    print(f"OK committed transaction visible only after commit: {got}")

    p.begin_transaction()
    for i in range(3):
        p.send(TOPIC, value=f"aborted{i}".encode(), partition=0)
    p.flush(timeout=15)
    p.abort_transaction()
    p.begin_transaction()
    p.send(TOPIC, value=b"after", partition=0)
    group = f"kp-group-{RUN}"
    p.send_offsets_to_transaction({TopicPartition(TOPIC, 0): OffsetAndMetadata(4, "", -1)}, group)
    p.commit_transaction()
    got = drain(committed, want=1)
    rest = drain(committed)
    if got + rest != ["after"]:
        fail(f"read_committed after abort+commit saw {got + rest}, expected ['after']")
    everything = drain(reader("read_uncommitted"), want=len(first) + 4)
    if len([v for v in everything if v.startswith("aborted")]) != 3:
        fail(f"read_uncommitted should see the aborted records: {everything}")
    print("OK aborted records hidden from read_committed")

    if hasattr(admin, "list_group_offsets"):
        offsets = admin.list_group_offsets({group: None})[group]
    else:
        offsets = admin.list_consumer_group_offsets(group)
    got = {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == TOPIC}
    if got != {0: 4}:
        fail(f"offsets sent to the transaction: {got}, expected {{0: 4}}")
    print("OK offsets sent to the transaction committed with it")
    p.close(timeout=10)
    admin.close()
    print("PASS txn_kafka_python")


main()
