"""librdkafka (confluent-kafka) against the mock: metadata, admin create,
produce with every codec (plain and idempotent), consume back by assignment.

Usage: python data_confluent.py BOOTSTRAP
Prints `PASS data_confluent` and exits 0 only when every check passed.
"""
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

BOOT = sys.argv[1]
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
PER_CODEC = 200
DEADLINE = time.monotonic() + 90


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check_deadline(what):
    if time.monotonic() > DEADLINE:
        fail(f"timed out: {what}")


admin = AdminClient({"bootstrap.servers": BOOT})
md = admin.list_topics(timeout=10)
if len(md.brokers) != 3:
    fail(f"expected 3 brokers in metadata, got {sorted(md.brokers)}")

topic = f"codecs-{uuid.uuid4().hex[:8]}"
futures = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=2)], operation_timeout=10)
futures[topic].result(timeout=15)
dup = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=2)])
try:
    dup[topic].result(timeout=15)
    fail("creating an existing topic succeeded")
except Exception as e:  # TOPIC_ALREADY_EXISTS
    if "exist" not in str(e).lower():
        fail(f"unexpected create error: {e}")
md = admin.list_topics(topic=topic, timeout=10)
if len(md.topics[topic].partitions) != 3:
    fail(f"topic {topic} has {len(md.topics[topic].partitions)} partitions, expected 3")

res = ConfigResource(ConfigResource.Type.TOPIC, topic)
configs = admin.describe_configs([res])[res].result(timeout=15)
if configs["cleanup.policy"].value != "delete" or "retention.ms" not in configs:
    fail(f"describe_configs of {topic}: {sorted(configs)}")

sent = {}
for idempotent in (False, True):
    for codec in CODECS:
        conf = {
            "bootstrap.servers": BOOT,
            "compression.codec": codec,
            "enable.idempotence": idempotent,
            "linger.ms": 5,
            "acks": "all" if idempotent else "1",
        }
        p = Producer(conf)
        errors = []

        def dr(err, msg):
            if err is not None:
                errors.append(str(err))

        for i in range(PER_CODEC):
            value = f"{codec}-{idempotent}-{i}-".encode() + b"x" * 80
            key = f"k{i}".encode()
            p.produce(topic, value=value, key=key, on_delivery=dr)
            sent[value] = key
        left = p.flush(30)
        if left or errors:
            fail(f"codec {codec} idempotent={idempotent}: {left} undelivered, errors {errors[:3]}")

c = Consumer({
    "bootstrap.servers": BOOT,
    "group.id": "unused-assign-only",
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
})
c.assign([TopicPartition(topic, p, 0) for p in range(3)])
got = {}
while len(got) < len(sent):
    check_deadline(f"consumed {len(got)} of {len(sent)}")
    m = c.poll(1.0)
    if m is None:
        continue
    if m.error():
        fail(f"consumer error {m.error()}")
    got[m.value()] = m.key()
c.close()
if got != sent:
    fail(f"consumed {len(got)} messages that differ from the {len(sent)} sent")

# Watermarks match what was produced.
c = Consumer({"bootstrap.servers": BOOT, "group.id": "wm"})
total = sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(3))
c.close()
if total != len(sent):
    fail(f"high watermarks sum to {total}, expected {len(sent)}")

# DescribeCluster and DeleteRecords through the admin client.
cluster = admin.describe_cluster(request_timeout=10).result(timeout=15)
if len(cluster.nodes) != 3:
    fail(f"describe_cluster: {cluster.nodes}")
deleted = admin.delete_records([TopicPartition(topic, 0, 2)], request_timeout=10)
low = list(deleted.values())[0].result(timeout=15).low_watermark
if low != 2:
    fail(f"delete_records low watermark {low}, expected 2")

print(f"OK {len(sent)} messages through {len(CODECS)} codecs, plain and idempotent")
print("PASS data_confluent")
