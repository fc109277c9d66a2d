"""In-memory stand-ins for the processors' ports (producer, parked index), so unit
tests reach the processors without a broker."""

from __future__ import annotations

from typing import Any

from connectors.kafka.serde import Serde


class RecordingProducer:
    """The producer port: keeps what was produced, in order; flushing is instant."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        timestamp_ms: int = 0,
    ) -> None:
        self.sent.append((topic, value, key))

    def flush(self, timeout: float = 60.0) -> None:
        return None

    async def flush_async(self, wait_seconds: float = 60.0) -> None:
        return None

    def decoded(self, topic: str, schema: str) -> list[dict[str, Any]]:
        """The values produced to `topic`, decoded (tombstones left out)."""
        serde = Serde()
        return [serde.decode(schema, v) for t, v, _ in self.sent if t == topic and v]


class MemoryParkedIndex:
    """The parked-activities port."""

    loaded = True

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def load(self) -> None:
        return None

    def add(self, item: dict[str, Any]) -> None:
        self.items[item["event_id"]] = item

    def remove(self, event_id: str) -> None:
        self.items.pop(event_id, None)

    def for_contact(self, ecid: str) -> list[dict[str, Any]]:
        return [i for i in self.items.values() if i["engage_contact_id"] == ecid]

    def held(self, reason: str, user_id: str | None = None) -> list[dict[str, Any]]:
        return [
            i
            for i in self.items.values()
            if i["reason"] == reason
            and (user_id is None or i["activity"].get("user_id") == user_id)
        ]

    def reason(self, ecid: str, event_id: str) -> str | None:
        item = self.items.get(event_id)
        return None if item is None else str(item["reason"])
