"""The writer's result publisher: every result on `salesforce.results`, and the link
reports (only they) on `salesforce.links` too, which is all the worker's links
agent reads — so the worker never consumes a Task's result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from connectors.salesforce.writer import KafkaPublisher
from ground.settings import KafkaSettings
from tests.ports import RecordingProducer


def _result(event_id: str, status: str, success: bool = True) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "object": "Lead",
        "operation": "MATCH_OR_CREATE",
        "success": success,
        "salesforce_id": "00Q000000000001AAA" if success else None,
        "created": status == "CREATED",
        "status_code": status,
        "message": None,
        "fields": [],
        "written_at": datetime(2026, 12, 1, tzinfo=UTC),
        "engage_contact_id": "ec-1",
        "record": {},
        "candidates": [],
    }


@pytest.fixture
def published() -> tuple[KafkaPublisher, RecordingProducer, Topics]:
    kafka = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
    topics, producer = Topics(kafka), RecordingProducer()
    return KafkaPublisher(kafka, Serde(), topics, producer), producer, topics


@pytest.mark.parametrize(
    "status", ["LINKED", "CREATED", "LINKED_BY_DUPLICATE_RULE", "ambiguous-match"]
)
def test_a_link_report_goes_to_results_and_to_links_with_the_same_bytes(
    published: tuple[KafkaPublisher, RecordingProducer, Topics], status: str
) -> None:
    publisher, producer, topics = published

    publisher.result(_result("add-1", status))

    assert [t for t, _, _ in producer.sent] == [topics.results.name, topics.links.name]
    (_, on_results, key1), (_, on_links, key2) = producer.sent
    assert on_results == on_links and key1 == key2 == b"add-1"


@pytest.mark.parametrize(
    ("status", "success"),
    [("OK", True), ("FIELD_CUSTOM_VALIDATION_EXCEPTION", False), ("NO_MATCH", True)],
)
def test_a_task_or_failed_result_goes_to_results_only(
    published: tuple[KafkaPublisher, RecordingProducer, Topics],
    status: str,
    success: bool,
) -> None:
    publisher, producer, topics = published

    publisher.result(_result("call-1", status, success))

    assert [t for t, _, _ in producer.sent] == [topics.results.name]
