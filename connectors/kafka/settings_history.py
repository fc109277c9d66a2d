"""The settings history: every saved document, who saved it and when.

Each save writes its document twice to `engage.settings`: under `crm-settings`
(the document in force) and under `history:<applied_at ms>:<sha256>`. The topic
is compacted, and compaction keeps the latest record of each key, so every
history key (one per save) is kept for good: the topic is its own history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import Message

from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import Serde
from connectors.kafka.snapshot import read_to_end
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings

BY_HEADER = "engage.settings.by"
PREFIX = b"history:"


def history_key(applied_at: datetime, sha256: str) -> bytes:
    """The history key of one save (unique per save, sortable by time)."""
    return PREFIX + f"{int(applied_at.timestamp() * 1000):013d}:{sha256}".encode()


def by_of(msg: Message) -> str | None:
    """Who saved the settings record `msg` (None for saves before the history)."""
    raw = msg.headers() or []
    for name, value in raw.items() if isinstance(raw, dict) else raw:
        if name == BY_HEADER and isinstance(value, bytes):
            return value.decode("utf-8", "replace")
    return None


@dataclass(frozen=True)
class Saved:
    """One save of the settings."""

    sha256: str
    applied_at: datetime
    by: str | None
    source: str | None
    document: str


def history(kafka: KafkaSettings) -> list[Saved]:
    """Every saved document, newest first."""
    serde = Serde()
    out: list[Saved] = []

    def keep(msg: Message) -> None:
        key, value = msg.key() or b"", msg.value()
        if not key.startswith(PREFIX) or value is None:
            return
        record = serde.decode("CrmSettingsDocument", value)
        out.append(
            Saved(
                sha256=str(record["sha256"]),
                applied_at=record["applied_at"],
                by=by_of(msg),
                source=record.get("source"),
                document=str(record["document"]),
            )
        )

    with TopicReader.open(kafka) as reader:
        read_to_end(reader, Topics(kafka).settings.name, keep)
    return sorted(out, key=lambda s: s.applied_at, reverse=True)
