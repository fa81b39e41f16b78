"""A consumer group with kafka-python against ferrokafka-mock.

Usage: groups_kafka_python.py BOOTSTRAP

Produces records, consumes them in a group (subscribe), commits, reads the
committed offsets back (KafkaConsumer.committed and KafkaAdminClient), and
checks that a restarted member resumes at the committed offsets. Every wait
is bounded; exits non-zero with a message on the first failure.
"""

import sys
import time
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

BOOTSTRAP = sys.argv[1].split(",")
RUN = uuid.uuid4().hex[:8]
TOPIC = f"groups-kp-{RUN}"
GROUP = f"kp-{RUN}"
PARTITIONS = 3
COUNT = 45
EXTRA = 6
LIMIT_S = 40.0


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def produce(prefix, count):
    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=5)
    futures = [p.send(TOPIC, key=f"{prefix}{i}".encode(), value=f"{prefix}{i}".encode()) for i in range(count)]
    for f in futures:
        f.get(timeout=15)
    p.close(timeout=10)


def consumer():
    return KafkaConsumer(
        bootstrap_servers=BOOTSTRAP,
        group_id=GROUP,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=10000,
        heartbeat_interval_ms=500,
    )


def consume(c, want, prefix):
    seen = set()
    deadline = time.monotonic() + LIMIT_S
    while len(seen) < want and time.monotonic() < deadline:
        batches = c.poll(timeout_ms=300)
        for records in batches.values():
            for r in records:
                value = r.value.decode()
                if not value.startswith(prefix):
                    fail(f"unexpected record {value!r} (wanted only {prefix}*)")
                seen.add(value)
    if len(seen) != want:
        fail(f"consumed {len(seen)} distinct records of {want} within {LIMIT_S}s")


def main():
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=10000)
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], timeout_ms=10000)
    produce("v", COUNT)

    c = consumer()
    c.subscribe([TOPIC])
    consume(c, COUNT, "v")
    c.commit()
    parts = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
    ends = c.end_offsets(parts)
    committed = {tp.partition: c.committed(tp) for tp in parts}
    for tp in parts:
        if committed[tp.partition] != ends[tp]:
            fail(f"partition {tp.partition}: committed {committed[tp.partition]}, end offset {ends[tp]}")
    c.close()
    print(f"OK group {GROUP}: consumed {COUNT}, committed {committed}")

    if hasattr(admin, "list_group_offsets"):  # kafka-python 3.x
        offsets = admin.list_group_offsets({GROUP: None})[GROUP]
        listed = admin.list_groups()
        described = admin.describe_groups([GROUP])
    else:  # kafka-python 2.x
        offsets = admin.list_consumer_group_offsets(GROUP)
        listed = admin.list_consumer_groups()
        described = None
    got = {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == TOPIC}
    if got != committed:
        fail(f"admin offsets {got}, expected {committed}")
    names = [g.get("group_id") if isinstance(g, dict) else g[0] for g in listed]
    if GROUP not in names:
        fail(f"listed groups do not show {GROUP}: {listed}")
    if described is not None:
        state = described[GROUP].get("group_state")
        if state != "Empty":
            fail(f"describe_groups state {state!r} after the only member left, expected 'Empty': {described}")
    print(f"OK admin reads offsets {got} and lists the group")

    # A restarted member resumes at the committed offsets.
    c2 = consumer()
    c2.subscribe([TOPIC])
    deadline = time.monotonic() + LIMIT_S
    while not c2.assignment() and time.monotonic() < deadline:
        for records in c2.poll(timeout_ms=300).values():
            for r in records:
                fail(f"record {r.value!r} redelivered after commit")
    if not c2.assignment():
        fail("restarted member never got an assignment")
    produce("n", EXTRA)
    consume(c2, EXTRA, "n")
    c2.commit()
    c2.close()
    print(f"OK restarted member resumed at the committed offsets ({EXTRA} new records only)")
    admin.close()
    print("PASS groups_kafka_python")


main()
