"""The producer port: what the agents and dead letters need of a Kafka producer.

`clients.AckingProducer` is the real adapter; unit tests pass
`tests.ports.RecordingProducer`. It sits here, not beside the writer's ports in
`connectors/salesforce/ports.py`, because `deadletter.py` takes it and the
Salesforce side already imports the Kafka side (never the other way).
"""

from __future__ import annotations

from typing import Protocol


class Producer(Protocol):
    """Produce records and prove they are durable before anything depends on them."""

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        timestamp_ms: int = 0,
    ) -> None:
        """Queue one record (a `None` value is a tombstone)."""
        ...

    def flush(self, timeout: float = 60.0) -> None:
        """Return once every record this caller queued is acknowledged; raise if one
        was refused or timed out (the caller then commits nothing that needs it)."""
        ...

    async def flush_async(self, wait_seconds: float = 60.0) -> None:
        """`flush` for the calling asyncio task, without blocking the event loop."""
        ...
