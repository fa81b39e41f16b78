"""A consumer group with librdkafka (confluent-kafka) against ferrokafka-mock.

Usage: groups_confluent.py BOOTSTRAP

Produces records, consumes them in a group (subscribe), commits, reads the
committed offsets back (Consumer.committed and the Admin API), then runs two
members in one group and checks that the rebalance splits the partitions.
Every wait is bounded; exits non-zero with a message on the first failure.
"""

import sys
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP = sys.argv[1]
RUN = uuid.uuid4().hex[:8]
TOPIC = f"groups-ck-{RUN}"
PARTITIONS = 3
COUNT = 60
EXTRA = 9
LIMIT_S = 40.0


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def create_topic():
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    futures = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], operation_timeout=10)
    for f in futures.values():
        f.result(timeout=15)
    return admin


def produce(prefix="v", count=COUNT):
    p = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 5})
    for i in range(count):
        p.produce(TOPIC, key=f"{prefix}{i}".encode(), value=f"{prefix}{i}".encode())
    left = p.flush(15)
    if left:
        fail(f"{left} records not delivered")


def consumer(group, extra=None):
    conf = {
        "bootstrap.servers": BOOTSTRAP,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 500,
    }
    conf.update(extra or {})
    return Consumer(conf)


def consume_all_and_commit():
    group = f"g1-{RUN}"
    c = consumer(group)
    c.subscribe([TOPIC])
    seen = set()
    deadline = time.monotonic() + LIMIT_S
    while len(seen) < COUNT and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            fail(f"consume error: {m.error()}")
        seen.add(m.value().decode())
    if len(seen) != COUNT:
        fail(f"consumed {len(seen)} distinct records of {COUNT} within {LIMIT_S}s")
    c.commit(asynchronous=False)
    parts = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
    committed = c.committed(parts, timeout=10)
    ends = []
    for tp in committed:
        if tp.error:
            fail(f"committed({tp}) error {tp.error}")
        _, high = c.get_watermark_offsets(TopicPartition(TOPIC, tp.partition), timeout=10)
        if tp.offset != high:
            fail(f"partition {tp.partition}: committed {tp.offset}, high watermark {high}")
        ends.append(tp.offset)
    if sum(ends) != COUNT:
        fail(f"committed offsets {ends} do not add up to {COUNT}")
    c.close()
    print(f"OK group {group}: consumed {COUNT}, committed {ends}")

    # A new member of the same group resumes at the committed offsets: it
    # gets the records produced after the commit and none of the old ones.
    c2 = consumer(group)
    c2.subscribe([TOPIC])
    deadline = time.monotonic() + LIMIT_S
    while not c2.assignment() and time.monotonic() < deadline:
        m = c2.poll(0.3)
        if m is not None and not m.error():
            fail(f"record {m.value()!r} redelivered after commit")
    if not c2.assignment():
        fail("second consumer never got an assignment")
    produce(prefix="n", count=EXTRA)
    fresh = set()
    while len(fresh) < EXTRA and time.monotonic() < deadline:
        m = c2.poll(0.3)
        if m is None:
            continue
        if m.error():
            fail(f"consume error: {m.error()}")
        value = m.value().decode()
        if not value.startswith("n"):
            fail(f"record {value!r} redelivered after commit")
        fresh.add(value)
    if len(fresh) != EXTRA:
        fail(f"restarted member got {len(fresh)} of {EXTRA} new records")
    c2.commit(asynchronous=False)
    c2.close()
    print(f"OK restarted member resumed at the committed offsets ({EXTRA} new records only)")
    return group, ends


def admin_reads_offsets(admin, group, ends):
    from confluent_kafka import ConsumerGroupTopicPartitions

    fs = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=10)
    for f in fs.values():
        res = f.result(timeout=15)
        offsets = sorted(tp.offset for tp in res.topic_partitions if tp.topic == TOPIC)
        if len(offsets) != PARTITIONS or sum(offsets) != COUNT + EXTRA:
            fail(f"admin list_consumer_group_offsets {offsets}: expected {PARTITIONS} partitions summing to {COUNT + EXTRA}")
    listed = admin.list_consumer_groups(request_timeout=10).result(timeout=15)
    ids = [g.group_id for g in listed.valid]
    if group not in ids:
        fail(f"list_consumer_groups does not show {group}: {ids} errors={listed.errors}")
    print(f"OK admin reads offsets {offsets} and lists the group")


def two_members_split_partitions(strategy):
    group = f"g2-{strategy}-{RUN}"
    conf = {"partition.assignment.strategy": strategy}
    a = consumer(group, conf)
    b = consumer(group, conf)
    a.subscribe([TOPIC])
    b.subscribe([TOPIC])
    deadline = time.monotonic() + LIMIT_S
    while time.monotonic() < deadline:
        for c in (a, b):
            m = c.poll(0.2)
            if m is not None and m.error():
                fail(f"consume error: {m.error()}")
        pa = {tp.partition for tp in a.assignment()}
        pb = {tp.partition for tp in b.assignment()}
        if pa and pb and not (pa & pb) and len(pa | pb) == PARTITIONS:
            print(f"OK {strategy}: two members split partitions {sorted(pa)} / {sorted(pb)}")
            a.close()
            b.close()
            return
    fail(f"{strategy}: assignments never split: a={a.assignment()} b={b.assignment()}")


def static_member_restart(admin):
    """KIP-345: a restarted static member takes over its old identity at
    once, where a dynamic one would leave a ghost until its session expired."""
    group = f"g3-{RUN}"
    conf = {"group.instance.id": "static-1", "session.timeout.ms": 30000}
    first = consumer(group, conf)
    first.subscribe([TOPIC])
    deadline = time.monotonic() + LIMIT_S
    while not first.assignment() and time.monotonic() < deadline:
        first.poll(0.2)
    if not first.assignment():
        fail("static member never got an assignment")
    old_id = first.memberid()
    first.close()  # a static member does not leave the group on close

    second = consumer(group, conf)
    second.subscribe([TOPIC])
    while not second.assignment() and time.monotonic() < deadline:
        second.poll(0.2)
    if len(second.assignment()) != PARTITIONS:
        fail(f"restarted static member got {second.assignment()}")
    desc = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
    members = [(m.member_id, m.group_instance_id) for m in desc.members]
    if len(members) != 1 or members[0][1] != "static-1" or members[0][0] == old_id:
        fail(f"static member not replaced in place: old id {old_id}, members {members}")
    second.close()
    print(f"OK static member restarted in place: {old_id} -> {members[0][0]}")


def delete_group(admin, group):
    for f in admin.delete_consumer_groups([group], request_timeout=10).values():
        f.result(timeout=15)
    listed = admin.list_consumer_groups(request_timeout=10).result(timeout=15)
    if group in [g.group_id for g in listed.valid]:
        fail(f"{group} still listed after delete_consumer_groups")
    print(f"OK admin deleted group {group}")


def main():
    admin = create_topic()
    produce()
    group, ends = consume_all_and_commit()
    admin_reads_offsets(admin, group, ends)
    two_members_split_partitions("range")
    two_members_split_partitions("cooperative-sticky")
    static_member_restart(admin)
    delete_group(admin, group)
    print("PASS groups_confluent")


main()
