#!/usr/bin/env python3
"""Records real Kafka traffic as seed inputs for ferrokafka's fuzz targets.

A recording TCP proxy sits in front of a Tansu broker that advertises the
proxy's address, so every connection of the clients goes through it. Then
kafka-python and confluent-kafka (librdkafka) create topics, produce with
every codec (plain and idempotent), and fetch. Each frame is written to:

  requests/   one request frame, size prefix removed (input of mock_request)
  responses/  one byte holding the API version, then the response body
              (header removed) of ApiVersions, Metadata or FindCoordinator:
              the input of response_decode (ferrokafka::net::fuzzing)
  frames/     one byte (the chunk size the target reads with), then the raw
              byte stream of a connection's responses, size prefixes
              included: the input of frame_reader

Usage: capture.py TANSU_BINARY OUT_DIR   (run from the repo's .venv python)
Seeds are deduplicated by content; frames above 64 KiB are skipped.
"""

import hashlib
import os
import socket
import struct
import subprocess
import sys
import threading
import time

MAX_SEED = 64 * 1024
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Recorder:
    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()
        self.seen = set()
        for sub in ("requests", "responses", "frames"):
            os.makedirs(os.path.join(out, sub), exist_ok=True)

    def save(self, kind, data, label):
        if not data or len(data) > MAX_SEED:
            return
        digest = hashlib.sha1(data).hexdigest()[:16]
        with self.lock:
            if digest in self.seen:
                return
            self.seen.add(digest)
        with open(os.path.join(self.out, kind, "%s-%s" % (label, digest)), "wb") as f:
            f.write(data)


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(sock):
    prefix = read_exact(sock, 4)
    if prefix is None:
        return None
    (size,) = struct.unpack(">i", prefix)
    body = read_exact(sock, size)
    return None if body is None else body


# API key -> first version whose response header is flexible (v1: tagged
# fields after the correlation id). ApiVersions always answers with v0.
DECODED = {18: None, 3: 9, 10: 3}


def response_body(key, ver, frame):
    """The body of a response the net fuzz entry decodes, else None."""
    if key not in DECODED:
        return None
    flexible_from = DECODED[key]
    body = frame[4:]
    if flexible_from is not None and ver >= flexible_from:
        if not body or body[0] != 0:
            return None  # tagged header fields: not produced by the peers here
        body = body[1:]
    return body


def pump_requests(client, server, inflight, rec):
    while True:
        frame = read_frame(client)
        if frame is None:
            break
        api_key, api_version, corr = struct.unpack(">hhi", frame[:8])
        inflight[corr] = (api_key, api_version)
        rec.save("requests", frame, "k%02d-v%d" % (api_key, api_version))
        server.sendall(struct.pack(">i", len(frame)) + frame)
    server.shutdown(socket.SHUT_WR)


def pump_responses(client, server, inflight, rec):
    stream = bytearray()
    while True:
        frame = read_frame(server)
        if frame is None:
            break
        (corr,) = struct.unpack(">i", frame[:4])
        key, ver = inflight.pop(corr, (-1, -1))
        body = response_body(key, ver, frame)
        if body is not None:
            rec.save("responses", bytes([ver]) + body, "k%02d-v%d" % (key, ver))
        if len(stream) + len(frame) + 4 <= MAX_SEED:
            stream += struct.pack(">i", len(frame)) + frame
        client.sendall(struct.pack(">i", len(frame)) + frame)
    rec.save("frames", bytes([7]) + bytes(stream), "conn")
    try:
        client.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def guarded(fn):
    """A pump ends quietly when either side hangs up."""
    def run(*args):
        try:
            fn(*args)
        except OSError:
            pass
    return run


def proxy(listener, upstream_port, rec):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        server = socket.create_connection(("127.0.0.1", upstream_port))
        inflight = {}
        for fn in (pump_requests, pump_responses):
            threading.Thread(target=guarded(fn), args=(client, server, inflight, rec), daemon=True).start()


def kafka_python_traffic(bootstrap):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    admin.create_topics([NewTopic("seed-kp-%s" % c, 2, 1) for c in CODECS])
    admin.describe_topics(["seed-kp-none"])
    admin.close()
    for codec in CODECS:
        for idempotent in (False, True):
            p = KafkaProducer(
                bootstrap_servers=bootstrap,
                compression_type=None if codec == "none" else codec,
                enable_idempotence=idempotent,
                acks="all" if idempotent else 1,
                linger_ms=5,
            )
            for i in range(20):
                p.send("seed-kp-%s" % codec, key=b"k%d" % i, value=b"v" * (i * 7),
                       headers=[("h", b"x%d" % i)] if i % 3 == 0 else None)
            p.send("seed-kp-%s" % codec, key=b"tomb", value=None)
            p.flush(timeout=20)
            p.close(timeout=5)
    c = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=3000,
                      enable_auto_commit=False, auto_offset_reset="earliest")
    parts = [TopicPartition("seed-kp-%s" % codec, p) for codec in CODECS for p in (0, 1)]
    c.assign(parts)
    c.seek_to_beginning()
    n = sum(1 for _ in c)
    c.close()
    print("kafka-python: consumed %d records" % n)


def librdkafka_traffic(bootstrap):
    from confluent_kafka import Consumer, Producer, TopicPartition

    for codec in CODECS:
        for idempotent in (False, True):
            p = Producer({
                "bootstrap.servers": bootstrap,
                "compression.codec": codec,
                "enable.idempotence": idempotent,
                "linger.ms": 5,
                "topic.metadata.propagation.max.ms": 5000,
            })
            for i in range(20):
                p.produce("seed-kp-%s" % codec, key=b"r%d" % i, value=b"w" * (i * 5),
                          headers=[("h", b"y")] if i % 4 == 0 else None)
            p.flush(20)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "seed", "enable.auto.commit": False})
    c.assign([TopicPartition("seed-kp-%s" % codec, p, 0) for codec in CODECS for p in (0, 1)])
    n, deadline = 0, time.time() + 5
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            n += 1
    c.close()
    print("librdkafka: consumed %d records" % n)


def main():
    tansu_bin, out = sys.argv[1], sys.argv[2]
    rec = Recorder(out)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    proxy_port = listener.getsockname()[1]
    tansu_port = free_port()
    tansu = subprocess.Popen(
        [tansu_bin, "broker",
         "--listener-url", "tcp://127.0.0.1:%d" % tansu_port,
         "--advertised-listener-url", "tcp://127.0.0.1:%d" % proxy_port,
         "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", tansu_port)).close()
                break
            except OSError:
                time.sleep(0.1)
        threading.Thread(target=proxy, args=(listener, tansu_port, rec), daemon=True).start()
        bootstrap = "127.0.0.1:%d" % proxy_port
        kafka_python_traffic(bootstrap)
        librdkafka_traffic(bootstrap)
        time.sleep(1)
    finally:
        tansu.kill()
        tansu.wait()
        listener.close()
    time.sleep(0.5)
    for sub in ("requests", "responses", "frames"):
        print("%s: %d seeds" % (sub, len(os.listdir(os.path.join(out, sub)))))


if __name__ == "__main__":
    main()
