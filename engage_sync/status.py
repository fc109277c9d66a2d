"""Live counts for `engage-sync up`, read from the topics (fetches, not end offsets)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from connectors.kafka import config as kafka_config
from connectors.kafka.serde import DecodeError, Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings


class TopicCounter(threading.Thread):
    """Counts all records in the pipeline's topics, and successful writes in results."""

    def __init__(self, kafka: KafkaSettings) -> None:
        super().__init__(name="status-counter", daemon=True)
        self.topics = Topics(kafka)
        self.serde = Serde.for_kafka(kafka)
        self.counts: Counter[str] = Counter()
        self.stop_event = threading.Event()
        self._consumer = Consumer(
            {
                **kafka_config.librdkafka(kafka),
                "group.id": f"{kafka.group_prefix}.status",
                "enable.auto.commit": False,
                # A reset (e.g. of a partition still empty) must not skip to the end.
                "auto.offset.reset": "earliest",
            }
        )

    def run(self) -> None:
        names = [s.name for s in self.topics.all()]
        meta = self._consumer.list_topics(timeout=10).topics
        self._consumer.assign(
            [
                TopicPartition(n, p, OFFSET_BEGINNING)
                for n in names
                if n in meta
                for p in meta[n].partitions
            ]
        )
        try:
            while not self.stop_event.is_set():
                for msg in self._consumer.consume(1000, 0.3):
                    topic = msg.topic()  # None only on error events
                    if msg.error() or topic is None:
                        continue
                    self._count(topic, msg.value())
        finally:
            self._consumer.close()

    def _count(self, topic: str, value: bytes | None) -> None:
        t = self.topics
        self.counts[topic] += 1
        if topic == t.results.name:
            try:
                result = self.serde.decode("WriteResult", value)
            except DecodeError:
                return
            self.counts["written" if result["success"] else "failed"] += 1

    def settled(self, quiet: float = 1.5, timeout: float = 15.0) -> dict[str, Any]:
        """The counts once nothing new came for `quiet` s (after producers stopped)."""
        deadline = time.monotonic() + timeout
        last, since = self.snapshot(), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < quiet:
            time.sleep(0.1)
            now = self.snapshot()
            if now != last:
                last, since = now, time.monotonic()
        return last

    def snapshot(self) -> dict[str, Any]:
        t, c = self.topics, self.counts
        return {
            "events in": c[t.calls.name] + c[t.emails.name],
            "Task commands": c[t.commands.name],
            "Tasks written": c["written"],
            "writes refused": c["failed"],
            "parked (not linked)": c[t.parked.name],
            "dead letters": c[t.dlq.name],
            "Salesforce records polled": c[t.records.name],
            "Engage contact updates": c[t.contacts.name],
        }


def render_table(snapshot: dict[str, object], header: str) -> Table:
    """The terminal's live view: one row per count."""
    from rich.table import Table

    table = Table(title=header, title_justify="left", show_header=False, box=None)
    table.add_column(style="bold cyan")
    table.add_column(justify="right")
    for name, value in snapshot.items():
        table.add_row(name, f"{value:,}" if isinstance(value, int) else str(value))
    return table


def plain_line(snapshot: dict[str, object], elapsed: float) -> str:
    """The same counts as one line, for output that is not a terminal (docker logs,
    CI, a file), where a live view would only appear once `up` ends."""
    counts = "; ".join(f"{name} {value}" for name, value in snapshot.items())
    return f"status at {elapsed:.0f}s: {counts}"
