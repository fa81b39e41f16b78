"""Fixtures: one ferrokafka mock cluster per test session and the client
module under test (kafka-python's ``kafka`` or ``ferrokafka``).

The mock is the ``ferrokafka mock`` command of this repository's CLI
(target/debug or target/release, or $FERROKAFKA_MOCK_BIN); it prints
``BOOTSTRAP=...`` first and takes control commands on standard input.
"""

import importlib
import os
import queue
import subprocess
import threading
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

    def __init__(self, brokers=3):
        self.proc = subprocess.Popen(
            [_mock_binary(), "mock", "--brokers", str(brokers)],
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


@pytest.fixture(scope="session")
def mock():
    m = Mock()
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
