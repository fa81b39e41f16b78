"""ferrokafka: kafka-python's KafkaProducer and KafkaConsumer on a Rust core.

Switch by changing the import::

    from ferrokafka import KafkaProducer, KafkaConsumer

Errors are in ``ferrokafka.errors`` and tuples in ``ferrokafka.structs``, by
kafka-python's names. Threads: see ``KafkaProducer`` (callbacks run on the
producer's ``ferrokafka-delivery`` thread) and ``KafkaConsumer``.
"""

import functools as _functools
import logging as _logging

from . import errors, structs
from . import _ferrokafka

_log = _logging.getLogger("ferrokafka")


def _callback_failed(exc):
    _log.error("Error processing callback", exc_info=(type(exc), exc, exc.__traceback__))


_ferrokafka.init(
    errors._from_core,
    structs.RecordMetadata,
    structs.TopicPartition,
    structs.ConsumerRecord,
    _callback_failed,
    _functools.partial,
)

from .producer import KafkaProducer  # noqa: E402
from .consumer import KafkaConsumer, ConsumerRebalanceListener  # noqa: E402
from .structs import TopicPartition, OffsetAndMetadata  # noqa: E402
from .partitioner import DefaultPartitioner, murmur2  # noqa: E402

FutureRecordMetadata = _ferrokafka.FutureRecordMetadata
__version__ = _ferrokafka.__version__

__all__ = [
    "KafkaProducer",
    "KafkaConsumer",
    "ConsumerRebalanceListener",
    "TopicPartition",
    "OffsetAndMetadata",
    "FutureRecordMetadata",
    "DefaultPartitioner",
    "murmur2",
    "errors",
    "structs",
]
