"""Confluent wire format across processes, against the Schema Registry stand-in."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import CONFLUENT_MAGIC, SINGLE_OBJECT_MAGIC, Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from sandbox.registry import RegistryStandIn
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.factories import call_event, contact_ref, email_event
from tests.kafka_helpers import Record, read_topic
from tests.markers import dead_letters_past
from tests.waiting import wait_until

NS = "engage.events"
UNKNOWN_ID = 4242
OBJECT_FIELD = {"SalesforceCommand": "sobject", "WriteResult": "object"}


@pytest.fixture
def registry() -> Iterator[RegistryStandIn]:
    with RegistryStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def admin(sandbox_org: Any) -> SandboxAdmin:
    return SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)


@pytest.fixture
def people(admin: SandboxAdmin) -> list[str]:
    """Ids of 5 Contacts and 5 Leads in the org."""
    admin.put_records("Contact", [{"LastName": f"Wire{i}"} for i in range(5)])
    admin.put_records(
        "Lead", [{"LastName": f"Wire{i}", "Company": f"Co {i}"} for i in range(5)]
    )
    return [r["Id"] for r in admin.records("Contact") + admin.records("Lead")]


def _events(people: list[str], n: int) -> list[tuple[str, dict[str, Any]]]:
    """`n` calls and `n` emails spread over `people` (and engage contact ids)."""
    calls = [
        (
            "CallLogged",
            call_event(
                contact=contact_ref(
                    engage_contact_id=f"wire-{i}", salesforce_id=people[i % len(people)]
                )
            ),
        )
        for i in range(n)
    ]
    emails = [
        (
            "EmailEvent",
            email_event(
                contact=contact_ref(
                    engage_contact_id=f"wire-{i}", salesforce_id=people[i % len(people)]
                )
            ),
        )
        for i in range(n)
    ]
    return calls + emails


def _publish(
    settings: KafkaSettings, serde: Serde, events: list[tuple[str, dict[str, Any]]]
) -> list[bytes]:
    topics, producer, sent = Topics(settings), AckingProducer(settings), []
    for schema, ev in events:
        topic = topics.calls.name if schema == "CallLogged" else topics.emails.name
        value = serde.encode(schema, ev)
        producer.produce(topic, value, ev["contact"]["engage_contact_id"].encode())
        sent.append(value)
    producer.flush()
    return sent


def _env(settings: KafkaSettings, org: Any, registry: RegistryStandIn) -> dict:
    return (
        kafka_env(settings)
        | salesforce_env(org)
        | {"SCHEMA_REGISTRY_URL": registry.url}
    )


def _task_ids(admin: SandboxAdmin) -> list[str]:
    return [t["Engage_Activity_Id__c"] for t in admin.records("Task")]


def _framing(value: bytes | None) -> tuple[bytes, int]:
    """The first byte of a value and the 4-byte big-endian id that may follow it."""
    assert value is not None and len(value) >= 5
    return value[:1], struct.unpack(">I", value[1:5])[0]


def _schema_name(registry: RegistryStandIn, schema_id: int) -> str:
    """The full name of the schema the stand-in issued `schema_id` for."""
    schema = json.loads(registry.store.schema(schema_id))
    return f"{schema['namespace']}.{schema['name']}"


def _task_records(
    settings: KafkaSettings, serde: Serde, topic: str, schema: str, n: int
) -> list[Record]:
    """Records of `topic` about Tasks, once there are at least `n` of them."""

    def found() -> list[Record] | None:
        records = [
            r
            for r in read_topic(settings, topic, idle=1.0)
            if serde.decode(schema, r.value)[OBJECT_FIELD[schema]] == "Task"
        ]
        return records if len(records) >= n else None

    return wait_until(found, 60, what=f"{n} Task records on {topic}")


def test_confluent_framed_events_become_tasks_with_confluent_framed_outputs(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
    registry: RegistryStandIn,
) -> None:
    env = _env(kafka_settings, sandbox_org, registry)
    processes.start("worker", env)
    processes.start("writer", env)
    events = _events(people, 20)
    sent = _publish(kafka_settings, Serde(registry.url), events)
    assert all(v[:1] == CONFLUENT_MAGIC for v in sent)

    wait_until(lambda: len(_task_ids(admin)) >= 40, 120, what="40 Tasks")
    assert sorted(_task_ids(admin)) == sorted(ev["event_id"] for _, ev in events)
    # Tasks exist a moment before the writer publishes (and registers) its results.
    wait_until(
        lambda: any(
            e.method == "POST" and "WriteResult-value" in e.path
            for e in registry.requests
        ),
        30,
        what="the writer to register WriteResult",
    )
    seen = registry.requests  # before this process reads anything back

    topics, reader = Topics(kafka_settings), Serde(registry.url)
    commands = _task_records(
        kafka_settings, reader, topics.commands.name, "SalesforceCommand", 40
    )
    results = _task_records(
        kafka_settings, reader, topics.results.name, "WriteResult", 40
    )
    for records, name in ((commands, "SalesforceCommand"), (results, "WriteResult")):
        framings = {_framing(r.value) for r in records}
        assert {magic for magic, _ in framings} == {CONFLUENT_MAGIC}
        assert {_schema_name(registry, i) for _, i in framings} == {f"{NS}.{name}"}
    registered = {
        e.path
        for e in seen
        if e.method == "POST" and e.path.endswith("/versions") and e.status == 200
    }
    # The test's producer, the worker and the writer each registered what they wrote.
    assert registered >= {
        f"/subjects/{NS}.{name}-value/versions"
        for name in ("CallLogged", "EmailEvent", "SalesforceCommand", "WriteResult")
    }
    # ...and readers in other processes resolved those ids through the registry.
    fetched = {e.path for e in seen if e.path.startswith("/schemas/ids/")}
    ids = {_framing(v)[1] for v in sent} | {_framing(r.value)[1] for r in commands}
    assert fetched >= {f"/schemas/ids/{i}" for i in ids}
    # Past markers on every partition, not "until quiet": proof the reader got there.
    assert dead_letters_past(kafka_settings, people, serde=reader) == []


def test_single_object_events_still_written_and_unknown_registry_ids_dead_lettered(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
    registry: RegistryStandIn,
) -> None:
    env = _env(kafka_settings, sandbox_org, registry)
    processes.start("worker", env)
    processes.start("writer", env)
    plain = _events(people, 10)
    sent = _publish(kafka_settings, Serde(), plain)
    assert all(v[:2] == SINGLE_OBJECT_MAGIC for v in sent)
    # Confluent framing with an id the registry never issued: unreadable.
    orphan = (
        CONFLUENT_MAGIC
        + struct.pack(">I", UNKNOWN_ID)
        + Serde().encode("CallLogged", call_event())[10:]
    )
    producer = AckingProducer(kafka_settings)
    producer.produce(Topics(kafka_settings).calls.name, orphan, b"orphan")
    producer.flush()

    wait_until(lambda: len(_task_ids(admin)) >= 20, 120, what="20 Tasks")
    assert sorted(_task_ids(admin)) == sorted(ev["event_id"] for _, ev in plain)
    dead = read_topic(kafka_settings, Topics(kafka_settings).dlq.name, expect=1)
    assert [r.value for r in dead] == [orphan]
    assert dead[0].headers["engage.errors.reason"] == b"undecodable"
    assert b"schema id 4242" in dead[0].headers["__connect.errors.exception.message"]
    assert any(
        e.path == f"/schemas/ids/{UNKNOWN_ID}" and e.status == 404
        for e in registry.requests
    )
    # Outputs use the registry even when the input did not.
    commands = _task_records(
        kafka_settings,
        Serde(registry.url),
        Topics(kafka_settings).commands.name,
        "SalesforceCommand",
        20,
    )
    assert {_framing(r.value)[0] for r in commands} == {CONFLUENT_MAGIC}
