"""Reads a compacted topic to its current end, proven by sentinels, not end offsets."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    Message,
    Producer,
    TopicPartition,
)

from connectors.kafka import config as kafka_config
from engage_sync.settings import KafkaSettings

SENTINEL_PREFIX = b"__sentinel__:"


def is_sentinel(key: bytes | None) -> bool:
    return bool(key) and key.startswith(SENTINEL_PREFIX)  # type: ignore[union-attr]


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    if meta.error is not None:
        raise RuntimeError(f"topic {topic}: {meta.error}")
    return sorted(meta.partitions)


def read_to_end(
    settings: KafkaSettings,
    topic: str,
    on_record: Callable[[Message], None],
    timeout: float = 300.0,
) -> None:
    """Feed every record of `topic` to `on_record`, then return.

    The embedded broker reports end offsets wrongly after batched produces, so instead
    of asking for them we append a tombstone sentinel to every partition and read until
    each partition has shown us its own sentinel (compaction later removes them).
    """
    consumer = Consumer(
        {
            **kafka_config.librdkafka(settings),
            "group.id": f"{settings.group_prefix}.snapshot",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        parts = _partitions(consumer, topic)
        marker = SENTINEL_PREFIX + uuid.uuid4().hex.encode()
        producer = Producer({**kafka_config.librdkafka(settings)})
        for p in parts:
            producer.produce(topic, value=None, key=marker, partition=p)
        if producer.flush(30):
            raise RuntimeError(f"could not write sentinels to {topic}")
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        waiting = set(parts)
        deadline = time.monotonic() + timeout
        while waiting:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{topic}: no sentinel back from partitions {waiting}"
                )
            for msg in consumer.consume(1000, 0.5):
                if msg.error():
                    continue
                if msg.key() == marker:
                    waiting.discard(msg.partition())
                elif not is_sentinel(msg.key()):
                    on_record(msg)
    finally:
        consumer.close()


def latest_values(
    settings: KafkaSettings, topic: str, timeout: float = 300.0
) -> dict[bytes, bytes]:
    """The latest value per key (tombstones remove keys)."""
    latest: dict[bytes, bytes] = {}

    def keep(msg: Message) -> None:
        key, value = msg.key() or b"", msg.value()
        if value is None:
            latest.pop(key, None)
        else:
            latest[key] = value

    read_to_end(settings, topic, keep, timeout)
    return latest


def follow(
    settings: KafkaSettings, topic: str, stop: Callable[[], bool]
) -> Iterator[Message]:
    """All of `topic` from the start, then new records as they come, until stop()."""
    consumer = Consumer(
        {
            **kafka_config.librdkafka(settings),
            "group.id": f"{settings.group_prefix}.follow",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        parts = _partitions(consumer, topic)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        while not stop():
            for msg in consumer.consume(100, 0.5):
                if not msg.error() and not is_sentinel(msg.key()):
                    yield msg
    finally:
        consumer.close()
