"""Typed commands: each kind encodes to the bytes its hand-built dict did, and back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.kafka.serde import Serde
from domain.commands import (
    Command,
    LeadStatus,
    LinkRequest,
    OptOut,
    ReadById,
    TaskUpsert,
    from_avro,
)

SERDE = Serde()
ISSUED = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
OCCURRED = datetime(2024, 5, 1, 11, 59, 0, 456000, tzinfo=UTC)
LEAD, CONTACT = "00Q000000000001AAA", "003000000000001AAA"
TASK_FIELDS = {
    "Subject": "Call: Discovery call",
    "WhoId": LEAD,
    "CallDurationInSeconds": 125,
    "Engage_Call_Duration_Minutes__c": 2.08,
    "Engage_Activity_Id__c": "evt-1",
}

# Each kind as the producers built it by hand before the typed commands (the dicts
# of streams/activity/processor.py and streams/contacts/actions.py, key for key).
GOLDEN: list[tuple[Command, dict[str, Any]]] = [
    (
        TaskUpsert.for_activity("evt-1", TASK_FIELDS, OCCURRED),
        {
            "command_id": "evt-1",
            "issued_at": ISSUED,
            "operation": "UPSERT",
            "sobject": "Task",
            "external_id_field": "Engage_Activity_Id__c",
            "record_id": None,
            "fields": TASK_FIELDS,
            "source_event_id": "evt-1",
            "source_occurred_at": OCCURRED,
        },
    ),
    (
        ReadById(
            command_id=f"copy-ec-1-{LEAD}",
            sobject="Lead",
            record_id=LEAD,
            engage_contact_id="ec-1",
        ),
        {
            "command_id": f"copy-ec-1-{LEAD}",
            "issued_at": ISSUED,
            "operation": "MATCH",
            "sobject": "Lead",
            "external_id_field": None,
            "record_id": LEAD,
            "fields": {},
            "engage_contact_id": "ec-1",
        },
    ),
    (
        OptOut(
            command_id="optout-evt-2",
            sobject="Contact",
            record_id=CONTACT,
            engage_contact_id="ec-2",
        ),
        {
            "command_id": "optout-evt-2",
            "issued_at": ISSUED,
            "operation": "UPDATE",
            "sobject": "Contact",
            "external_id_field": None,
            "record_id": CONTACT,
            "fields": {"HasOptedOutOfEmail": True},
            "engage_contact_id": "ec-2",
        },
    ),
    (
        LinkRequest(
            command_id="link-evt-3",
            sobject="Contact",
            fields={"Email": "ann@example.org", "Account.Name": "Acme"},
            engage_contact_id="ec-3",
            create=True,
        ),
        {
            "command_id": "link-evt-3",
            "issued_at": ISSUED,
            "operation": "MATCH_OR_CREATE",
            "sobject": "Contact",
            "external_id_field": None,
            "record_id": None,
            "fields": {"Email": "ann@example.org", "Account.Name": "Acme"},
            "engage_contact_id": "ec-3",
        },
    ),
    (
        LinkRequest(
            command_id="link-evt-4",
            sobject="Lead",
            fields={"LastName": "Lee", "Phone": "+14155550100"},
            engage_contact_id="ec-4",
            create=False,
        ),
        {
            "command_id": "link-evt-4",
            "issued_at": ISSUED,
            "operation": "MATCH",
            "sobject": "Lead",
            "external_id_field": None,
            "record_id": None,
            "fields": {"LastName": "Lee", "Phone": "+14155550100"},
            "engage_contact_id": "ec-4",
        },
    ),
    (
        ReadById(
            command_id="verify-evt-5",
            sobject="Contact",
            record_id=CONTACT,
            engage_contact_id="ec-5",
        ),
        {
            "command_id": "verify-evt-5",
            "issued_at": ISSUED,
            "operation": "MATCH",
            "sobject": "Contact",
            "external_id_field": None,
            "record_id": CONTACT,
            "fields": {},
            "engage_contact_id": "ec-5",
        },
    ),
    (
        LeadStatus(
            command_id="status-evt-6",
            record_id=LEAD,
            status="Working - Contacted",
            engage_contact_id="ec-6",
        ),
        {
            "command_id": "status-evt-6",
            "issued_at": ISSUED,
            "operation": "UPDATE",
            "sobject": "Lead",
            "external_id_field": None,
            "record_id": LEAD,
            "fields": {"Status": "Working - Contacted"},
            "engage_contact_id": "ec-6",
        },
    ),
]
IDS = [f"{type(c).__name__}-{d['operation']}-{d['command_id']}" for c, d in GOLDEN]


def _at_issued(command: Command) -> Command:
    return replace(command, issued_at=ISSUED)


@pytest.mark.parametrize(("command", "hand_built"), GOLDEN, ids=IDS)
def test_each_command_kind_encodes_to_the_bytes_of_the_hand_built_dict(
    command: Command, hand_built: dict[str, Any]
) -> None:
    typed = _at_issued(command)
    assert SERDE.encode("SalesforceCommand", typed.to_avro()) == SERDE.encode(
        "SalesforceCommand", hand_built
    )


@pytest.mark.parametrize(("command", "hand_built"), GOLDEN, ids=IDS)
def test_each_command_kind_decodes_back_to_the_same_typed_command(
    command: Command, hand_built: dict[str, Any]
) -> None:
    typed = _at_issued(command)
    decoded = SERDE.decode(
        "SalesforceCommand", SERDE.encode("SalesforceCommand", typed.to_avro())
    )
    assert from_avro(decoded) == typed


def test_a_command_no_producer_builds_is_refused_by_from_avro() -> None:
    forged = GOLDEN[2][1] | {"fields": {"HasOptedOutOfEmail": False}}
    with pytest.raises(ValueError, match="not a command Engage builds: UPDATE"):
        from_avro(forged)


def test_issued_at_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    command = OptOut(
        command_id="c", sobject="Lead", record_id=LEAD, engage_contact_id="ec"
    )
    assert before <= command.issued_at <= datetime.now(UTC)
