"""Fixtures: one broker per test session and the client module under test
(kafka-python's ``kafka`` or ``ferrokafka``).

The broker is the ``ferrokafka mock`` command of this repository's CLI
(target/debug or target/release, or $FERROKAFKA_MOCK_BIN); it prints
``BOOTSTRAP=...`` first and takes control commands on standard input.

With $FERROKAFKA_TEST_BOOTSTRAP set, the same tests run against that broker
instead (Apache Kafka, started by the Rust test
``crates/ferrokafka-cli/tests/python_apache_kafka.rs``): topics are created
with kafka-python's admin client, so no code of ours decides what the broker
was told, and a test that needs the mock's fault controls is skipped there.
"""

import importlib
import os
import queue
import subprocess
import threading
import time
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _mock_binary():
    env = os.environ.get("FERROKAFKA_MOCK_BIN")
    if env:
        return env
    for profile in ("debug", "release"):
        path = os.path.join(ROOT, "target", profile, "ferrokafka")
        if os.access(path, os.X_OK):
            return path
    raise RuntimeError(
        "no ferrokafka binary: run `cargo build -p ferrokafka-cli` or set FERROKAFKA_MOCK_BIN"
    )


class Mock:
    """A running `ferrokafka mock` with its control channel."""

    def __init__(self, brokers=3, args=()):
        self.proc = subprocess.Popen(
            [_mock_binary(), "mock", "--brokers", str(brokers), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self._line(timeout=30)
        if not first.startswith("BOOTSTRAP="):
            raise RuntimeError("unexpected first line from the mock: %r" % first)
        self.bootstrap = first.split("=", 1)[1]
        self._lock = threading.Lock()

    def _read(self):
        for line in self.proc.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def _line(self, timeout):
        line = self._lines.get(timeout=timeout)
        if line is None:
            raise RuntimeError("the mock exited")
        return line

    def command(self, line):
        """Sends one control command; returns after its `ok`."""
        with self._lock:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
            answer = self._line(timeout=10)
        if answer != "ok":
            raise RuntimeError("mock command %r: %s" % (line, answer))

    def topic(self, partitions=1, prefix="t"):
        """A new topic with `partitions` partitions."""
        name = "%s-%s" % (prefix, uuid.uuid4().hex[:10])
        self.command("create %s %d" % (name, partitions))
        return name

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class ExternalBroker:
    """A broker this session did not start; the `Mock` interface minus its
    fault controls."""

    def __init__(self, bootstrap):
        from kafka.admin import KafkaAdminClient

        self.bootstrap = bootstrap
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="pytest-admin")

    def command(self, line):
        pytest.skip("needs the mock's fault controls (%r)" % line.split()[0])

    def topic(self, partitions=1, prefix="t"):
        """A new topic with `partitions` partitions, its leaders known to
        the broker before it is returned."""
        from kafka.admin import NewTopic

        name = "%s-%s" % (prefix, uuid.uuid4().hex[:10])
        self.admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)],
            timeout_ms=30000,
        )
        for _ in range(100):
            described = self.admin.describe_topics([name])
            parts = described[0].get("partitions", []) if described else []
            if len(parts) == partitions and all(p.get("leader_id", -1) >= 0 for p in parts):
                return name
            time.sleep(0.1)
        raise RuntimeError("topic %s got no leaders within 10 s" % name)

    def close(self):
        self.admin.close()


# The SASL user of `sasl_mock`.
SASL_USER, SASL_PASSWORD = "alice", "alice-secret"


@pytest.fixture(scope="session")
def sasl_mock():
    """A mock that requires SASL (PLAIN, SCRAM, OAUTHBEARER with unsecured
    JWTs) with the user SASL_USER; tests needing it are skipped against an
    external broker (its listener is plaintext)."""
    if os.environ.get("FERROKAFKA_TEST_BOOTSTRAP"):
        pytest.skip("needs the mock's SASL listener")
    m = Mock(brokers=1, args=["--sasl-user", "%s:%s" % (SASL_USER, SASL_PASSWORD)])
    yield m
    m.close()


@pytest.fixture(scope="session")
def mock():
    external = os.environ.get("FERROKAFKA_TEST_BOOTSTRAP")
    m = ExternalBroker(external) if external else Mock()
    yield m
    m.close()


class Client:
    """The API under test: a module exposing kafka-python's names."""

    def __init__(self, name):
        self.name = name
        self.mod = importlib.import_module(name)
        self.errors = importlib.import_module(name + ".errors")
        self.structs = importlib.import_module(name + ".structs")
        self.KafkaProducer = self.mod.KafkaProducer
        self.KafkaConsumer = self.mod.KafkaConsumer
        self.TopicPartition = self.structs.TopicPartition
        self.OffsetAndMetadata = self.structs.OffsetAndMetadata
        if name == "kafka":
            from kafka import ConsumerRebalanceListener
        else:
            from ferrokafka import ConsumerRebalanceListener
        self.ConsumerRebalanceListener = ConsumerRebalanceListener
        if name == "kafka":
            from kafka.net.sasl.oauth import AbstractTokenProvider
        else:
            from ferrokafka.sasl.oauth import AbstractTokenProvider
        self.AbstractTokenProvider = AbstractTokenProvider

    def __repr__(self):
        return self.name


@pytest.fixture(params=["kafka", "ferrokafka"], scope="module")
def client(request):
    """Runs a test once with kafka-python and once with ferrokafka."""
    return Client(request.param)


@pytest.fixture(scope="module")
def kafka_python():
    return Client("kafka")


@pytest.fixture(scope="module")
def ferro():
    return Client("ferrokafka")
