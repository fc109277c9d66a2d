"""Tests for the write policy: the only writes Engage may make in Salesforce."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.salesforce.policy import TASK_FIELDS, PolicyRefusal, check

EXTERNAL_ID = "Engage_Activity_Id__c"


def _call_task_fields(**overrides: Any) -> dict[str, Any]:
    """Fields the activity agent sends for a logged call."""
    return {
        "Subject": "Call: Discovery call",
        "Description": "Call Result: Connected - direct line",
        "Status": "Completed",
        "ActivityDate": "2024-05-14",
        "WhoId": "003000000000001AAA",
        "OwnerId": "005000000000001AAA",
        "TaskSubtype": "Call",
        "CallDisposition": "Connected - direct line",
        "CallType": "Outbound",
        "CallDurationInSeconds": 125,
        "Engage_Call_Duration_Minutes__c": 2.08,
        EXTERNAL_ID: "0b6f7c1e-6c1a-4c55-9d1e-1a2b3c4d5e6f",
    } | overrides


def _command(**overrides: Any) -> dict[str, Any]:
    """A decoded SalesforceCommand: the allowed Task upsert unless overridden."""
    return {
        "command_id": "0b6f7c1e-6c1a-4c55-9d1e-1a2b3c4d5e6f",
        "issued_at": None,
        "operation": "UPSERT",
        "sobject": "Task",
        "external_id_field": EXTERNAL_ID,
        "record_id": None,
        "fields": _call_task_fields(),
        "source_event_id": "0b6f7c1e-6c1a-4c55-9d1e-1a2b3c4d5e6f",
        "source_occurred_at": None,
    } | overrides


def test_task_upsert_by_activity_id_with_the_agents_call_fields_passes() -> None:
    assert _call_task_fields().keys() == TASK_FIELDS

    check(_command())


def test_email_task_upsert_with_a_subset_of_the_fields_passes() -> None:
    fields = {
        "Subject": "Email: Opened",
        "Status": "Completed",
        "WhoId": "00Q000000000001AAA",
        "TaskSubtype": "Email",
        EXTERNAL_ID: "evt-email-1",
    }

    check(_command(fields=fields))


def test_null_values_of_allowed_fields_pass() -> None:
    check(_command(fields=_call_task_fields(Description=None, CallType=None)))


REFUSED = {
    "field outside the agent's set": (
        _command(fields=_call_task_fields(Priority="High")),
        "may not write field(s) Priority",
    ),
    "read-only field": (
        _command(fields=_call_task_fields(IsClosed=True)),
        "IsClosed",
    ),
    "several extra fields, all named": (
        _command(fields=_call_task_fields(WhatId="001000000000001AAA", Type="Call")),
        "Type, WhatId",
    ),
    "upsert of a contact": (
        _command(sobject="Contact", fields={"LastName": "Smith", EXTERNAL_ID: "x"}),
        "UPSERT on Contact is not a write Engage may make",
    ),
    "upsert of a lead": (
        _command(sobject="Lead", fields={"Company": "Acme", EXTERNAL_ID: "x"}),
        "UPSERT on Lead is not a write Engage may make",
    ),
    "upsert of an event": (
        _command(sobject="Event", fields={"Subject": "Meeting", EXTERNAL_ID: "x"}),
        "UPSERT on Event is not a write Engage may make",
    ),
    "delete of a task": (
        _command(
            operation="DELETE",
            external_id_field=None,
            record_id="00T5e00000AbCdEEAV",
            fields={},
        ),
        "DELETE on Task is not a write Engage may make",
    ),
    "update of a task": (
        _command(
            operation="UPDATE",
            external_id_field=None,
            record_id="00T5e00000AbCdEEAV",
            fields={"Status": "Completed"},
        ),
        "UPDATE on Task is not a write Engage may make",
    ),
    "create of a task": (
        _command(operation="CREATE", external_id_field=None),
        "CREATE on Task is not a write Engage may make",
    ),
    "create of a task keyed like an upsert": (
        _command(operation="CREATE"),
        "CREATE on Task is not a write Engage may make",
    ),
    "create of a contact": (
        _command(
            operation="CREATE",
            sobject="Contact",
            external_id_field=None,
            fields={"LastName": "Smith"},
        ),
        "CREATE on Contact is not a write Engage may make",
    ),
    "missing activity id value": (
        _command(
            fields={k: v for k, v in _call_task_fields().items() if k != EXTERNAL_ID}
        ),
        f"UPSERT Task needs {EXTERNAL_ID}",
    ),
    "null activity id value": (
        _command(fields=_call_task_fields(**{EXTERNAL_ID: None})),
        f"UPSERT Task needs {EXTERNAL_ID}",
    ),
    "empty activity id value": (
        _command(fields=_call_task_fields(**{EXTERNAL_ID: ""})),
        f"UPSERT Task needs {EXTERNAL_ID}",
    ),
    "upsert keyed by Id": (
        _command(external_id_field="Id"),
        "must be keyed by Engage_Activity_Id__c",
    ),
    "upsert keyed by another external id": (
        _command(external_id_field="Legacy_Id__c"),
        "must be keyed by Engage_Activity_Id__c",
    ),
    "upsert without an external id field": (
        _command(external_id_field=None),
        "must be keyed by Engage_Activity_Id__c",
    ),
}


@pytest.mark.parametrize(("command", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_write_outside_the_policy_is_refused_with_a_reason(
    command: dict[str, Any], reason: str
) -> None:
    with pytest.raises(PolicyRefusal) as raised:
        check(command)

    assert reason in str(raised.value)


@pytest.mark.parametrize("ext_field", ["Id", "Legacy_Id__c"])
def test_upsert_keyed_by_another_field_names_that_field_in_the_reason(
    ext_field: str,
) -> None:
    with pytest.raises(PolicyRefusal) as raised:
        check(_command(external_id_field=ext_field))

    assert ext_field in str(raised.value)
    assert EXTERNAL_ID in str(raised.value)
