"""Transactions with librdkafka (confluent-kafka) against ferrokafka-mock.

Usage: txn_confluent.py BOOTSTRAP

A transactional producer commits one transaction, aborts one and commits a
third; a read_committed consumer sees the committed records only, and only
after their commit; a read_uncommitted consumer sees everything. Then a
consume-transform-produce round sends consumer offsets to a transaction
(AddOffsetsToTxn/TxnOffsetCommit): they become the group's committed
offsets on commit. Finally a second producer with the same transactional.id
fences the first. Every wait is bounded; exits non-zero with a message on
the first failure.
"""

import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP = sys.argv[1]
RUN = uuid.uuid4().hex[:8]
TOPIC = f"txn-ck-{RUN}"
OUT = f"txn-out-{RUN}"
TXN_ID = f"txn-{RUN}"
LIMIT_S = 30.0


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def producer(txn_id=TXN_ID):
    return Producer({"bootstrap.servers": BOOTSTRAP, "transactional.id": txn_id, "transaction.timeout.ms": 20000})


def reader(isolation):
    c = Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": f"reader-{isolation}-{RUN}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
        }
    )
    c.assign([TopicPartition(TOPIC, 0, 0)])
    return c


def drain(c, want=None, quiet_s=1.5):
    """Values polled until `want` arrived (bounded) or, without `want`, until
    nothing arrived for `quiet_s`."""
    values = []
    deadline = time.monotonic() + LIMIT_S
    last = time.monotonic()
    while time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None:
            if want is None and time.monotonic() - last >= quiet_s:
                break
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                continue
            fail(f"consume error: {m.error()}")
        values.append(m.value().decode())
        last = time.monotonic()
        if want is not None and len(values) >= want:
            break
    return values


def main():
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for f in admin.create_topics([NewTopic(TOPIC, 1, 1), NewTopic(OUT, 1, 1)], operation_timeout=10).values():
        f.result(timeout=15)

    p = producer()
    p.init_transactions(LIMIT_S)
    committed_reader = reader("read_committed")
    all_reader = reader("read_uncommitted")

    # Transaction 1: invisible to read_committed until committed.
    p.begin_transaction()
    first = [f"c{i}" for i in range(5)]
    for v in first:
        p.produce(TOPIC, value=v.encode(), partition=0)
    if p.flush(15):
        fail("transaction 1 not flushed")
    early = drain(committed_reader)
    if early:
        fail(f"read_committed saw {early} before commit")
    uncommitted = drain(all_reader, want=len(first))
    if uncommitted != first:
        fail(f"read_uncommitted saw {uncommitted} before commit, expected {first}")
    p.commit_transaction(LIMIT_S)
    got = drain(committed_reader, want=len(first))
    if got != first:
        fail(f"read_committed after commit saw {got}, expected {first}")
    print(f"OK transaction 1 visible to read_committed only after commit: {got}")

    # Transaction 2 aborts; transaction 3 commits after it.
    p.begin_transaction()
    for i in range(3):
        p.produce(TOPIC, value=f"aborted{i}".encode(), partition=0)
    if p.flush(15):
        fail("transaction 2 not flushed")
    p.abort_transaction(LIMIT_S)
    p.begin_transaction()
    third = [f"after{i}" for i in range(2)]
    for v in third:
        p.produce(TOPIC, value=v.encode(), partition=0)
    p.commit_transaction(LIMIT_S)
    got = drain(committed_reader, want=len(third))
    if got != third:
        fail(f"read_committed after abort+commit saw {got}, expected {third}")
    extra = drain(committed_reader)
    if extra:
        fail(f"read_committed saw more than the committed records: {extra}")
    everything = drain(all_reader, want=5)
    if [v for v in everything if v.startswith("aborted")] != ["aborted0", "aborted1", "aborted2"]:
        fail(f"read_uncommitted should see the aborted records too: {everything}")
    print(f"OK aborted records hidden from read_committed: {got}")
    committed_reader.close()
    all_reader.close()

    # Consume-transform-produce: offsets committed through the transaction.
    group = f"ctp-{RUN}"
    c = Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": group,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe([TOPIC])
    inputs = drain(c, want=len(first) + len(third))
    if inputs != first + third:
        fail(f"group consumer saw {inputs}, expected {first + third}")
    p.begin_transaction()
    for v in inputs:
        p.produce(OUT, value=f"t-{v}".encode(), partition=0)
    positions = c.position(c.assignment())
    p.send_offsets_to_transaction(positions, c.consumer_group_metadata(), LIMIT_S)
    # Before the commit: a plain OffsetFetch sees nothing committed, and a
    # read_committed one (require_stable, KIP-447) waits for the transaction.
    peek = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": group, "isolation.level": "read_uncommitted"})
    before = peek.committed([TopicPartition(TOPIC, 0)], timeout=10)[0].offset
    if before >= 0:
        fail(f"offsets visible before the transaction committed: {before}")
    try:
        stable = c.committed([TopicPartition(TOPIC, 0)], timeout=2)[0].offset
        fail(f"require_stable OffsetFetch answered {stable} while the transaction was open")
    except KafkaException as e:
        if e.args[0].code() != -185:  # _TIMED_OUT: still retrying UNSTABLE_OFFSET_COMMIT
            raise
    p.commit_transaction(LIMIT_S)
    after = c.committed([TopicPartition(TOPIC, 0)], timeout=10)[0].offset
    peeked = peek.committed([TopicPartition(TOPIC, 0)], timeout=10)[0].offset
    peek.close()
    if peeked != after:
        fail(f"read_uncommitted sees committed offset {peeked}, read_committed {after}")
    want = [tp.offset for tp in positions if tp.partition == 0][0]
    if after != want:
        fail(f"committed offset {after} after the transaction, expected {want}")
    c.close()
    print(f"OK offsets sent to the transaction committed with it: {after}")

    # A new producer with the same transactional.id fences the old one.
    p2 = producer()
    p2.init_transactions(LIMIT_S)
    fenced = False
    try:
        p.begin_transaction()
        p.produce(TOPIC, value=b"zombie", partition=0)
        p.commit_transaction(LIMIT_S)
    except KafkaException as e:
        fenced = e.args[0].fatal() or "fenced" in str(e).lower()
    if not fenced:
        fail("the first producer was not fenced by the second")
    p2.begin_transaction()
    p2.produce(TOPIC, value=b"p2", partition=0)
    p2.commit_transaction(LIMIT_S)
    check = reader("read_committed")
    values = drain(check, want=len(first) + len(third) + 1)
    if "zombie" in values or values[-1:] != ["p2"]:
        fail(f"after fencing read_committed saw {values}")
    check.close()
    print("OK a second producer with the same transactional.id fences the first")
    print("PASS txn_confluent")


main()
