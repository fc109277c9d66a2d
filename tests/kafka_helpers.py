"""Read whole topics in tests by fetching: embedded broker end offsets can be wrong."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    TopicPartition,
)

from connectors.kafka import config as kafka_config
from connectors.kafka.clients import admin
from connectors.kafka.snapshot import is_sentinel
from ground.settings import KafkaSettings


def is_tansu(settings: KafkaSettings) -> bool:
    """The embedded Tansu broker (it names its cluster `tansu_cluster`), whose
    ListOffsets and group descriptions differ from Apache Kafka's."""
    cluster = admin(settings).list_topics(timeout=10).cluster_id or ""
    return cluster.startswith("tansu")


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    timestamp_ms: int

    @classmethod
    def of(cls, msg: Message) -> Record:
        """A consumed record, its headers as a dict (a missing value as b"")."""
        return cls(
            msg.topic() or "",
            msg.partition() or 0,
            msg.offset() or 0,
            msg.key(),
            msg.value(),
            dict((k, v or b"") for k, v in (msg.headers() or [])),
            msg.timestamp()[1],
        )


def read_topic(
    settings: KafkaSettings,
    topic: str,
    expect: int | None = None,
    idle: float = 2.0,
    timeout: float = 90.0,
) -> list[Record]:
    """Read a topic from the start until `expect` records arrived; without `expect`,
    until every partition was read to its end (end-of-partition, from Fetch, right on
    both brokers), then on until `idle` seconds pass with nothing new."""
    consumer = Consumer(
        {
            **kafka_config.librdkafka(settings),
            "group.id": "unused-test-reader",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions]
        )
        unread = set(meta.partitions)  # partitions not yet read to their end
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        last_seen = time.monotonic()
        while time.monotonic() < deadline:
            if expect is not None and len(records) >= expect:
                # Linger briefly so a surplus (a duplicate) would be seen too.
                if time.monotonic() - last_seen > min(idle, 1.0):
                    break
            elif expect is None and not unread and time.monotonic() - last_seen > idle:
                break
            for msg in consumer.consume(500, 0.2):
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF and unread:
                        unread.discard(msg.partition() or 0)
                        last_seen = time.monotonic()
                    continue
                if is_sentinel(msg.key()):
                    continue  # sentinels: tombstones our snapshot readers append
                last_seen = time.monotonic()
                records.append(Record.of(msg))
        return records
    finally:
        consumer.close()
