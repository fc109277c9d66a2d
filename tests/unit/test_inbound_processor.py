"""The inbound processor's per-batch work on a SQLite store and a recording producer:
one contact copy per record, one Salesforce-id look-up per batch, the events-in
counter once per batch, this worker's origin on what it publishes, and a batch
rolled back after Kafka took some of it put again by its redo."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.kafka.clients import DeliveryFailed
from connectors.kafka.deadletter import Origin
from domain.contacts.models import EngageContact
from ground import metrics
from streams.contacts import processor as processor_module
from streams.contacts.processor import ORIGIN_HEADER, ContactsProcessor
from streams.contacts.store import ContactStore
from tests.ports import NO_BROKER, RecordingProducer
from tests.records import RECORDS_TOPIC, lead_origin

TOPIC = RECORDS_TOPIC
_record = lead_origin


class CountingStore(ContactStore):
    """The SQLite store, counting Salesforce-id look-ups one by one and by batch."""

    def __init__(self) -> None:
        super().__init__()
        self.single: list[str] = []
        self.batched: list[list[str]] = []

    def by_salesforce_id(self, salesforce_id: str) -> EngageContact | None:
        self.single.append(salesforce_id)
        return super().by_salesforce_id(salesforce_id)

    def by_salesforce_ids(self, salesforce_ids: list[str]) -> dict[str, EngageContact]:
        self.batched.append(list(salesforce_ids))
        return super().by_salesforce_ids(salesforce_ids)


def _processor(
    store: ContactStore | None = None,
) -> tuple[ContactsProcessor, RecordingProducer]:
    producer = RecordingProducer()
    processor = ContactsProcessor(
        NO_BROKER, store or ContactStore(), lambda: None, producer
    )
    processor.loaded = True
    return processor, producer


def _titles(producer: RecordingProducer) -> list[tuple[str, str]]:
    return [
        (c["engage_contact_id"], c["title"])
        for c in producer.decoded(processor_module.Topics(NO_BROKER).contacts.name,
                                  "EngageContact")
    ]


def test_a_new_record_becomes_a_contact_in_one_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import domain.contacts.models as models

    copies: list[str] = []
    real = models.replace

    def counted(obj: Any, /, **changes: Any) -> Any:
        copies.append(",".join(sorted(changes)))
        return real(obj, **changes)

    monkeypatch.setattr(models, "replace", counted)
    monkeypatch.setattr(processor_module, "replace", counted)
    processor, producer = _processor()
    processor.handle([_record(1)])
    contact = processor.store.get("sf-00Q000000000000001")
    assert contact is not None and contact.salesforce_id == "00Q000000000000001"
    assert contact.updated_at_ms > 0 and contact.title == "VP Sales"
    assert len(copies) == 1, copies
    assert _titles(producer) == [("sf-00Q000000000000001", "VP Sales")]


def test_salesforce_ids_of_a_batch_are_looked_up_in_one_query() -> None:
    store = CountingStore()
    processor, _ = _processor(store)
    processor.handle([_record(i) for i in range(5)])
    processor.handle([_record(i, title="CTO") for i in range(5)])
    assert store.single == []
    assert len(store.batched) == 2 and len(store.batched[1]) == 5
    assert {c.title for c in store.all()} == {"CTO"}
    assert processor.stats.contacts_out == 10


def test_a_second_record_of_a_new_person_in_one_batch_finds_the_first() -> None:
    processor, producer = _processor()
    processor.handle([_record(1, title="VP"), _record(2), _record(1, title="CTO")])
    assert processor.store.count() == 2
    first = processor.store.by_salesforce_id("00Q000000000000001")
    assert first is not None and first.title == "CTO"
    assert _titles(producer)[-1] == ("sf-00Q000000000000001", "CTO")


def test_events_in_advances_once_per_batch_by_its_size() -> None:
    class Child:
        def __init__(self) -> None:
            self.incs: list[float] = []

        def inc(self, amount: float = 1) -> None:
            self.incs.append(amount)

    class Spy:
        def __init__(self) -> None:
            self.children: dict[tuple[str, ...], Child] = {}

        def labels(self, *values: str) -> Child:
            return self.children.setdefault(values, Child())

    spy = Spy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(metrics, "EVENTS_IN", spy)
        processor, _ = _processor()
        undecodable = Origin(TOPIC, 0, 99, b"k", b"not avro", 0)
        processor.handle([_record(1), undecodable, _record(2)])
    (child,) = spy.children.values()
    assert child.incs == [3]
    assert processor.stats.records_in == 3 and processor.stats.dead_letters == 1


def test_published_contacts_carry_this_workers_origin_and_only_it_matches() -> None:
    processor, producer = _processor()
    other, _ = _processor()
    processor.handle([_record(1)])
    (topic, headers), *_ = producer.headers
    assert topic == processor.topics.contacts.name
    assert headers == [(ORIGIN_HEADER, processor.origin)]
    assert processor.published_here(headers)
    assert not other.published_here(headers)
    assert not processor.published_here(None)
    assert not processor.published_here([("other", processor.origin)])


def test_a_batch_rolled_back_after_kafka_took_its_contacts_is_put_by_the_redo() -> None:
    processor, producer = _processor()
    producer.fail_flushes = 1  # Kafka took the records, the flush still failed
    batch = [_record(1), _record(2)]
    with pytest.raises(DeliveryFailed):
        processor.handle(batch)
    assert processor.store.count() == 0  # rolled back; the follower skips our own
    processor.handle(batch)  # the batch loop's retry
    assert processor.store.count() == 2
    assert [ecid for ecid, _ in _titles(producer)] == [
        "sf-00Q000000000000001",
        "sf-00Q000000000000002",
    ] * 2
