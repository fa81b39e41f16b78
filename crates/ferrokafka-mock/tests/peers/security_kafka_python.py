"""kafka-python as a client of the mock's SSL, SASL_PLAINTEXT and SASL_SSL
listeners: produce and consume back, with SCRAM or PLAIN over SASL.
Arguments: bootstrap, protocol, CA file ("-" without TLS), mechanism ("-"
without SASL), user, password, topic. Prints PASS on success."""
import sys

from kafka import KafkaConsumer, KafkaProducer

bootstrap, protocol, ca, mechanism, user, password, topic = sys.argv[1:8]
conf = dict(bootstrap_servers=bootstrap.split(","), security_protocol=protocol)
if ca != "-":
    conf["ssl_cafile"] = ca
if mechanism != "-":
    conf.update(
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
print("PASS kafka-python", protocol, mechanism)
