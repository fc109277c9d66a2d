"""Which batch failures the agents redo (outages) and which stop the worker."""

from __future__ import annotations

import sqlite3

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.schema_registry.error import SchemaRegistryError

from connectors.kafka.clients import DeliveryFailed
from connectors.kafka.serde import RegistryUnavailable, _outage
from streams.batches import is_transient


@pytest.mark.parametrize(
    "exc",
    [
        DeliveryFailed("0 record(s) unacknowledged, errors: [_MSG_TIMED_OUT]"),
        RegistryUnavailable("Schema Registry unavailable"),
        KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT)),
        KafkaException(KafkaError(KafkaError._TRANSPORT)),
        BufferError("queue full"),
    ],
)
def test_outages_of_kafka_and_the_registry_are_redone(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        sqlite3.OperationalError("disk I/O error"),
        KeyError("contact"),
        SchemaRegistryError(409, 40901, "incompatible schema"),
        KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)),
    ],
)
def test_everything_else_stops_the_worker(exc: BaseException) -> None:
    assert not is_transient(exc)


@pytest.mark.parametrize(
    ("status", "outage"), [(500, True), (503, True), (429, True), (404, False)]
)
def test_registry_answers_that_pass_by_themselves_are_outages(
    status: int, outage: bool
) -> None:
    assert _outage(SchemaRegistryError(status, status * 100, "x")) is outage
    assert _outage(ConnectionRefusedError()) is True
