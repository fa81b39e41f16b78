"""librdkafka (confluent-kafka) as a client of the mock's TLS and SASL
listeners: produce and consume back with the given security settings, or,
with mode "badpass", check that a wrong password is reported as
_AUTHENTICATION. Prints PASS on success; any failure exits non-zero."""
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer

bootstrap, protocol, ca, mechanism, user, password, topic, mode = sys.argv[1:9]

conf = {"bootstrap.servers": bootstrap, "security.protocol": protocol}
if ca != "-":
    conf["ssl.ca.location"] = ca
if mechanism == "OAUTHBEARER":
    conf.update({
        "sasl.mechanisms": mechanism,
        "enable.sasl.oauthbearer.unsecure.jwt": True,
        "sasl.oauthbearer.config": f"principal={user} extension_traceId=lib",
    })
elif mechanism != "-":
    conf.update({"sasl.mechanisms": mechanism, "sasl.username": user, "sasl.password": password})

if mode == "badpass":
    errors = []
    p = Producer(dict(conf, error_cb=lambda e: errors.append(e)))
    deadline = time.time() + 20
    while time.time() < deadline and not any(
        e.code() == KafkaError._AUTHENTICATION for e in errors
    ):
        p.poll(0.2)
    codes = [e.code() for e in errors]
    assert KafkaError._AUTHENTICATION in codes, f"no _AUTHENTICATION: {errors}"
    print("PASS badpass", errors[0])
    sys.exit(0)

n = 50
p = Producer(conf)
failures = []
for i in range(n):
    p.produce(topic, key=f"k{i}", value=f"v{i}",
              on_delivery=lambda err, msg: err and failures.append(err))
left = p.flush(20)
assert left == 0 and not failures, f"undelivered {left}, failures {failures}"

c = Consumer(dict(conf, **{"group.id": "sec", "auto.offset.reset": "earliest"}))
c.subscribe([topic])
seen = set()
deadline = time.time() + 30
while len(seen) < n and time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF:
            continue
        raise SystemExit(f"consumer error: {m.error()}")
    assert m.value() == f"v{m.key().decode()[1:]}".encode(), m.value()
    seen.add(m.key())
c.close()
assert len(seen) == n, f"read {len(seen)} of {n}"
print("PASS", protocol, mechanism)
