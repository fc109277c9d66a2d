"""`TopicReader`: partition ends from Fetch, right after one multi-record batch."""

from __future__ import annotations

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import OffsetSpec

from connectors.kafka.clients import AckingProducer, admin, ensure_topics
from connectors.kafka.ends import MissingTopic, TopicReader
from connectors.kafka.topics import TopicSpec
from ground.settings import KafkaSettings
from tests.kafka_helpers import is_tansu


def _topic(settings: KafkaSettings, name: str, partitions: int = 2) -> str:
    topic = f"{settings.topic_prefix}{name}"
    ensure_topics(settings, [TopicSpec(topic, partitions, None, "none")])
    return topic


def _one_batch(settings: KafkaSettings, topic: str, count: int, partition: int) -> None:
    """`count` records to one partition in ONE produce batch (Tansu's bad case)."""
    producer = AckingProducer(settings, **{"linger.ms": 500})
    for i in range(count):
        producer.produce(topic, b"v%d" % i, partition=partition)
    producer.flush()


@pytest.mark.tansu  # Tansu answers ListOffsets wrongly after a multi-record batch
def test_ends_count_every_record_of_a_batch_and_an_empty_partition_ends_at_zero(
    kafka_settings: KafkaSettings,
) -> None:
    topic = _topic(kafka_settings, "ends.batch")
    _one_batch(kafka_settings, topic, 10, partition=0)

    with TopicReader.open(kafka_settings) as reader:
        ends = reader.ends([topic])
        records = list(reader.read_to(ends))

    assert ends == {(topic, 0): 10, (topic, 1): 0}
    assert [m.offset() for m in records] == list(range(10))


@pytest.mark.tansu  # ends found by fetching on Tansu
def test_read_to_stops_at_the_recorded_end_without_waiting_for_later_records(
    kafka_settings: KafkaSettings,
) -> None:
    topic = _topic(kafka_settings, "ends.later", partitions=1)
    _one_batch(kafka_settings, topic, 5, partition=0)
    with TopicReader.open(kafka_settings, stall_timeout=20) as reader:
        ends = reader.ends([topic])
        _one_batch(kafka_settings, topic, 3, partition=0)  # appended meanwhile

        first = [m.offset() for m in reader.read_to(ends)]
        after = reader.read_to(reader.ends([topic]), {(topic, 0): 5})
        later = [m.offset() for m in after]

    assert (first, later) == ([0, 1, 2, 3, 4], [5, 6, 7])


def test_a_missing_topic_is_reported_and_not_created(
    kafka_settings: KafkaSettings,
) -> None:
    missing = f"{kafka_settings.topic_prefix}no.such.topic"
    with TopicReader.open(kafka_settings) as reader:
        with pytest.raises(MissingTopic, match="does not exist"):
            reader.ends([missing])
        assert missing not in reader.topics()


def test_ends_agree_with_kafkas_own_list_offsets(kafka_settings: KafkaSettings) -> None:
    if is_tansu(kafka_settings):
        pytest.skip("Tansu answers ListOffsets(latest) with the last batch's base + 1")
    topic = _topic(kafka_settings, "ends.listoffsets", partitions=3)
    _one_batch(kafka_settings, topic, 7, partition=0)
    _one_batch(kafka_settings, topic, 2, partition=2)
    asked = {TopicPartition(topic, p): OffsetSpec.latest() for p in range(3)}
    client = admin(kafka_settings)  # kept: its futures die with it
    listed = {
        (tp.topic, tp.partition): f.result(timeout=30).offset
        for tp, f in client.list_offsets(asked, request_timeout=20).items()
    }

    with TopicReader.open(kafka_settings) as reader:
        ends = reader.ends([topic])
        watermarks = {
            (topic, p): reader.consumer.get_watermark_offsets(
                TopicPartition(topic, p), cached=False
            )[1]
            for p in range(3)
        }

    assert ends == listed == watermarks == {(topic, 0): 7, (topic, 1): 0, (topic, 2): 2}
