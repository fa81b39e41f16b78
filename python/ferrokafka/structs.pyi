from typing import Any, NamedTuple, Optional

class TopicPartition(NamedTuple):
    topic: str
    partition: int

class OffsetAndMetadata(NamedTuple):
    offset: Optional[int] = None
    metadata: str = ""
    leader_epoch: int = -1

class OffsetAndTimestamp(NamedTuple):
    offset: int
    timestamp: int
    leader_epoch: int

class RecordMetadata(NamedTuple):
    topic: str
    partition: int
    topic_partition: TopicPartition
    offset: int
    timestamp: int
    checksum: Optional[int]
    serialized_key_size: int
    serialized_value_size: int
    serialized_header_size: int

class ConsumerRecord(NamedTuple):
    topic: str
    partition: int
    leader_epoch: int
    offset: int
    timestamp: int
    timestamp_type: int
    key: Any
    value: Any
    headers: list[tuple[str, Optional[bytes]]]
    checksum: Optional[int]
    serialized_key_size: int
    serialized_value_size: int
    serialized_header_size: int

class MemberState:
    UNJOINED: str
    REBALANCING: str
    STABLE: str

class ConsumerGroupMetadata(NamedTuple):
    group_id: Optional[str] = None
    generation_id: int = -1
    member_id: str = ""
    group_instance_id: Optional[str] = None
    state: str = "<unjoined>"
