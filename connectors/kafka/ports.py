"""The producer port: what processors and dead letters need of Kafka's producer.

`AckingProducer` is the real adapter; tests/ports.py's `RecordingProducer` the fake.
"""

from __future__ import annotations

from typing import Protocol


class Producer(Protocol):
    """Kafka's producer as the processor uses it: flushes prove acknowledgement."""

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        timestamp_ms: int = 0,
    ) -> None:
        """Queue one record."""
        ...

    def flush(self, timeout: float = 60.0) -> None:
        """Return once this caller's records are acknowledged; raise if not."""
        ...

    async def flush_async(self, wait_seconds: float = 60.0) -> None:
        """`flush`, awaited."""
        ...
