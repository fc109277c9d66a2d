"""A worker's copy of `engage.contacts`: rebuilt batch by batch (tombstones in their
place), then followed from where the rebuild ended, never from the start again."""

from __future__ import annotations

import threading
from dataclasses import replace

from connectors.kafka.clients import AckingProducer
from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from domain.contacts.models import EngageContact
from ground.settings import KafkaSettings
from streams.contacts.processor import ContactsProcessor
from streams.contacts.store import ContactStore
from tests.waiting import wait_until


def _contact(ecid: str, at: int, title: str = "VP") -> EngageContact:
    return EngageContact(
        ecid,
        f"003{ecid[-1]:0>12}AAA",
        "Contact",
        f"{ecid}@example.org",
        "Ada",
        ecid,
        title=title,
        updated_at_ms=at,
    )


def _send(
    settings: KafkaSettings, items: list[tuple[str, EngageContact | None]]
) -> None:
    producer, serde = AckingProducer(settings), Serde()
    topic = Topics(settings).contacts.name
    for key, contact in items:
        value = (
            None
            if contact is None
            else serde.encode("EngageContact", contact.to_record())
        )
        # One partition: the order of puts and tombstones per key is what is tested.
        producer.produce(topic, value, key.encode(), partition=0)
    producer.flush()


def test_rebuild_applies_puts_and_tombstones_in_order_then_follows_new_ones(
    kafka_settings: KafkaSettings,
) -> None:
    a1, b1, c1 = _contact("ec-a", 1), _contact("ec-b", 1), _contact("ec-c", 1)
    a2 = replace(a1, title="CEO", updated_at_ms=5)
    _send(
        kafka_settings,
        [("ec-a", a1), ("ec-b", b1), ("ec-a", None), ("ec-c", c1), ("ec-a", a2)],
    )
    processor = ContactsProcessor(kafka_settings, ContactStore(), lambda: None)
    try:
        processor.load()
        loaded = {c.engage_contact_id: c.title for c in processor.store.all()}
        assert loaded == {"ec-a": "CEO", "ec-b": "VP", "ec-c": "VP"}

        _send(kafka_settings, [("ec-b", None), ("ec-d", _contact("ec-d", 9))])
        wait_until(
            lambda: processor.store.get("ec-d") is not None,
            timeout=30,
            what="the follower applied ec-d",
        )
        assert processor.store.get("ec-b") is None
    finally:
        processor.stop()


def test_follow_starts_at_the_given_offsets(kafka_settings: KafkaSettings) -> None:
    _send(kafka_settings, [(f"ec-{i}", _contact(f"ec-{i}", i)) for i in range(5)])
    topic = Topics(kafka_settings).contacts.name
    stop = threading.Event()
    give_up = threading.Timer(30, stop.set)  # a deadline, should nothing come
    give_up.start()
    try:
        with TopicReader.open(kafka_settings) as reader:
            ends = reader.ends([topic])
            _send(kafka_settings, [("ec-new", _contact("ec-new", 9))])
            first = next(iter(reader.follow([topic], stop.is_set, ends)), None)
    finally:
        give_up.cancel()
    # The five records before the ends are not read again; the new one is next.
    assert first is not None and (first.key(), first.offset()) == (b"ec-new", 5)
