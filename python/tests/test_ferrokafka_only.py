"""What ferrokafka promises beyond kafka-python's documented behaviour:
construction-time refusals, Ctrl-C during blocking calls, and the threads
callbacks run on."""

import signal
import threading
import time

import pytest

import ferrokafka
from ferrokafka import errors


def test_unknown_keyword_is_a_configuration_error(mock):
    with pytest.raises(errors.KafkaConfigurationError) as info:
        ferrokafka.KafkaProducer(bootstrap_servers=mock.bootstrap, lingerms=5)
    assert "lingerms" in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(errors.KafkaConfigurationError):
        ferrokafka.KafkaConsumer(bootstrap_servers=mock.bootstrap, group=1)


@pytest.mark.parametrize(
    "kw",
    [
        # GSSAPI is not built; SASL settings without a SASL protocol are a
        # forgotten security_protocol. Both are refused, never ignored.
        {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "GSSAPI"},
        {"sasl_mechanism": "PLAIN", "sasl_plain_username": "u", "sasl_plain_password": "p"},
        {"ssl_context": object()},
        # kafka-python refuses this pair too.
        {"transactional_id": "tx", "enable_idempotence": False},
        {"acks": 7},
        {"compression_type": "brotli"},
    ],
)
def test_settings_the_client_cannot_honour_are_refused(mock, kw):
    with pytest.raises(errors.KafkaConfigurationError) as info:
        ferrokafka.KafkaProducer(bootstrap_servers=mock.bootstrap, **kw)
    assert any(k in str(info.value) or k.replace("_", ".") in str(info.value) for k in kw)


def test_murmur2_matches_kafka_python():
    from kafka.partitioner.default import murmur2

    for data in [b"", b"a", b"ab", b"abc", b"abcd", b"21", b"key-17", bytes(range(256))]:
        assert ferrokafka.murmur2(data) == murmur2(data) & 0xFFFFFFFF


def test_callbacks_run_on_the_delivery_thread(mock):
    topic = mock.topic(1)
    # A long linger keeps every record queued until flush: a callback added
    # to a future that is already done runs at once in the adding thread
    # (kafka-python's rule), which a fast broker would otherwise make racy.
    p = ferrokafka.KafkaProducer(bootstrap_servers=mock.bootstrap, linger_ms=5000)
    names = []
    fs = [p.send(topic, b"v").add_callback(lambda m: names.append(threading.current_thread().name)) for _ in range(20)]
    p.flush(timeout=10)
    # flush returns after the callbacks of the records it waited for ran.
    assert len(names) == 20 and set(names) == {"ferrokafka-delivery"}
    assert [f.get(1).offset for f in fs] == list(range(20))
    p.close()


def test_flush_from_a_callback_does_not_deadlock(mock):
    topic = mock.topic(1)
    p = ferrokafka.KafkaProducer(bootstrap_servers=mock.bootstrap)
    flushed = threading.Event()

    def cb(_):
        p.flush(timeout=5)
        flushed.set()

    p.send(topic, b"v").add_callback(cb)
    p.flush(timeout=10)
    assert flushed.wait(10)
    p.close()


def _interrupt_after(seconds):
    main = threading.main_thread().ident
    # A shell starts background jobs with SIGINT ignored, and Python then
    # installs no handler of its own: raise KeyboardInterrupt regardless.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def fire():
        time.sleep(seconds)
        signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=fire, daemon=True).start()


def test_ctrl_c_interrupts_get_and_flush(mock):
    topic = mock.topic(1)
    p = ferrokafka.KafkaProducer(bootstrap_servers=mock.bootstrap)
    p.partitions_for(topic)
    for b in (1, 2, 3):
        mock.command("rtt %d 3000" % b)
    try:
        f = p.send(topic, b"v")
        for call in (lambda: f.get(timeout=30), lambda: p.flush(timeout=30)):
            _interrupt_after(0.3)
            t0 = time.monotonic()
            with pytest.raises(KeyboardInterrupt):
                call()
            assert time.monotonic() - t0 < 2
    finally:
        for b in (1, 2, 3):
            mock.command("rtt %d 0" % b)
    f.get(timeout=30)
    p.close()


def test_ctrl_c_interrupts_poll(mock):
    topic = mock.topic(1)
    c = ferrokafka.KafkaConsumer(bootstrap_servers=mock.bootstrap)
    c.assign([ferrokafka.TopicPartition(topic, 0)])
    _interrupt_after(0.3)
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        c.poll(timeout_ms=30000)
    assert time.monotonic() - t0 < 2
    c.close()


def test_get_timeout_raises_kafka_timeout_error(mock):
    topic = mock.topic(1)
    p = ferrokafka.KafkaProducer(bootstrap_servers=mock.bootstrap)
    p.partitions_for(topic)
    mock.command("rtt 1 2000")
    mock.command("rtt 2 2000")
    mock.command("rtt 3 2000")
    try:
        f = p.send(topic, b"v")
        with pytest.raises(errors.KafkaTimeoutError):
            f.get(timeout=0.2)
        with pytest.raises(errors.KafkaTimeoutError):
            p.flush(timeout=0.2)
    finally:
        for b in (1, 2, 3):
            mock.command("rtt %d 0" % b)
    assert f.get(timeout=30).offset == 0
    p.close()


def test_close_fails_what_is_left_and_send_after_close_is_refused(mock):
    topic = mock.topic(1)
    p = ferrokafka.KafkaProducer(bootstrap_servers=mock.bootstrap)
    assert p.bootstrap_connected()
    p.close()
    p.close()
    with pytest.raises(errors.IllegalStateError):
        p.send(topic, b"v")


def test_metrics_is_a_dict(mock):
    topic = mock.topic(1)
    p = ferrokafka.KafkaProducer(bootstrap_servers=mock.bootstrap)
    p.send(topic, b"v").get(timeout=10)
    m = p.metrics(raw=True)
    assert m["producer-metrics"]["record-send-total"] == 1
    assert "ferrokafka" in m
    p.close()




def test_ctrl_c_interrupts_send_waiting_for_metadata():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = ferrokafka.KafkaProducer(bootstrap_servers="127.0.0.1:%d" % port, max_block_ms=30000)
    _interrupt_after(0.3)
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        p.send("t", b"v")
    assert time.monotonic() - t0 < 2
    p.close(timeout=1)


def test_records_buffered_at_exit_are_delivered(mock):
    import subprocess
    import sys

    topic = mock.topic(1)
    script = (
        "import ferrokafka\n"
        "p = ferrokafka.KafkaProducer(bootstrap_servers=%r, linger_ms=2000)\n"
        "p.send(%r, b'at-exit')\n" % (mock.bootstrap, topic)
    )
    out = subprocess.run([sys.executable, "-c", script], timeout=60, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    c = ferrokafka.KafkaConsumer(bootstrap_servers=mock.bootstrap, auto_offset_reset="earliest")
    c.assign([ferrokafka.TopicPartition(topic, 0)])
    got = []
    deadline = time.monotonic() + 20
    while not got and time.monotonic() < deadline:
        got = [r.value for rs in c.poll(timeout_ms=200).values() for r in rs]
    c.close()
    assert got == [b"at-exit"]


def test_send_with_a_wrong_sasl_password_names_authentication(sasl_mock):
    """A metadata wait that cannot succeed raises its cause, not only
    "Failed to update metadata", and at once rather than at max_block_ms."""
    from conftest import SASL_USER

    p = ferrokafka.KafkaProducer(
        bootstrap_servers=sasl_mock.bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_plain_username=SASL_USER,
        sasl_plain_password="not-the-password",
        max_block_ms=20000,
    )
    started = time.monotonic()
    try:
        with pytest.raises(errors.KafkaError) as info:
            p.send("auth-topic", b"v").get(timeout=30)
        assert "authenticat" in str(info.value).lower(), str(info.value)
        assert isinstance(info.value, errors.AuthenticationFailedError), repr(info.value)
        assert time.monotonic() - started < 15
    finally:
        p.close(timeout=5)
