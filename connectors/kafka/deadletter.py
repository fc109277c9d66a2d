"""Dead letters: the original key and value bytes plus Kafka Connect's error headers."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.kafka import dlq_headers as names
from connectors.kafka.ports import Producer
from engage_sync import metrics

MAX_MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class Origin:
    """Where a record came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = 0


def error_headers(
    origin: Origin, error: BaseException | str, reason: str
) -> list[tuple[str, bytes]]:
    """Kafka Connect's `__connect.errors.*` names, so standard tooling can read them."""
    if isinstance(error, BaseException):
        cls = f"{type(error).__module__}.{type(error).__qualname__}"
        message = str(error)
    else:
        cls, message = "engage_sync.Refused", error
    return [
        (names.TOPIC, origin.topic.encode()),
        (names.PARTITION, str(origin.partition).encode()),
        (names.OFFSET, str(origin.offset).encode()),
        (names.EXCEPTION_CLASS, cls.encode()),
        (names.EXCEPTION_MESSAGE, message[:MAX_MESSAGE_CHARS].encode()),
        (names.REASON, reason.encode()),
    ]


class DeadLetters:
    """Sends records that cannot be processed to the dead-letter topic."""

    def __init__(self, producer: Producer, topic: str) -> None:
        self._producer = producer
        self.topic = topic

    def send(self, origin: Origin, error: BaseException | str, reason: str) -> None:
        metrics.DEAD_LETTERS.labels(metrics.process(), reason).inc()
        self._producer.produce(
            self.topic,
            value=origin.value,
            key=origin.key,
            headers=error_headers(origin, error, reason),
            timestamp_ms=origin.timestamp_ms,
        )
