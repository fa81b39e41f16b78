"""``KafkaProducer``: kafka-python's producer API on ferrokafka's Rust producer.

Keyword arguments are kafka-python's; each is mapped onto ferrokafka's
property table (the Rust core knows kafka-python's names and converts units,
see CONFIGURATION.md). Python objects (serializers, a partitioner) are
handled here. An unknown keyword raises ``UnrecognizedConfigError`` (both a
``KafkaConfigurationError`` and kafka-python 3's ``ValueError``); a keyword
the client cannot honour (a TLS/SASL setting this build does not implement,
an ``ssl_context`` object) raises
``KafkaConfigurationError`` at construction, naming it.

Threads and the GIL: ``send`` serializes and partitions on the calling
thread, then releases the GIL while it waits for metadata or buffer space
(up to ``max_block_ms``). ``get``, ``flush`` and ``close`` release the GIL and
wait in slices of 100 ms, so Ctrl-C interrupts them. Callbacks added with
``add_callback``/``add_errback`` run on the producer's ``ferrokafka-delivery``
daemon thread, in completion order, with the GIL; a callback added to a
future that is already done runs at once on the adding thread. The producer
is safe to share between threads.
"""

import atexit
import threading
import weakref

from . import _ferrokafka
from . import errors as Errors
from .partitioner import DefaultPartitioner

__all__ = ["KafkaProducer"]

# kafka-python's KafkaProducer keywords (2.x and 3.x). The value is the
# default this package applies when the keyword is not given (None: the
# Rust core's default).
_DEFAULTS = {
    "bootstrap_servers": "localhost",
    "client_id": None,
    "key_serializer": None,
    "value_serializer": None,
    "enable_idempotence": None,  # decided in _idempotence()
    "transactional_id": None,
    "transaction_timeout_ms": None,
    "delivery_timeout_ms": 120000,
    "acks": None,  # the core's default is all, as kafka-python 3's
    "compression_type": None,
    "retries": None,
    "batch_size": None,
    "linger_ms": 0,
    "partitioner": None,
    "connections_max_idle_ms": None,
    "max_block_ms": 60000,
    "max_request_size": 1048576,
    "allow_auto_create_topics": True,
    "metadata_max_age_ms": None,
    "client_dns_lookup": None,
    "retry_backoff_ms": None,
    "retry_backoff_max_ms": None,
    "request_timeout_ms": None,
    "receive_message_max_bytes": None,
    "receive_buffer_bytes": None,
    "send_buffer_bytes": None,
    "socket_options": None,
    "sock_chunk_bytes": None,
    "sock_chunk_buffer_count": None,
    "reconnect_backoff_ms": None,
    "reconnect_backoff_max_ms": None,
    "max_in_flight_requests_per_connection": None,
    "security_protocol": None,
    "ssl_context": None,
    "ssl_check_hostname": None,
    "ssl_cafile": None,
    "ssl_certfile": None,
    "ssl_keyfile": None,
    "ssl_crlfile": None,
    "ssl_password": None,
    "ssl_ciphers": None,
    "api_version": None,
    "api_version_auto_timeout_ms": None,
    "bootstrap_timeout_ms": None,
    "metric_reporters": None,
    "metrics_enabled": None,
    "metrics_num_samples": None,
    "metrics_sample_window_ms": None,
    "selector": None,
    "sasl_mechanism": None,
    "sasl_plain_username": None,
    "sasl_plain_password": None,
    "sasl_kerberos_name": None,
    "sasl_kerberos_service_name": None,
    "sasl_kerberos_domain_name": None,
    "sasl_oauth_token_provider": None,
    "proxy_url": None,
    "socks5_proxy": None,
    "kafka_client": None,
}

# Keywords whose value is a Python object this client cannot use.
_PY_OBJECTS = {
    "ssl_context": "a Python SSLContext cannot be used; give ssl_cafile, ssl_certfile and ssl_keyfile",
    "selector": "a Python selector class has no meaning here",
    "kafka_client": "a Python client class has no meaning here",
    "metric_reporters": "Python metric reporters cannot be loaded; read metrics() instead",
    "socket_options": "raw socket options are not configurable",
}

# Keywords mapped to a Rust property under another name than the core's
# alias table gives (kafka-python's acks/retries/partitioner are spelled like
# librdkafka's names there).
_RENAMES = {"acks": "acks", "retries": "retries"}


def _text(name, value):
    """A keyword's Python value as the core's property text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if name == "bootstrap_servers" and isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if name == "api_version" and isinstance(value, tuple):
        return ".".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _core_config(given, defaults, py_keys, client):
    """kafka-python keywords -> (property, text) pairs for the Rust core.

    ``given`` are the user's keywords, ``defaults`` the package defaults,
    ``py_keys`` the keywords handled in Python. Raises
    UnrecognizedConfigError for unknown keywords and KafkaConfigurationError
    for Python objects the core cannot use.
    """
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise Errors.UnrecognizedConfigError(
            "Unrecognized configs for %s: %s" % (client, ", ".join(unknown))
        )
    pairs = []
    for name in defaults:
        if name in py_keys:
            continue
        value = given[name] if name in given else defaults[name]
        if value is None:
            continue
        if name in _PY_OBJECTS:
            if value in ([], ()):
                continue
            raise Errors.KafkaConfigurationError("%s: %s" % (name, _PY_OBJECTS[name]))
        if name == "retries" and value == float("inf"):
            continue
        pairs.append((_RENAMES.get(name, name), _text(name, value)))
    return pairs


def _check_token_provider(given):
    """sasl_oauth_token_provider must have a token() method (kafka-python
    checks for its AbstractTokenProvider; any such object serves here)."""
    p = given.get("sasl_oauth_token_provider")
    if p is not None and not callable(getattr(p, "token", None)):
        raise Errors.KafkaConfigurationError(
            "sasl_oauth_token_provider must implement ferrokafka.sasl.oauth.AbstractTokenProvider "
            "(a token() method), got %r" % (p,)
        )


def _idempotence(given):
    """kafka-python 3 enables idempotence unless the settings conflict with
    it; an explicit enable_idempotence=True with conflicting settings is an
    error (raised by the core)."""
    if given.get("enable_idempotence") is not None:
        return bool(given["enable_idempotence"])
    acks = given.get("acks")
    if acks is not None and str(acks) not in ("all", "-1"):
        return False
    if given.get("retries") == 0:
        return False
    mif = given.get("max_in_flight_requests_per_connection")
    if mif is not None and mif > 5:
        return False
    return True


def _serializer(s):
    """A serializer as f(topic, headers, data): kafka-python 3's Serializer
    objects (serialize(topic, headers, data)) or 2.x's plain callables."""
    if s is None:
        return None
    if hasattr(s, "serialize"):
        return s.serialize
    if callable(s):
        return lambda topic, headers, data: s(data)
    raise Errors.KafkaConfigurationError("serializer %r is neither callable nor a Serializer" % (s,))


class _ClusterView:
    """The metadata a kafka-python 3 Partitioner object asks for."""

    def __init__(self, producer):
        self._producer = producer

    def partitions_for_topic(self, topic):
        return self._producer.partitions_for(topic)

    def available_partitions_for_topic(self, topic):
        return self._producer.partitions_for(topic)


class KafkaProducer:
    """A Kafka producer with kafka-python's interface.

    ``KafkaProducer(**configs)`` takes kafka-python's keyword arguments
    (``bootstrap_servers``, ``acks``, ``linger_ms``, ``key_serializer``, ...).
    Defaults follow kafka-python 3: acks='all', idempotence on unless the
    settings conflict, linger_ms=0, delivery_timeout_ms=120000,
    max_block_ms=60000, allow_auto_create_topics=True, murmur2 partitioning
    of keyed records and sticky spreading of keyless ones.
    """

    DEFAULT_CONFIG = dict(_DEFAULTS)

    def __init__(self, **configs):
        self.config = dict(_DEFAULTS)
        self.config.update(configs)
        _check_token_provider(configs)
        self._transactional = configs.get("transactional_id") is not None
        if self._transactional and configs.get("enable_idempotence") is False:
            raise Errors.KafkaConfigurationError("Cannot set transactional_id without enable_idempotence.")
        py_keys = {
            "key_serializer",
            "value_serializer",
            "partitioner",
            "enable_idempotence",
            "sasl_oauth_token_provider",
        }
        defaults = dict(_DEFAULTS)
        if self._transactional and "delivery_timeout_ms" not in configs:
            # A record may not outlive its transaction (the core refuses
            # delivery_timeout_ms > transaction_timeout_ms): without an
            # explicit value the delivery timeout is the transaction's, as
            # librdkafka lowers message.timeout.ms.
            defaults["delivery_timeout_ms"] = configs.get("transaction_timeout_ms") or 60000
            self.config["delivery_timeout_ms"] = defaults["delivery_timeout_ms"]
        pairs = _core_config(configs, defaults, py_keys, "KafkaProducer")
        pairs.append(("enable.idempotence", "true" if _idempotence(configs) else "false"))
        partitioner = configs.get("partitioner")
        if partitioner is None or isinstance(partitioner, DefaultPartitioner):
            # The core's murmur2_random is kafka-python's default partitioner.
            pairs.append(("partitioner", "murmur2_random"))
            self._partitioner = None
        elif hasattr(partitioner, "partition"):
            self._partitioner = self._object_partitioner(partitioner)
        elif callable(partitioner):
            self._partitioner = partitioner
        else:
            raise Errors.KafkaConfigurationError("partitioner %r is not callable" % (partitioner,))
        self._key_serializer = _serializer(configs.get("key_serializer"))
        self._value_serializer = _serializer(configs.get("value_serializer"))
        self._raw_key_serializer = configs.get("key_serializer")
        self._raw_value_serializer = configs.get("value_serializer")
        self._core = _ferrokafka.Producer(pairs, configs.get("sasl_oauth_token_provider"))
        self._closed = False
        if self._key_serializer is None and self._value_serializer is None and self._partitioner is None:
            # Nothing to do in Python per record: the native method has
            # send's signature and checks (one call instead of two frames).
            self.send = self._core.send_kp
        self._delivery = threading.Thread(
            target=self._core.run_deliveries, name="ferrokafka-delivery", daemon=True
        )
        self._delivery.start()
        # As kafka-python: records still buffered at interpreter exit are
        # delivered (close() flushes) unless the producer was closed.
        self._cleanup = _cleanup_for(weakref.ref(self))
        atexit.register(self._cleanup)

    def _object_partitioner(self, p):
        cluster = _ClusterView(self)

        def choose(key_bytes, all_partitions, available, topic, key, value, value_bytes):
            return p.partition(topic, key, key_bytes, value, value_bytes, cluster)

        choose._ferrokafka_object = True
        return choose

    def send(self, topic, value=None, key=None, headers=None, partition=None, timestamp_ms=None):
        """Publishes a record; returns a FutureRecordMetadata at once.

        value None with a key is a tombstone; neither key nor value is a
        ValueError. headers is a list of (str, bytes) pairs. Waits up to
        max_block_ms for the topic's metadata and for buffer space, then
        raises KafkaTimeoutError.
        """
        if self._closed:
            raise Errors.IllegalStateError("KafkaProducer already closed!")
        if value is None and key is None:
            raise ValueError("Need at least one: key or value")
        if headers is not None:
            if not isinstance(headers, list):
                raise TypeError("headers must be list-type")
            for item in headers:
                if not (
                    isinstance(item, tuple)
                    and len(item) == 2
                    and isinstance(item[0], str)
                    and isinstance(item[1], (bytes, type(None)))
                ):
                    raise TypeError("All headers items must be (str, bytes) tuples")
        hs = headers if headers is not None else []
        key_bytes = key if self._key_serializer is None else self._key_serializer(topic, hs, key)
        value_bytes = (
            value if self._value_serializer is None else self._value_serializer(topic, hs, value)
        )
        key_bytes = _as_bytes(key_bytes, "key")
        value_bytes = _as_bytes(value_bytes, "value")
        if partition is not None:
            if partition < 0:
                raise ValueError("partition must be >= 0")
        elif self._partitioner is not None:
            parts = sorted(self.partitions_for(topic))
            if getattr(self._partitioner, "_ferrokafka_object", False):
                partition = self._partitioner(key_bytes, parts, parts, topic, key, value, value_bytes)
            else:
                partition = self._partitioner(key_bytes, parts, parts)
            if partition is None:
                raise ValueError("Partitioner did not assign a partition for topic %s!" % (topic,))
        return self._core.send(topic, key_bytes, value_bytes, headers, partition, timestamp_ms)

    def flush(self, timeout=None):
        """Sends everything buffered now and waits (up to timeout seconds)
        until every record sent before is done and its callbacks have run;
        raises KafkaTimeoutError when the timeout passes first."""
        self._core.flush(timeout)

    def close(self, timeout=None, null_logger=False):
        """Flushes for up to timeout seconds (None: without limit), then fails
        what is left and stops. Idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._cleanup)
        try:
            self._core.close(timeout)
        finally:
            for s in (self._raw_key_serializer, self._raw_value_serializer):
                close = getattr(s, "close", None)
                if callable(close):
                    close()

    def partitions_for(self, topic):
        """The set of partition ids of topic; waits up to max_block_ms for
        metadata, then raises KafkaTimeoutError."""
        return set(self._core.partitions_for(topic))

    def bootstrap_connected(self):
        """Whether a bootstrap broker answers."""
        return self._core.bootstrap_connected()

    def metrics(self, raw=False):
        """Producer statistics as a dict: {'producer-metrics': {...}} with
        kafka-python's names for the figures the core keeps; with raw=True
        the core's statistics (librdkafka's field names) as well, under
        'ferrokafka'."""
        import json

        stats = json.loads(self._core.stats_json())
        partitions = [
            p
            for t in stats.get("topics", {}).values()
            for p in t.get("partitions", {}).values()
        ]
        # Every record produced to a partition is queued, in flight,
        # delivered or failed: the failed ones are what is left.
        failed = sum(
            max(0, p["msgs"] - p["msgq_cnt"] - p["msgs_inflight"] - p["txmsgs"])
            for p in partitions
            if p["partition"] >= 0
        )
        out = {
            "producer-metrics": {
                "record-send-total": stats.get("txmsgs", 0),
                "record-error-total": failed,
                "byte-total": stats.get("tx_bytes", 0),
                "records-in-buffer": stats.get("msg_cnt", 0),
                "buffer-available-bytes": max(
                    0, stats.get("msg_size_max", 0) - stats.get("msg_size", 0)
                ),
                "requests-in-flight": sum(
                    b.get("waitresp_cnt", 0) for b in stats.get("brokers", {}).values()
                ),
            }
        }
        if raw:
            out["ferrokafka"] = stats
        return out

    # Transactions (transactional_id set). Each call releases the GIL and
    # can be interrupted with Ctrl-C; init_transactions, send_offsets and
    # commit/abort wait up to max_block_ms (KafkaTimeoutError: call again to
    # resume). Errors are kafka-python's classes: ProducerFencedError and
    # the other fatal errors leave the producer unusable; after an abortable
    # error call abort_transaction and go on.
    def _transactions(self, what):
        if not self._transactional:
            raise Errors.IllegalStateError(what)

    def init_transactions(self):
        """Fences older producers with this transactional_id, completes or
        aborts their open transaction, and takes the producer id and epoch.
        Call once, before any other transactional method."""
        self._transactions("Cannot call init_transactions without setting a transactional_id.")
        self._core.init_transactions()

    def begin_transaction(self):
        """Starts a transaction: records sent from now on belong to it."""
        self._transactions("Cannot use transactional methods without enabling transactions")
        self._core.begin_transaction()

    def send_offsets_to_transaction(self, offsets, group_metadata):
        """Commits ``offsets`` ({TopicPartition: OffsetAndMetadata or int})
        for the consumer group when the transaction commits.
        ``group_metadata`` is KafkaConsumer.group_metadata() (the
        coordinator then fences a replaced member) or a bare group id."""
        self._transactions("Cannot use transactional methods without enabling transactions")
        if isinstance(group_metadata, str):
            group = (group_metadata, -1, "", None)
        elif isinstance(group_metadata, tuple) and hasattr(group_metadata, "group_id"):
            if group_metadata.group_id is None:
                raise Errors.IllegalStateError("send_offsets_to_transaction: the consumer has no group_id")
            group = (
                group_metadata.group_id,
                group_metadata.generation_id,
                group_metadata.member_id or "",
                group_metadata.group_instance_id,
            )
        else:
            raise TypeError(
                "send_offsets_to_transaction expects group_metadata to be a "
                "ConsumerGroupMetadata or a group_id str, got %r" % (type(group_metadata),)
            )
        pairs = []
        for tp, om in offsets.items():
            offset = om if isinstance(om, int) else om.offset
            metadata = None if isinstance(om, int) else om.metadata
            if metadata:
                # The transactional offset commit carries no metadata here:
                # refused rather than dropped.
                raise Errors.KafkaConfigurationError(
                    "send_offsets_to_transaction: offset metadata is not supported (got %r for %s)"
                    % (metadata, tp)
                )
            pairs.append((tp.topic, tp.partition, offset))
        self._core.send_offsets_to_transaction(pairs, group)

    def commit_transaction(self):
        """Flushes the transaction's records, then commits it."""
        self._transactions("Cannot commit transaction since transactions are not enabled")
        self._core.commit_transaction()

    def abort_transaction(self):
        """Aborts the transaction: its records are never read by
        read_committed consumers and its offsets are not committed."""
        self._transactions("Cannot abort transaction since transactions are not enabled.")
        self._core.abort_transaction()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<ferrokafka.KafkaProducer client_id=%s>" % (self.config.get("client_id"),)


def _cleanup_for(ref):
    def cleanup():
        producer = ref()
        if producer is not None:
            producer.close()

    return cleanup


def _as_bytes(data, what):
    if data is None or type(data) is bytes:
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError("Unsupported type for serialized %s: %s" % (what, type(data)))

