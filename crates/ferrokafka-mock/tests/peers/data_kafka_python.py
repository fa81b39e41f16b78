"""kafka-python against the mock: metadata, admin create, produce with every
codec (plain and idempotent), consume back by assignment.

Usage: python data_kafka_python.py BOOTSTRAP
Prints `PASS data_kafka_python` and exits 0 only when every check passed.
"""
import sys
import time
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import TopicAlreadyExistsError

BOOT = sys.argv[1].split(",")
CODECS = [None, "gzip", "snappy", "lz4", "zstd"]
PER_CODEC = 200
DEADLINE = time.monotonic() + 90


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


admin = KafkaAdminClient(bootstrap_servers=BOOT, request_timeout_ms=10000)
brokers = admin.describe_cluster()["brokers"]
if len(brokers) != 3:
    fail(f"expected 3 brokers, got {brokers}")
topic = f"kp-codecs-{uuid.uuid4().hex[:8]}"
admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=2)])
try:
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=2)])
    fail("creating an existing topic succeeded")
except TopicAlreadyExistsError:
    pass
described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
text = repr(described)
if "retention.ms" not in text or "cleanup.policy" not in text:
    fail(f"describe_configs of {topic}: {text[:500]}")
admin.close()

sent = {}
for idempotent in (False, True):
    for codec in CODECS:
        p = KafkaProducer(
            bootstrap_servers=BOOT,
            compression_type=codec,
            enable_idempotence=idempotent,
            acks="all" if idempotent else 1,
            linger_ms=5,
        )
        futures = []
        for i in range(PER_CODEC):
            value = f"{codec}-{idempotent}-{i}-".encode() + b"y" * 80
            key = f"k{i}".encode()
            futures.append(p.send(topic, value=value, key=key))
            sent[value] = key
        p.flush(timeout=30)
        for f in futures:
            f.get(timeout=30)
        p.close(timeout=10)

c = KafkaConsumer(bootstrap_servers=BOOT, enable_auto_commit=False, auto_offset_reset="earliest")
parts = [TopicPartition(topic, i) for i in range(3)]
c.assign(parts)
c.seek_to_beginning()
got = {}
while len(got) < len(sent):
    if time.monotonic() > DEADLINE:
        fail(f"timed out: consumed {len(got)} of {len(sent)}")
    for _, msgs in c.poll(timeout_ms=1000).items():
        for m in msgs:
            got[m.value] = m.key
ends = c.end_offsets(parts)
c.close()
if got != sent:
    fail(f"consumed {len(got)} messages that differ from the {len(sent)} sent")
if sum(ends.values()) != len(sent):
    fail(f"end offsets {ends} do not sum to {len(sent)}")

admin = KafkaAdminClient(bootstrap_servers=BOOT, request_timeout_ms=10000)
low = admin.delete_records({TopicPartition(topic, 0): 2})[TopicPartition(topic, 0)]
if low["error_code"] != 0 or low["low_watermark"] != 2:
    fail(f"delete_records: {low}")
admin.close()

print(f"OK {len(sent)} messages through {len(CODECS)} codecs, plain and idempotent")
print("PASS data_kafka_python")
