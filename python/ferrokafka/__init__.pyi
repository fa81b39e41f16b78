from . import errors as errors, structs as structs
from ._ferrokafka import FutureRecordMetadata as FutureRecordMetadata
from .consumer import ConsumerRebalanceListener as ConsumerRebalanceListener, KafkaConsumer as KafkaConsumer
from .partitioner import DefaultPartitioner as DefaultPartitioner, murmur2 as murmur2
from .producer import KafkaProducer as KafkaProducer
from .structs import OffsetAndMetadata as OffsetAndMetadata, TopicPartition as TopicPartition

__version__: str
__all__: list[str]
