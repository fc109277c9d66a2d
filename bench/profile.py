"""Where the activity agent's own per-event time goes: its processor run in this
process on the benchmark's traffic (no Kafka: a producer that only counts), under
cProfile, summed by our functions and fastavro's."""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import time
from typing import Any

from bench.traffic import Traffic
from connectors.kafka.deadletter import Origin
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from streams.activity.processor import ActivityProcessor, Context
from streams.contacts.processor import ContactsProcessor
from streams.contacts.store import ContactStore
from tests.ports import MemoryParkedIndex, RecordingProducer


class _Counting(RecordingProducer):
    def produce(self, topic: str, value: bytes | None, *args: Any, **kw: Any) -> None:
        self.count = getattr(self, "count", 0) + 1


def _processor(t: Traffic) -> tuple[ActivityProcessor, list[Origin]]:
    kafka = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9", KAFKA_TOPIC_PREFIX="p."
    )
    topics, store = Topics(kafka), ContactStore()
    for contact in t.copy:
        store.put(contact)
    contacts = ContactsProcessor(kafka, store, lambda: None, _Counting())
    contacts.loaded = True
    context = Context(contacts, None, lambda: None, MemoryParkedIndex())
    processor = ActivityProcessor(topics, Serde(), _Counting(), context)
    origins = [
        Origin(topic, 0, i, key, value)
        for topic, messages in (
            (topics.calls.name, t.calls),
            (topics.emails.name, t.emails),
        )
        for i, (key, value) in enumerate(messages)
    ]
    return processor, origins


def _run(processor: ActivityProcessor, origins: list[Origin]) -> None:
    async def batches() -> None:
        for i in range(0, len(origins), 1000):
            await processor.handle(origins[i : i + 1000])

    asyncio.run(batches())


def profile(t: Traffic) -> tuple[float, list[tuple[str, float]]]:
    """(CPU seconds per 1,000 events unprofiled, [(function, share of time)])."""
    processor, origins = _processor(t)
    started = time.process_time()
    _run(processor, origins)
    per_1000 = (time.process_time() - started) * 1000 / len(origins)
    processor, origins = _processor(t)
    prof = cProfile.Profile()
    prof.runcall(_run, processor, origins)
    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    rows = sorted(
        (
            (f"{func[2]} ({func[0].rsplit('/', 1)[-1]}:{func[1]})", v[2] / total)
            for func, v in stats.stats.items()  # type: ignore[attr-defined]
        ),
        key=lambda r: -r[1],
    )
    return per_1000, rows[:8]
