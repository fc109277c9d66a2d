"""Poll cursors, kept durably on the compacted `engage.poller.state` topic."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from connectors.kafka.clients import AckingProducer
from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import Serde
from connectors.kafka.snapshot import latest_values
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings


def _ms(value: object) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value or 0)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Cursor:
    """All up to (stamp_ms, last_id) in `(SystemModstamp, Id)` order is published."""

    object: str
    kind: str  # "incremental" | "history"
    stamp_ms: int
    last_id: str | None = None
    seen: frozenset[str] = field(default_factory=frozenset)
    started_ms: int | None = None
    done: bool = False
    # For history: records published over every run, and the count at the last start.
    read: int = 0
    total: int | None = None
    updated_ms: int | None = None  # when it was saved (as loaded; None when unsaved)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.object}"

    def advanced(
        self, stamp_ms: int, last_id: str | None, seen: frozenset[str]
    ) -> Cursor:
        return replace(self, stamp_ms=stamp_ms, last_id=last_id, seen=seen)


class CursorStore:
    """Reads all cursors once at start; writes each new position and awaits the ack."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.topic = Topics(kafka).poller_state.name
        self.serde = Serde.for_kafka(kafka)
        # Made at the first save: readers (status, console progress) write nothing.
        self._producer: AckingProducer | None = None
        self._cursors: dict[str, Cursor] = {}

    def load(self) -> CursorStore:
        with TopicReader.open(self.kafka) as reader:
            latest = latest_values(reader, self.topic)
        for key, value in latest.items():
            record = self.serde.decode("PollerState", value)
            self._cursors[key.decode()] = Cursor(
                object=record["object"],
                kind=record["kind"],
                stamp_ms=_ms(record["system_modstamp"]),
                last_id=record["last_id"],
                seen=frozenset(record["seen"]),
                started_ms=_ms(record["started_at"]) if record["started_at"] else None,
                done=record["done"],
                read=record.get("read") or 0,
                total=record.get("total"),
                updated_ms=_ms(record["updated_at"]),
            )
        return self

    def all(self) -> list[Cursor]:
        """Every cursor loaded or saved so far."""
        return list(self._cursors.values())

    def get(self, kind: str, obj: str) -> Cursor | None:
        return self._cursors.get(f"{kind}:{obj}")

    def save(self, cursor: Cursor) -> None:
        now = datetime.now(UTC)
        record = {
            "object": cursor.object,
            "kind": cursor.kind,
            "system_modstamp": cursor.stamp_ms,
            "last_id": cursor.last_id,
            "seen": sorted(cursor.seen),
            "started_at": cursor.started_ms,
            "done": cursor.done,
            "read": cursor.read,
            "total": cursor.total,
            "updated_at": now,
        }
        if self._producer is None:
            self._producer = AckingProducer(self.kafka)
        self._producer.produce(
            self.topic, self.serde.encode("PollerState", record), cursor.key.encode()
        )
        self._producer.flush()
        self._cursors[cursor.key] = replace(cursor, updated_ms=_ms(now))
