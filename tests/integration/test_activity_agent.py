"""The activity agent on a real broker: commands, parked activities and dead letters."""

from __future__ import annotations

import os

import pytest

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from streams.activity.formatting import call_to_task, email_to_task
from tests.conftest import Processes, kafka_env
from tests.factories import call_event, contact_ref, email_event
from tests.kafka_helpers import read_topic
from tests.waiting import wait_until


def _publish(
    settings: KafkaSettings, topic: str, schema: str, events: list[dict]
) -> None:
    serde, producer = Serde(), AckingProducer(settings)
    for ev in events:
        producer.produce(
            topic, serde.encode(schema, ev), ev["contact"]["engage_contact_id"].encode()
        )
    producer.flush()


def _task_commands(settings: KafkaSettings, at_least: int) -> list[dict] | None:
    """Task commands only: a contact's first activity also asks for its copy (MATCH)."""
    serde = Serde()
    records = read_topic(settings, Topics(settings).commands.name, idle=1.5)
    tasks = [
        c for c in (serde.decode("SalesforceCommand", r.value) for r in records)
        if c["sobject"] == "Task"
    ]
    return tasks if len(tasks) >= at_least else None


@pytest.mark.tansu  # the Task path `make run` runs on Tansu
def test_linked_activities_become_task_commands_and_unlinked_ones_are_parked(
    kafka_settings: KafkaSettings, processes: Processes
) -> None:
    topics = Topics(kafka_settings)
    calls = [
        call_event(call_result="LEFT_MESSAGE", voicemail_title=f"vm {i}")
        for i in range(60)
    ]
    emails = [email_event(event_type="SENT", body=f"body {i}") for i in range(40)]
    unlinked = [call_event(contact=contact_ref(salesforce_id=None)) for _ in range(10)]
    _publish(kafka_settings, topics.calls.name, "CallLogged", calls + unlinked)
    _publish(kafka_settings, topics.emails.name, "EmailEvent", emails)

    processes.start("worker", kafka_env(kafka_settings))

    serde = Serde()
    commands = wait_until(
        lambda: _task_commands(kafka_settings, 100), 90, what="100 commands"
    )
    expected = {e["event_id"]: call_to_task(e).draft.to_sobject() for e in calls}
    expected |= {e["event_id"]: email_to_task(e).draft.to_sobject() for e in emails}
    assert {c["command_id"]: c["fields"] for c in commands} == expected
    assert all(c["operation"] == "UPSERT" and c["sobject"] == "Task" for c in commands)
    parked = [
        serde.decode("ParkedActivity", r.value)
        for r in read_topic(kafka_settings, topics.parked.name, expect=10)
    ]
    assert sorted(p["event_id"] for p in parked) == sorted(
        e["event_id"] for e in unlinked
    )
    assert {p["reason"] for p in parked} == {"contact-not-linked"}


def test_undecodable_and_invalid_messages_go_to_the_dead_letter_topic_with_their_origin(
    kafka_settings: KafkaSettings, processes: Processes
) -> None:
    topics = Topics(kafka_settings)
    serde, producer = Serde(), AckingProducer(kafka_settings)
    good = call_event()
    bad_values = {
        topics.calls.name: [
            os.urandom(64),
            b"",
            serde.encode("EmailEvent", email_event()),  # another schema on this topic
            serde.encode(
                "CallLogged", call_event(event_id=" ")
            ),  # decodes, but invalid
        ],
        topics.emails.name: [
            b'{"json": "not avro"}',
            serde.encode("EmailEvent", email_event())[:-3],  # truncated body
        ],
    }
    for topic, values in bad_values.items():
        for value in values:
            producer.produce(topic, value, b"bad-key")
    producer.produce(topics.calls.name, serde.encode("CallLogged", good), b"good")
    producer.flush()

    processes.start("worker", kafka_env(kafka_settings))

    dead = read_topic(kafka_settings, topics.dlq.name, expect=6)
    assert len(dead) == 6
    originals = {(t, v) for t, vs in bad_values.items() for v in vs}
    assert {
        (r.headers["__connect.errors.topic"].decode(), r.value or b"") for r in dead
    } == originals
    for record in dead:
        assert record.key == b"bad-key"
        assert int(record.headers["__connect.errors.offset"]) >= 0
        assert record.headers["__connect.errors.partition"].isdigit()
        assert record.headers["__connect.errors.exception.class.name"]
        assert record.headers["__connect.errors.exception.message"]
    commands = wait_until(
        lambda: _task_commands(kafka_settings, 1), 90, what="the command"
    )
    assert [c["command_id"] for c in commands] == [good["event_id"]]
