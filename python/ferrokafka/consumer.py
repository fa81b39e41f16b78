"""``KafkaConsumer``: kafka-python's consumer API on ferrokafka's Rust consumer.

Keyword arguments are kafka-python's (``group_id``, ``auto_offset_reset``,
``enable_auto_commit``, ``key_deserializer``, ``max_poll_records``,
``consumer_timeout_ms``, ...), mapped onto ferrokafka's property table; an
unknown keyword raises ``UnrecognizedConfigError``, one the client cannot
honour ``KafkaConfigurationError``.

Threads and the GIL: ``poll`` and iteration release the GIL while they wait
(in slices of 100 ms, so Ctrl-C interrupts them) and run the deserializers
on the calling thread. A ``ConsumerRebalanceListener`` runs on the Rust
consumer's rebalance thread, with the GIL; the group waits for it before
giving revoked partitions up. ``commit_async`` commits on a thread of its own
and calls its callback there. Use one consumer from one thread at a time,
as with kafka-python.
"""

import threading
import time

from . import _ferrokafka
from . import errors as Errors
from .producer import _check_token_provider, _core_config
from .structs import (
    ConsumerGroupMetadata,
    MemberState,
    OffsetAndMetadata,
    OffsetAndTimestamp,
    TopicPartition,
)

__all__ = ["KafkaConsumer", "ConsumerRebalanceListener"]

_DEFAULTS = {
    "bootstrap_servers": "localhost",
    "client_id": None,
    "client_rack": None,
    "group_id": None,
    "group_instance_id": None,
    "key_deserializer": None,
    "value_deserializer": None,
    "enable_incremental_fetch_sessions": None,
    "fetch_max_wait_ms": 500,
    "fetch_min_bytes": None,
    "fetch_max_bytes": None,
    "max_partition_fetch_bytes": None,
    "request_timeout_ms": None,
    "retry_backoff_ms": None,
    "reconnect_backoff_ms": None,
    "reconnect_backoff_max_ms": None,
    "max_in_flight_requests_per_connection": None,
    "auto_offset_reset": "latest",
    "enable_auto_commit": True,
    "auto_commit_interval_ms": 5000,
    "default_offset_commit_callback": None,
    "check_crcs": None,
    "isolation_level": "read_uncommitted",
    "allow_auto_create_topics": True,
    "metadata_max_age_ms": None,
    "client_dns_lookup": None,
    "partition_assignment_strategy": None,
    "max_poll_records": 500,
    "max_poll_interval_ms": None,
    "session_timeout_ms": None,
    "heartbeat_interval_ms": None,
    "receive_buffer_bytes": None,
    "send_buffer_bytes": None,
    "receive_message_max_bytes": None,
    "socket_options": None,
    "consumer_timeout_ms": float("inf"),
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
    "connections_max_idle_ms": None,
    "metric_reporters": None,
    "metrics_enabled": None,
    "metrics_num_samples": None,
    "metrics_sample_window_ms": None,
    "metric_group_prefix": None,
    "selector": None,
    "exclude_internal_topics": None,
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

# Handled here, not by the core.
_PY_KEYS = {
    "key_deserializer",
    "value_deserializer",
    "consumer_timeout_ms",
    "max_poll_records",
    "default_offset_commit_callback",
    "partition_assignment_strategy",
    "auto_offset_reset",
    "enable_incremental_fetch_sessions",
    "metric_group_prefix",
    "exclude_internal_topics",
    "sasl_oauth_token_provider",
}

# kafka-python's assignor classes (by class name) and the core's names.
_ASSIGNORS = {
    "RangePartitionAssignor": "range",
    "RoundRobinPartitionAssignor": "roundrobin",
    "CooperativeStickyAssignor": "cooperative-sticky",
    "range": "range",
    "roundrobin": "roundrobin",
    "cooperative-sticky": "cooperative-sticky",
}

_RESETS = {
    "earliest": "earliest",
    "smallest": "earliest",
    "latest": "latest",
    "largest": "latest",
    "none": "error",
}


def _deserializer(d):
    """A deserializer as f(topic, headers, data): kafka-python 3's
    Deserializer objects or 2.x's plain callables."""
    if d is None:
        return None
    if hasattr(d, "deserialize"):
        return d.deserialize
    if callable(d):
        return lambda topic, headers, data: d(data)
    raise Errors.KafkaConfigurationError("deserializer %r is neither callable nor a Deserializer" % (d,))


def _assignors(value):
    names = []
    for a in value if isinstance(value, (list, tuple)) else [value]:
        key = a if isinstance(a, str) else getattr(a, "__name__", type(a).__name__)
        name = _ASSIGNORS.get(key) or _ASSIGNORS.get(getattr(a, "name", None))
        if name is None:
            raise Errors.KafkaConfigurationError(
                "partition_assignment_strategy: %r is not available (range, roundrobin, "
                "cooperative-sticky)" % (a,)
            )
        names.append(name)
    return ",".join(names)


class ConsumerRebalanceListener:
    """Told when the group changes this consumer's partitions (kafka-python's
    interface). Subclass and pass as ``subscribe(listener=...)``."""

    def on_partitions_revoked(self, revoked):
        pass

    def on_partitions_assigned(self, assigned):
        pass

    def on_partitions_lost(self, lost):
        self.on_partitions_revoked(lost)


class _CommitFuture:
    """The handle commit_async returns (kafka-python's Future subset)."""

    def __init__(self):
        self.is_done = False
        self.value = None
        self.exception = None
        self._event = threading.Event()

    def succeeded(self):
        return self.is_done and self.exception is None

    def failed(self):
        return self.is_done and self.exception is not None

    def get(self, timeout=None):
        if not self._event.wait(timeout):
            raise Errors.KafkaTimeoutError("Timeout after waiting for %s secs." % (timeout,))
        if self.exception is not None:
            raise self.exception
        return self.value


class KafkaConsumer:
    """A Kafka consumer with kafka-python's interface.

    ``KafkaConsumer(*topics, **configs)`` subscribes to ``topics`` (needs
    ``group_id``) when any are given. Iterate it for ConsumerRecords, or call
    ``poll()`` for ``{TopicPartition: [ConsumerRecord]}``.
    """

    DEFAULT_CONFIG = dict(_DEFAULTS)

    def __init__(self, *topics, **configs):
        self.config = dict(_DEFAULTS)
        self.config.update(configs)
        _check_token_provider(configs)
        pairs = _core_config(configs, _DEFAULTS, _PY_KEYS, "KafkaConsumer")
        reset = self.config["auto_offset_reset"]
        if reset not in _RESETS:
            raise Errors.KafkaConfigurationError(
                "auto_offset_reset: %r is not one of earliest, latest, none" % (reset,)
            )
        pairs.append(("auto.offset.reset", _RESETS[reset]))
        strategy = configs.get("partition_assignment_strategy")
        if strategy is not None:
            pairs.append(("partition.assignment.strategy", _assignors(strategy)))
        if self.config["group_id"] is None:
            # kafka-python: no group, no commits.
            pairs = [(k, v) for k, v in pairs if k not in ("enable_auto_commit", "auto_commit_interval_ms")]
        self._reset = _RESETS[reset]
        self._key_deserializer = _deserializer(configs.get("key_deserializer"))
        self._value_deserializer = _deserializer(configs.get("value_deserializer"))
        self._core = _ferrokafka.Consumer(pairs, configs.get("sasl_oauth_token_provider"))
        self._paused = set()
        self._buffer = []
        self._closed = False
        self._request_timeout = (self.config.get("request_timeout_ms") or 30000) / 1000.0
        if topics:
            self.subscribe(topics=topics)

    # -- assignment -----------------------------------------------------

    def _start(self):
        """Where an assigned partition starts: the committed offset with a
        group (auto_offset_reset when there is none), else the reset policy."""
        if self.config["group_id"] is not None:
            return "stored"
        return "beginning" if self._reset == "earliest" else "end"

    def assign(self, partitions):
        """Assigns these TopicPartitions (replacing any assignment)."""
        if self._core.subscription():
            raise Errors.IllegalStateError("Subscription to topics, partitions and pattern are mutually exclusive")
        kind = self._start()
        self._core.assign([(tp.topic, tp.partition, kind, 0) for tp in partitions])
        self._paused &= set(partitions)

    def group_metadata(self):
        """This consumer's group membership, for
        KafkaProducer.send_offsets_to_transaction (KIP-447 fencing); without
        a group_id, a ConsumerGroupMetadata with group_id None."""
        g = self._core.group_metadata()
        if g is None:
            return ConsumerGroupMetadata(group_id=None)
        group_id, generation, member_id, instance_id = g
        state = MemberState.STABLE if generation >= 0 and member_id else MemberState.UNJOINED
        return ConsumerGroupMetadata(group_id, generation, member_id, instance_id, state)

    def assignment(self):
        """The set of TopicPartitions assigned to this consumer."""
        return {TopicPartition(t, p) for t, p in self._core.assignment()}

    def subscribe(self, topics=(), pattern=None, listener=None):
        """Joins group_id for these topics, or the topics matching the
        regular expression ``pattern``; ``listener`` is a
        ConsumerRebalanceListener."""
        if isinstance(topics, str):
            topics = [topics]
        if bool(topics) == bool(pattern):
            raise Errors.IllegalStateError("You must choose topic(s) or a pattern, not both or neither")
        if self.config["group_id"] is None:
            raise Errors.KafkaConfigurationError("subscribe needs a group_id")
        names = list(topics) if topics else ["^" + pattern.lstrip("^") if isinstance(pattern, str) else "^" + pattern.pattern.lstrip("^")]
        bridge = None
        if listener is not None:
            if not isinstance(listener, ConsumerRebalanceListener) and not hasattr(listener, "on_partitions_assigned"):
                raise TypeError("listener must be a ConsumerRebalanceListener")

            def bridge(kind, parts):
                tps = {TopicPartition(t, p) for t, p in parts}
                if kind == "assigned":
                    listener.on_partitions_assigned(tps)
                elif kind == "revoked":
                    listener.on_partitions_revoked(tps)
                else:
                    lost = getattr(listener, "on_partitions_lost", None)
                    (lost or listener.on_partitions_revoked)(tps)

        self._core.subscribe(names, bridge)

    def subscription(self):
        """The set of subscribed topics (or patterns), None when not subscribed."""
        s = self._core.subscription()
        return set(s) if s else None

    def unsubscribe(self):
        """Leaves the group and drops the subscription."""
        self._core.unsubscribe()
        self._buffer = []

    # -- consuming ------------------------------------------------------

    def poll(self, timeout_ms=0, max_records=None, update_offsets=True):
        """Records fetched within timeout_ms, as {TopicPartition: [records]}
        with at most max_records (default max_poll_records) records."""
        if self._closed:
            raise Errors.IllegalStateError("KafkaConsumer is closed")
        if max_records is None:
            max_records = self.config["max_poll_records"]
        if max_records < 1:
            raise ValueError("max_records must be positive")
        return self._core.poll(
            max(0, timeout_ms) / 1000.0, max_records, self._key_deserializer, self._value_deserializer
        )

    def __iter__(self):
        return self

    def __next__(self):
        if self._buffer:
            return self._buffer.pop()
        timeout = self.config["consumer_timeout_ms"]
        deadline = None if timeout == float("inf") else time.monotonic() + timeout / 1000.0
        while True:
            left = 1000.0 if deadline is None else max(0.0, deadline - time.monotonic()) * 1000.0
            batch = self.poll(timeout_ms=min(left, 1000.0))
            records = [r for rs in batch.values() for r in rs]
            if records:
                records.reverse()
                self._buffer = records
                return self._buffer.pop()
            if deadline is not None and time.monotonic() >= deadline:
                raise StopIteration

    # -- positions ------------------------------------------------------

    def _parts(self, partitions):
        if not partitions:
            return sorted(self.assignment())
        for tp in partitions:
            if not isinstance(tp, TopicPartition):
                raise TypeError("partitions must be TopicPartition namedtuples")
        return list(partitions)

    def seek(self, partition, offset):
        """The next poll returns records of partition from offset."""
        if not isinstance(offset, int) or offset < 0:
            raise ValueError("offset must be a non-negative integer")
        self._core.seek(partition.topic, partition.partition, "offset", offset)
        self._drop_buffered({partition})

    def seek_to_beginning(self, *partitions):
        """Seeks these partitions (default: all assigned) to their first offset."""
        for tp in self._parts(partitions):
            self._core.seek(tp.topic, tp.partition, "beginning", 0)
        self._drop_buffered(set(self._parts(partitions)))

    def seek_to_end(self, *partitions):
        """Seeks these partitions (default: all assigned) to their end."""
        for tp in self._parts(partitions):
            self._core.seek(tp.topic, tp.partition, "end", 0)
        self._drop_buffered(set(self._parts(partitions)))

    def _drop_buffered(self, tps):
        self._buffer = [r for r in self._buffer if TopicPartition(r.topic, r.partition) not in tps]

    def position(self, partition, timeout_ms=None):
        """The offset of the next record of partition; waits (up to
        timeout_ms, default request_timeout_ms) until it is known."""
        if partition not in self.assignment():
            raise Errors.IllegalStateError("You can only check the position for partitions assigned to this consumer.")
        limit = self._request_timeout if timeout_ms is None else timeout_ms / 1000.0
        deadline = time.monotonic() + limit
        while True:
            p = self._core.position(partition.topic, partition.partition)
            if p is not None:
                return p
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)

    def highwater(self, partition):
        """The last high watermark seen in a fetch of partition, else None."""
        return self._core.highwater(partition.topic, partition.partition)

    def pause(self, *partitions):
        """Stops fetching these partitions until resume."""
        self._core.pause([(tp.topic, tp.partition) for tp in partitions])
        self._paused.update(partitions)
        self._drop_buffered(set(partitions))

    def resume(self, *partitions):
        """Resumes paused partitions."""
        self._core.resume([(tp.topic, tp.partition) for tp in partitions])
        self._paused.difference_update(partitions)

    def paused(self):
        """The set of paused partitions."""
        return set(self._paused) & self.assignment()

    def beginning_offsets(self, partitions, timeout_ms=None):
        """{TopicPartition: first offset} of partitions."""
        t = self._timeout(timeout_ms)
        return {tp: self._core.watermarks(tp.topic, tp.partition, t)[0] for tp in partitions}

    def end_offsets(self, partitions, timeout_ms=None):
        """{TopicPartition: offset of the next record to be written}."""
        t = self._timeout(timeout_ms)
        return {tp: self._core.watermarks(tp.topic, tp.partition, t)[1] for tp in partitions}

    def offsets_for_times(self, timestamps, timeout_ms=None):
        """{TopicPartition: OffsetAndTimestamp or None}: the first record at
        or after each timestamp (ms). The tuple's timestamp is the one asked
        for (the core's lookup does not return the record's own), its
        leader_epoch -1."""
        for tp, ts in timestamps.items():
            if ts < 0:
                raise ValueError("The target time for partition %s is %s. The target time cannot be negative." % (tp, ts))
        query = [(tp.topic, tp.partition, ts) for tp, ts in timestamps.items()]
        found = self._core.offsets_for_times(query, self._timeout(timeout_ms))
        out = {}
        for (t, p, off), (tp, ts) in zip(found, timestamps.items()):
            out[tp] = None if off < 0 else OffsetAndTimestamp(off, ts, -1)
        return out

    def _timeout(self, timeout_ms):
        return self._request_timeout if timeout_ms is None else timeout_ms / 1000.0

    # -- commits --------------------------------------------------------

    def _entries(self, offsets):
        out = []
        for tp, om in offsets.items():
            if isinstance(om, int):
                out.append((tp.topic, tp.partition, om, ""))
            else:
                out.append((tp.topic, tp.partition, om.offset, om.metadata or ""))
        return out

    def commit(self, offsets=None):
        """Commits the offsets of the records returned so far (None) or
        {TopicPartition: OffsetAndMetadata}; waits for the coordinator."""
        if self.config["group_id"] is None:
            raise Errors.IllegalStateError("Requires group_id")
        self._core.commit(None if offsets is None else self._entries(offsets))

    def commit_async(self, offsets=None, callback=None):
        """Commits on a background thread; callback(offsets, exception or
        None) runs there. Returns a future with get()."""
        if self.config["group_id"] is None:
            raise Errors.IllegalStateError("Requires group_id")
        future = _CommitFuture()
        callback = callback or self.config.get("default_offset_commit_callback")

        def run():
            try:
                self.commit(offsets)
            except Exception as e:  # handed to the future and callback
                future.exception = e
            future.is_done = True
            future._event.set()
            if callback is not None:
                callback(offsets, future.exception)

        threading.Thread(target=run, name="ferrokafka-commit", daemon=True).start()
        return future

    def committed(self, partition, metadata=False):
        """The group's committed offset of partition (None: none), or its
        OffsetAndMetadata with metadata=True."""
        if self.config["group_id"] is None:
            raise Errors.IllegalStateError("Requires group_id")
        (_, _, off, epoch, meta), = self._core.committed(
            [(partition.topic, partition.partition)], self._request_timeout
        )
        if off is None:
            return None
        return OffsetAndMetadata(off, meta, epoch) if metadata else off

    # -- metadata -------------------------------------------------------

    def partitions_for_topic(self, topic):
        """The set of partition ids of topic, None when it does not exist."""
        p = self._core.partitions_for(topic, self._request_timeout)
        return None if p is None else set(p)

    def topics(self):
        """The set of the cluster's topics (internal ones excluded)."""
        return {t for t, _ in self._core.topics(self._request_timeout)}

    def bootstrap_connected(self):
        """Whether a bootstrap broker answers."""
        return self._core.bootstrap_connected()

    def metrics(self, raw=False):
        """Consumer figures as a dict (the core keeps few so far)."""
        msgs, nbytes = self._core.queued()
        return {"consumer-fetch-manager-metrics": {"records-queued": msgs, "bytes-queued": nbytes}}

    def close(self, autocommit=True, timeout_ms=None):
        """Commits (with enable_auto_commit), leaves the group and stops."""
        if self._closed:
            return
        self._closed = True
        self._core.close(self._timeout(timeout_ms))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


