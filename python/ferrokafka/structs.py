"""kafka-python's record and offset tuples, with the same fields in the same
order, so code that indexes or unpacks them works unchanged."""

from collections import namedtuple

__all__ = [
    "TopicPartition",
    "OffsetAndMetadata",
    "OffsetAndTimestamp",
    "RecordMetadata",
    "ConsumerRecord",
    "MemberState",
    "ConsumerGroupMetadata",
]

TopicPartition = namedtuple("TopicPartition", ["topic", "partition"])
TopicPartition.__doc__ = "A topic and a partition id."

OffsetAndMetadata = namedtuple(
    "OffsetAndMetadata", ["offset", "metadata", "leader_epoch"], defaults=[None, "", -1]
)
OffsetAndMetadata.__doc__ = """A committed offset (the next record to consume),
the application's metadata string and the leader epoch (-1: unknown)."""

OffsetAndTimestamp = namedtuple("OffsetAndTimestamp", ["offset", "timestamp", "leader_epoch"])
OffsetAndTimestamp.__doc__ = """The answer of offsets_for_times: the offset of
the first record at or after the timestamp asked for."""

RecordMetadata = namedtuple(
    "RecordMetadata",
    [
        "topic",
        "partition",
        "topic_partition",
        "offset",
        "timestamp",
        "checksum",
        "serialized_key_size",
        "serialized_value_size",
        "serialized_header_size",
    ],
)
RecordMetadata.__doc__ = """Where an acknowledged record was written.

offset is -1 with acks=0; timestamp is the CreateTime given or taken at send,
or the broker's LogAppendTime when the topic uses it; checksum is None
(record batches v2 have no per-record checksum); the sizes are -1 for a None
key, a None value or no headers."""

ConsumerRecord = namedtuple(
    "ConsumerRecord",
    [
        "topic",
        "partition",
        "leader_epoch",
        "offset",
        "timestamp",
        "timestamp_type",
        "key",
        "value",
        "headers",
        "checksum",
        "serialized_key_size",
        "serialized_value_size",
        "serialized_header_size",
    ],
)
ConsumerRecord.__doc__ = """One consumed record. timestamp_type is 0 for
CreateTime and 1 for LogAppendTime; headers is a list of (str, bytes) pairs;
leader_epoch is -1 when unknown; checksum is None."""


class MemberState:
    """A consumer's group membership state, as kafka-python names it."""

    UNJOINED = "<unjoined>"
    REBALANCING = "<rebalancing>"
    STABLE = "<stable>"


ConsumerGroupMetadata = namedtuple(
    "ConsumerGroupMetadata",
    ["group_id", "generation_id", "member_id", "group_instance_id", "state"],
    defaults=[None, -1, "", None, MemberState.UNJOINED],
)
ConsumerGroupMetadata.__doc__ = """A consumer's group membership, from
KafkaConsumer.group_metadata(), for KafkaProducer.send_offsets_to_transaction:
the coordinator refuses the offsets of a member a rebalance replaced
(KIP-447). state is STABLE once the consumer holds a generation, UNJOINED
before; it plays no part in fencing."""
