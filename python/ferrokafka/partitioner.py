"""The default partitioner, as kafka-python's and Java's: murmur2 of the
serialized key; records without a key go to a random available partition.

``KafkaProducer`` uses the Rust core's equivalent (``murmur2_random``) when no
``partitioner`` is given or this class is; pass another callable to choose
partitions in Python."""

import random

from ._ferrokafka import murmur2

__all__ = ["DefaultPartitioner", "murmur2"]


class DefaultPartitioner:
    """Partitions like kafka-python's DefaultPartitioner."""

    def __call__(self, key, all_partitions, available):
        if key is None:
            if available:
                return random.choice(available)
            return random.choice(all_partitions)
        idx = (murmur2(key) & 0x7FFFFFFF) % len(all_partitions)
        return all_partitions[idx]
