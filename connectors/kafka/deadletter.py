"""Dead letters: the original key and value bytes plus Kafka Connect's error headers."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.kafka.clients import AckingProducer
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
        ("__connect.errors.topic", origin.topic.encode()),
        ("__connect.errors.partition", str(origin.partition).encode()),
        ("__connect.errors.offset", str(origin.offset).encode()),
        ("__connect.errors.exception.class.name", cls.encode()),
        ("__connect.errors.exception.message", message[:MAX_MESSAGE_CHARS].encode()),
        ("engage.errors.reason", reason.encode()),
    ]


class DeadLetters:
    """Sends records that cannot be processed to the dead-letter topic."""

    def __init__(self, producer: AckingProducer, topic: str) -> None:
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
