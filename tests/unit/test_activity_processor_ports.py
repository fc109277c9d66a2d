"""The activity processor on in-memory ports: Engage's copy looked up once per batch,
a copy asked for once per contact (again after a failed batch), parks and dead
letters, with no broker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from connectors.kafka.deadletter import Origin
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from domain.contacts.models import EngageContact
from ground.settings import KafkaSettings
from streams.activity.processor import ActivityProcessor, Context
from tests.factories import call_event, contact_ref
from tests.ports import MemoryContactCopy, MemoryParkedIndex, RecordingProducer

KAFKA = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")
TOPICS = Topics(KAFKA)
SERDE = Serde()
IN_COPY = EngageContact("ec-known", "003000000000001AAA", "Contact")


class FailingOnce(RecordingProducer):
    """Kafka does not acknowledge the first batch."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def flush_async(self, wait_seconds: float = 60.0) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("no acknowledgement")


def _call(ecid: str, who: str | None, n: int = 0) -> Origin:
    event = call_event(
        event_id=f"{ecid}-{n}",
        contact=contact_ref(engage_contact_id=ecid, salesforce_id=who),
    )
    value = SERDE.encode("CallLogged", event)
    return Origin(TOPICS.calls.name, 0, n, ecid.encode(), value)


def _processor(
    producer: RecordingProducer | None = None,
) -> tuple[ActivityProcessor, RecordingProducer, MemoryContactCopy]:
    producer = producer or RecordingProducer()
    copy = MemoryContactCopy([IN_COPY])
    context = Context(copy, None, lambda: None, MemoryParkedIndex())
    return ActivityProcessor(TOPICS, SERDE, producer, context), producer, copy


def _commands(producer: RecordingProducer, operation: str) -> list[dict[str, Any]]:
    return [
        c
        for c in producer.decoded(TOPICS.commands.name, "SalesforceCommand")
        if c["operation"] == operation
    ]


async def test_a_batch_looks_up_engage_copy_once_for_all_its_contacts() -> None:
    processor, producer, copy = _processor()
    batch = [_call(f"ec-{i % 5}", f"003{i % 5:012d}AAA", i) for i in range(10)]
    await processor.handle(batch)
    assert copy.lookups == 1
    assert len(_commands(producer, "UPSERT")) == 10


async def test_a_contact_not_in_the_copy_is_asked_for_once_across_batches() -> None:
    processor, producer, _ = _processor()
    await processor.handle([_call("ec-new", "003000000000009AAA", 0)])
    await processor.handle([_call("ec-new", "003000000000009AAA", 1)])
    reads = _commands(producer, "MATCH")
    assert [r["record_id"] for r in reads] == ["003000000000009AAA"]
    assert reads[0]["engage_contact_id"] == "ec-new"


async def test_a_contact_in_the_copy_is_not_asked_for() -> None:
    processor, producer, _ = _processor()
    await processor.handle([_call("ec-known", IN_COPY.salesforce_id)])
    assert _commands(producer, "MATCH") == []
    assert len(_commands(producer, "UPSERT")) == 1


async def test_a_batch_redone_after_no_acknowledgement_asks_for_the_copy_again() -> (
    None
):
    processor, producer, _ = _processor(FailingOnce())
    batch = [_call("ec-new", "003000000000009AAA")]
    with pytest.raises(ConnectionError):
        await processor.handle(batch)
    await processor.handle(batch)
    assert len(_commands(producer, "MATCH")) == 2  # once per attempt: none lost


class GatedFlushes(RecordingProducer):
    """Each flush waits for its gate; the first one then fails (no acknowledgement)."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: list[asyncio.Event] = []
        self.failures = 1
        self._waiting = asyncio.Condition()

    async def waiting(self, n: int) -> None:
        """Until `n` flushes in all have begun (each batch produced all it had)."""
        async with self._waiting:
            await asyncio.wait_for(
                self._waiting.wait_for(lambda: len(self.gates) >= n), 10
            )

    async def flush_async(self, wait_seconds: float = 60.0) -> None:
        gate = asyncio.Event()
        async with self._waiting:
            self.gates.append(gate)
            self._waiting.notify_all()
        await gate.wait()
        if self.failures:
            self.failures -= 1
            raise ConnectionError("no acknowledgement")


async def test_overlapping_batches_each_forget_only_their_own_copy_requests() -> None:
    # The agent's loop is pipelined: batch 2 runs while batch 1 waits for Kafka.
    producer = GatedFlushes()
    processor, _, _ = _processor(producer)
    first = asyncio.ensure_future(
        processor.handle([_call("ec-one", "003000000000001BBB")])
    )
    second = asyncio.ensure_future(
        processor.handle([_call("ec-two", "003000000000002BBB")])
    )
    await producer.waiting(2)  # both batches produced and now wait
    producer.gates[0].set()
    with pytest.raises(ConnectionError):
        await first
    producer.gates[1].set()
    await second
    # Batch 1 is redone: its copy is asked for again; batch 2's is not.
    both = [
        _call("ec-one", "003000000000001BBB"),
        _call("ec-two", "003000000000002BBB", 1),
    ]
    redo = asyncio.ensure_future(processor.handle(both))
    await producer.waiting(3)
    producer.gates[2].set()
    await redo
    reads = [r["engage_contact_id"] for r in _commands(producer, "MATCH")]
    assert sorted(reads) == ["ec-one", "ec-one", "ec-two"]


async def test_unlinked_contacts_park_and_bad_events_dead_letter() -> None:
    processor, producer, _ = _processor()
    bad = Origin(TOPICS.calls.name, 0, 9, b"k", b"\x00not avro")
    await processor.handle([_call("ec-nobody", None), bad])
    parked = producer.decoded(TOPICS.parked.name, "ParkedActivity")
    assert [p["engage_contact_id"] for p in parked] == ["ec-nobody"]
    assert [t for t, _, _ in producer.sent if t == TOPICS.dlq.name] == [TOPICS.dlq.name]
    assert processor.stats.dead_letters == 1
