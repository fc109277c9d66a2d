"""Each worker's follower skips only the contacts it published itself (its origin
header): another worker still takes them, and a restarted one rebuilds them all."""

from __future__ import annotations

from connectors.kafka.ends import TopicReader
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from streams.contacts.processor import ORIGIN_HEADER, ContactsProcessor
from streams.contacts.store import ContactStore
from tests.records import lead_origin
from tests.waiting import wait_until


def _worker(kafka: KafkaSettings) -> ContactsProcessor:
    processor = ContactsProcessor(kafka, ContactStore(), lambda: None)
    processor.load()
    return processor


def test_a_second_worker_sees_the_first_workers_contacts_and_skips_only_its_own(
    kafka_settings: KafkaSettings,
) -> None:
    first, second = _worker(kafka_settings), _worker(kafka_settings)
    try:
        first.handle([lead_origin(i) for i in range(5)])
        wait_until(
            lambda: second.store.count() == 5,
            timeout=30,
            what="the second worker's follower took the first's 5 contacts",
        )
        assert second.store.all() == first.store.all()
        wait_until(
            lambda: first.stats.own_skipped == 5,
            timeout=30,
            what="the first worker's follower skipped its own 5 contacts",
        )
        assert second.stats.own_skipped == 0

        # And the other way: the first still applies what the second publishes.
        second.handle([lead_origin(1, title="CTO")])
        wait_until(
            lambda: (c := first.store.get("sf-00Q000000000000001")) is not None
            and c.title == "CTO",
            timeout=30,
            what="the first worker took the second's update",
        )
    finally:
        first.stop()
        second.stop()


def test_a_restarted_worker_rebuilds_every_contact_it_published(
    kafka_settings: KafkaSettings,
) -> None:
    before = _worker(kafka_settings)
    before.handle([lead_origin(i) for i in range(5)])
    before.stop()
    with TopicReader.open(kafka_settings) as reader:
        published = list(reader.read_to_end(Topics(kafka_settings).contacts.name))
    assert [h for m in published for h in (m.headers() or [])] == [
        (ORIGIN_HEADER, before.origin)
    ] * 5

    restarted = ContactsProcessor(kafka_settings, ContactStore(), lambda: None)
    # Even under the same origin, the rebuild at start reads every record.
    restarted.origin = before.origin
    try:
        restarted.load()
        assert restarted.store.all() == before.store.all()
        assert restarted.store.count() == 5
    finally:
        restarted.stop()
