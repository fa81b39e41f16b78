"""An idempotent producer (librdkafka or kafka-python) against a mock whose
next Produce requests fail (errors pushed, a response dropped, a connection
closed) delivers every message exactly once and in order.

Usage: python faults_idempotent.py BOOTSTRAP TOPIC COUNT confluent|kafka-python
Prints `PASS faults_idempotent` and exits 0 only when every check passed.
"""
import sys
import time

BOOT, TOPIC, COUNT, CLIENT = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
DEADLINE = time.monotonic() + 100


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


values = [f"m{i:05d}".encode() for i in range(COUNT)]

if CLIENT == "confluent":
    from confluent_kafka import Consumer, Producer, TopicPartition

    p = Producer({
        "bootstrap.servers": BOOT,
        "enable.idempotence": True,
        "request.timeout.ms": 2000,
        "socket.timeout.ms": 3000,
        "message.timeout.ms": 60000,
        "linger.ms": 2,
        "batch.num.messages": 50,
        "retry.backoff.ms": 50,
    })
    errors = []
    for v in values:
        p.produce(TOPIC, value=v, partition=0, on_delivery=lambda e, m: e and errors.append(str(e)))
        p.poll(0)
    if p.flush(80) or errors:
        fail(f"undelivered or failed: {errors[:3]}")
    c = Consumer({"bootstrap.servers": BOOT, "group.id": "faults", "enable.auto.commit": False})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    got = []
    while len(got) < COUNT and time.monotonic() < DEADLINE:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    # Anything beyond COUNT would be a duplicate.
    extra = c.consume(num_messages=10, timeout=1.0)
    got.extend(m.value() for m in extra if not m.error())
    c.close()
else:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    p = KafkaProducer(
        bootstrap_servers=BOOT.split(","),
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=2000,
        retry_backoff_ms=50,
        linger_ms=2,
        batch_size=2000,
        max_in_flight_requests_per_connection=5,
    )
    futures = [p.send(TOPIC, value=v, partition=0) for v in values]
    p.flush(timeout=80)
    for f in futures:
        f.get(timeout=10)
    p.close(timeout=10)
    c = KafkaConsumer(bootstrap_servers=BOOT.split(","), enable_auto_commit=False)
    tp = TopicPartition(TOPIC, 0)
    c.assign([tp])
    c.seek_to_beginning()
    got = []
    while time.monotonic() < DEADLINE:
        batch = c.poll(timeout_ms=500)
        new = [m.value for msgs in batch.values() for m in msgs]
        got.extend(new)
        if len(got) >= COUNT and not new:
            break
    c.close()

if got != values:
    dups = len(got) - len(set(got))
    fail(f"read {len(got)} messages ({dups} duplicates), expected {COUNT} in order")
print(f"OK {CLIENT}: {COUNT} messages exactly once, in order, through the faults")
print("PASS faults_idempotent")
