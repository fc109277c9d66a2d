"""`read_topic` without `expect`: every record already in the topic, whatever the
idle wait (CI once read [] because its first fetch took longer than `idle`)."""

from __future__ import annotations

import pytest

from connectors.kafka.clients import AckingProducer, ensure_topics
from connectors.kafka.topics import TopicSpec
from ground.settings import KafkaSettings
from tests.kafka_helpers import read_topic


@pytest.mark.tansu  # the ends come from Fetch, right on both brokers
def test_a_whole_topic_read_returns_every_record_even_with_no_idle_wait(
    kafka_settings: KafkaSettings,
) -> None:
    topic = f"{kafka_settings.topic_prefix}whole.read"
    ensure_topics(kafka_settings, [TopicSpec(topic, 3, None, "none")])
    producer = AckingProducer(kafka_settings)
    sent = {b"k%d" % i: b"v%d" % i for i in range(30)}
    for key, value in sent.items():
        producer.produce(topic, value, key=key)
    producer.flush()

    records = read_topic(kafka_settings, topic, idle=0.0)

    assert {r.key: r.value for r in records} == sent
    assert len(records) == len(sent)
