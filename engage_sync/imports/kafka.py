"""The import's Kafka ends: the producer of ADDED events and the results reader."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from confluent_kafka import TopicPartition

from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import DecodeError, Serde
from ground.settings import KafkaSettings


class KafkaResults:
    """`salesforce.results` read by partition and offset (assign only: no group)."""

    def __init__(self, kafka: KafkaSettings, topic: str, serde: Serde) -> None:
        self.kafka, self.topic, self.serde = kafka, topic, serde

    def ends(self) -> dict[str, int]:
        with TopicReader.open(self.kafka) as reader:
            found = reader.ends([self.topic])
        return {str(p): offset for (_, p), offset in found.items()}

    def follow(
        self, offsets: dict[str, int], stop: Callable[[], bool]
    ) -> Iterator[list[tuple[int, int, dict[str, Any]]]]:
        with TopicReader.open(self.kafka) as reader:
            parts = reader.partitions(self.topic)
            reader.consumer.assign(
                [TopicPartition(self.topic, p, offsets.get(str(p), 0)) for p in parts]
            )
            while not stop():
                batch = []
                for msg in reader.consumer.consume(500, 0.5):
                    if msg.error() is not None:
                        continue
                    try:
                        result = self.serde.decode("WriteResult", msg.value())
                    except DecodeError:
                        continue  # not ours to judge: the writer's reader dead-letters
                    batch.append((msg.partition() or 0, msg.offset() or 0, result))
                yield batch
