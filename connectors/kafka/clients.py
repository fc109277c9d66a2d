"""confluent-kafka clients with the settings every role shares, and topic creation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, cast

from confluent_kafka import Consumer as _Consumer
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.kafka import config as kafka_config
from connectors.kafka.topics import TopicSpec
from engage_sync.settings import ConfigError, KafkaSettings

log = logging.getLogger(__name__)

# Header list as confluent-kafka's stub types it (values may also be str or None).
_KafkaHeaders = list[tuple[str, str | bytes | None]]


def _base(settings: KafkaSettings) -> dict[str, Any]:
    return {**kafka_config.librdkafka(settings)}


def producer(settings: KafkaSettings, **overrides: Any) -> Producer:
    conf = _base(settings) | {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "none",
    }
    return Producer(conf | overrides)


def consumer(settings: KafkaSettings, group_id: str, **overrides: Any) -> _Consumer:
    conf = _base(settings) | {
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": settings.session_timeout_ms,
        "heartbeat.interval.ms": max(500, settings.session_timeout_ms // 6),
        "partition.assignment.strategy": "cooperative-sticky",
    }
    return _Consumer(conf | overrides)


def admin(settings: KafkaSettings) -> AdminClient:
    return AdminClient(_base(settings))


def ensure_topics(
    settings: KafkaSettings, specs: Iterable[TopicSpec], timeout: float = 30.0
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created.

    Raises:
        ConfigError: the brokers cannot be reached or refuse the topics.
    """
    client = admin(settings)
    try:
        existing = set(client.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise ConfigError(
            f"cannot reach Kafka at {settings.bootstrap_servers} ({exc.args[0]}): "
            "check KAFKA_BOOTSTRAP_SERVERS"
        ) from None
    new = [
        NewTopic(
            s.name,
            num_partitions=s.partitions,
            replication_factor=settings.replication_factor,
            config=dict(s.config),
        )
        for s in specs
        if s.name not in existing
    ]
    if not new:
        return []
    created = []
    for name, future in client.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
            created.append(name)
        except KafkaException as exc:
            err = exc.args[0]
            if (
                isinstance(err, KafkaError)
                and err.code() == KafkaError.TOPIC_ALREADY_EXISTS
            ):
                continue
            raise ConfigError(f"cannot create topic {name}: {err}") from None
    return created


class DeliveryFailed(RuntimeError):
    """Kafka did not acknowledge a produced record."""


class AckingProducer:
    """A producer: `flush` proves every record since the last flush was acknowledged."""

    def __init__(self, settings: KafkaSettings, **overrides: Any) -> None:
        self._producer = producer(settings, **overrides)
        self._errors: list[str] = []
        self.pending = 0

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        self.pending -= 1
        if err is not None:
            self._errors.append(f"{msg.topic()}: {err}")

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        timestamp_ms: int = 0,
    ) -> None:
        while True:
            try:
                self._producer.produce(
                    topic,
                    value=value,
                    key=key,
                    # list is invariant, but produce only reads the headers.
                    headers=cast("_KafkaHeaders | None", headers),
                    timestamp=timestamp_ms,
                    on_delivery=self._on_delivery,
                )
                self.pending += 1
                break
            except BufferError:
                self._producer.poll(0.05)
        self._producer.poll(0)

    def flush(self, timeout: float = 60.0) -> None:
        """Block until every pending record is acknowledged.

        Raises:
            DeliveryFailed: a record was refused or timed out; nothing may be committed.
        """
        remaining = self._producer.flush(timeout)
        errors, self._errors = self._errors, []
        if remaining or errors:
            raise DeliveryFailed(
                f"{remaining} record(s) unacknowledged, errors: {errors[:3]}"
            )

    async def flush_async(self, wait_seconds: float = 60.0) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.flush, wait_seconds)
