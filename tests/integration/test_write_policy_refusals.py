"""Forged commands never reach Salesforce: the writer refuses them into the DLQ."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.kafka_helpers import read_topic

FORGED = 100
PEOPLE = 20
REASON = b"policy-refused"
OWNER = "0055e00000AbCdEEAV"


@pytest.fixture
def admin(sandbox_org: Any) -> SandboxAdmin:
    return SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)


@pytest.fixture
def people(admin: SandboxAdmin) -> tuple[list[str], list[str]]:
    """Ids of 20 Leads and 20 Contacts in the org."""
    admin.put_records(
        "Lead",
        [
            {
                "LastName": f"Lead{i}",
                "Company": f"Co {i}",
                "Email": f"l{i}@example.org",
                "Status": "Open - Not Contacted",
            }
            for i in range(PEOPLE)
        ],
    )
    admin.put_records(
        "Contact",
        [
            {"LastName": f"Person{i}", "Email": f"c{i}@example.org"}
            for i in range(PEOPLE)
        ],
    )
    leads = [r["Id"] for r in admin.records("Lead")]
    contacts = [r["Id"] for r in admin.records("Contact")]
    assert len(leads) == len(contacts) == PEOPLE
    return leads, contacts


Forge = Callable[[str, str], dict[str, Any]]


def _cmd(
    operation: str,
    sobject: str,
    fields: dict[str, Any],
    record_id: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    return {
        "operation": operation,
        "sobject": sobject,
        "record_id": record_id,
        "external_id_field": key,
        "fields": fields,
    }


def _task_fields(**more: Any) -> dict[str, Any]:
    return {
        "Subject": "Call: forged",
        "Status": "Completed",
        "Engage_Activity_Id__c": f"forged-{uuid.uuid4()}",
    } | more


# Each takes a Lead id and a Contact id and forges one command the policy refuses.
KINDS: dict[str, Forge] = {
    "lead last name": lambda lead, _: _cmd("UPDATE", "Lead", {"LastName": "X"}, lead),
    "contact last name": lambda _, c: _cmd("UPDATE", "Contact", {"LastName": "X"}, c),
    "lead email": lambda lead, _: _cmd("UPDATE", "Lead", {"Email": "x@x.org"}, lead),
    "contact email": lambda _, c: _cmd("UPDATE", "Contact", {"Email": "x@x.org"}, c),
    "lead owner": lambda lead, _: _cmd("UPDATE", "Lead", {"OwnerId": OWNER}, lead),
    "contact owner": lambda _, c: _cmd("UPDATE", "Contact", {"OwnerId": OWNER}, c),
    "lead status and name": lambda lead, _: _cmd(
        "UPDATE", "Lead", {"Status": "Working", "LastName": "X"}, lead
    ),
    "lead status and email": lambda lead, _: _cmd(
        "UPDATE", "Lead", {"Status": "Working", "Email": "x@x.org"}, lead
    ),
    "lead status and opt-out": lambda lead, _: _cmd(
        "UPDATE", "Lead", {"Status": "Working", "HasOptedOutOfEmail": True}, lead
    ),
    "delete lead": lambda lead, _: _cmd("DELETE", "Lead", {}, lead),
    "delete contact": lambda _, c: _cmd("DELETE", "Contact", {}, c),
    "delete task": lambda *_: _cmd("DELETE", "Task", {}, "00T5e00000AbCdEEAV"),
    "task upsert with extra fields": lambda lead, _: _cmd(
        "UPSERT",
        "Task",
        _task_fields(WhoId=lead, Priority="High", IsClosed=True),
        key="Engage_Activity_Id__c",
    ),
    "task upsert keyed by Id": lambda *_: _cmd(
        "UPSERT", "Task", _task_fields(Id="00T5e00000AbCdEEAV"), key="Id"
    ),
    "lead upsert keyed by Id": lambda lead, _: _cmd(
        "UPSERT", "Lead", {"Id": lead, "LastName": "X"}, key="Id"
    ),
    "contact upsert keyed by Email": lambda _, c: _cmd(
        "UPSERT", "Contact", {"Email": "c0@example.org", "LastName": "X"}, key="Email"
    ),
    "update opportunity": lambda *_: _cmd(
        "UPDATE", "Opportunity", {"StageName": "Closed Won"}, "0065e00000AbCdEEAV"
    ),
    "update user": lambda *_: _cmd("UPDATE", "User", {"IsActive": False}, OWNER),
    "update account": lambda *_: _cmd(
        "UPDATE", "Account", {"Name": "Renamed"}, "0015e00000AbCdEEAV"
    ),
    "create task": lambda lead, _: _cmd("CREATE", "Task", _task_fields(WhoId=lead)),
    "lead opted back in": lambda lead, _: _cmd(
        "UPDATE", "Lead", {"HasOptedOutOfEmail": False}, lead
    ),
    "contact opted back in": lambda _, c: _cmd(
        "UPDATE", "Contact", {"HasOptedOutOfEmail": False}, c
    ),
    "lead status with a contact id": lambda _, c: _cmd(
        "UPDATE", "Lead", {"Status": "Working"}, c
    ),
    "contact opt-out with a lead id": lambda lead, _: _cmd(
        "UPDATE", "Contact", {"HasOptedOutOfEmail": True}, lead
    ),
    "lead status without an id": lambda *_: _cmd(
        "UPDATE", "Lead", {"Status": "Working"}
    ),
}


def _forged(leads: list[str], contacts: list[str]) -> list[dict[str, Any]]:
    kinds = list(KINDS.values())
    now = datetime.now(UTC)
    return [
        kinds[i % len(kinds)](leads[i % len(leads)], contacts[i % len(contacts)])
        | {
            "command_id": f"forged-{i}-{uuid.uuid4()}",
            "issued_at": now,
            "source_event_id": None,
            "source_occurred_at": None,
            "engage_contact_id": f"ec-{i}",
        }
        for i in range(FORGED)
    ]


def _publish(
    settings: KafkaSettings, commands: list[dict[str, Any]]
) -> dict[bytes, bytes]:
    """Publish the commands keyed by command_id; return key -> value bytes sent."""
    topic, serde = Topics(settings).commands.name, Serde()
    producer = AckingProducer(settings)
    sent = {
        c["command_id"].encode(): serde.encode("SalesforceCommand", c) for c in commands
    }
    for key, value in sent.items():
        producer.produce(topic, value, key)
    producer.flush()
    return sent


def _snapshot(admin: SandboxAdmin) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        sobject: {r["Id"]: r for r in admin.records(sobject, include_deleted=True)}
        for sobject in ("Lead", "Contact")
    }


def test_forged_commands_are_refused_into_the_dlq_and_leave_the_org_untouched(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: tuple[list[str], list[str]],
    processes: Processes,
) -> None:
    topics = Topics(kafka_settings)
    before = _snapshot(admin)
    counts_before = admin.stats()["records"]
    commands = _forged(*people)
    sent = _publish(kafka_settings, commands)
    assert len(sent) == FORGED

    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    writer = processes.start("writer", env)

    dead = read_topic(kafka_settings, topics.dlq.name, expect=FORGED, timeout=120)
    assert len(dead) == FORGED, f"writer log:\n{writer.output()[-3000:]}"
    assert Counter(r.headers.get("engage.errors.reason") for r in dead) == {
        REASON: FORGED
    }
    assert {r.key: r.value for r in dead} == sent
    messages = [r.headers["__connect.errors.exception.message"] for r in dead]
    assert all(m.strip() for m in messages)

    serde = Serde()
    results = [
        serde.decode("WriteResult", r.value)
        for r in read_topic(kafka_settings, topics.results.name, expect=FORGED)
    ]
    assert len(results) == FORGED
    assert {r["event_id"] for r in results} == {c["command_id"] for c in commands}
    assert not any(r["success"] for r in results)
    assert {r["status_code"] for r in results} == {"policy-refused"}
    assert all(r["message"] for r in results)

    assert _snapshot(admin) == before
    assert admin.records("Task", include_deleted=True) == []
    assert admin.stats()["records"] == counts_before
    print(
        f"\n{FORGED} forged commands ({len(KINDS)} kinds): {len(dead)} refused into "
        f"engage.dlq, {len(results)} failed results, 0 records changed, 0 Tasks"
    )
