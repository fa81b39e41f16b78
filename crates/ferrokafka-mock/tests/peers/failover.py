"""A producer (librdkafka or kafka-python) keeps producing while the mock
moves the partition leader and takes brokers down and up; afterwards every
message is in the log exactly once, in order.

Usage: python failover.py BOOTSTRAP TOPIC COUNT SECONDS confluent|kafka-python
Prints `PASS failover` and exits 0 only when every check passed.
"""
import sys
import time

BOOT, TOPIC, COUNT, SECONDS, CLIENT = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
DEADLINE = time.monotonic() + 100
values = [f"f{i:05d}".encode() for i in range(COUNT)]
pause = SECONDS / COUNT


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


if CLIENT == "confluent":
    from confluent_kafka import Consumer, Producer, TopicPartition

    p = Producer({
        "bootstrap.servers": BOOT,
        "enable.idempotence": True,
        "socket.timeout.ms": 3000,
        "message.timeout.ms": 60000,
        "retry.backoff.ms": 50,
        "topic.metadata.refresh.interval.ms": 500,
        "linger.ms": 1,
    })
    errors = []
    for v in values:
        p.produce(TOPIC, value=v, partition=0, on_delivery=lambda e, m: e and errors.append(str(e)))
        p.poll(0)
        time.sleep(pause)
    if p.flush(80) or errors:
        fail(f"undelivered or failed: {errors[:3]}")
    c = Consumer({"bootstrap.servers": BOOT, "group.id": "failover", "enable.auto.commit": False})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    got = []
    while len(got) < COUNT and time.monotonic() < DEADLINE:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    got.extend(m.value() for m in c.consume(num_messages=10, timeout=1.0) if not m.error())
    c.close()
else:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    p = KafkaProducer(
        bootstrap_servers=BOOT.split(","),
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=3000,
        retry_backoff_ms=50,
        metadata_max_age_ms=500,
        linger_ms=1,
    )
    futures = []
    for v in values:
        futures.append(p.send(TOPIC, value=v, partition=0))
        time.sleep(pause)
    p.flush(timeout=80)
    for f in futures:
        f.get(timeout=10)
    p.close(timeout=10)
    c = KafkaConsumer(bootstrap_servers=BOOT.split(","), enable_auto_commit=False)
    c.assign([TopicPartition(TOPIC, 0)])
    c.seek_to_beginning()
    got = []
    while time.monotonic() < DEADLINE:
        new = [m.value for msgs in c.poll(timeout_ms=500).values() for m in msgs]
        got.extend(new)
        if len(got) >= COUNT and not new:
            break
    c.close()

if got != values:
    fail(f"read {len(got)} messages ({len(got) - len(set(got))} duplicates), expected {COUNT} in order")
print(f"OK {CLIENT}: {COUNT} messages exactly once across leader moves and broker restarts")
print("PASS failover")
