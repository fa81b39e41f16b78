"""kafka-python as a client of the mock's SASL_SSL listener: produce and
consume back with SCRAM or PLAIN. Prints PASS on success."""
import sys

from kafka import KafkaConsumer, KafkaProducer

bootstrap, ca, mechanism, user, password, topic = sys.argv[1:7]
conf = dict(
    bootstrap_servers=bootstrap.split(","),
    security_protocol="SASL_SSL",
    ssl_cafile=ca,
    sasl_mechanism=mechanism,
    sasl_plain_username=user,
    sasl_plain_password=password,
)
n = 20
p = KafkaProducer(**conf)
for i in range(n):
    p.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode()).get(timeout=20)
p.close()
c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=15000, **conf)
seen = set()
for m in c:
    assert m.value == b"v" + m.key[1:], m
    seen.add(m.key)
    if len(seen) == n:
        break
c.close()
assert len(seen) == n, f"read {len(seen)} of {n}"
print("PASS kafka-python", mechanism)
