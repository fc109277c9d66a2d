"""Tests for reading what the writer needs from the org's Task describe."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from connectors.salesforce.contract import TaskContract
from connectors.salesforce.errors import (
    ErrorKind,
    FatalError,
    Problem,
    classify_record_error,
)

EXTERNAL_ID = "Engage_Activity_Id__c"
MINUTES = "Engage_Call_Duration_Minutes__c"

Describe = Callable[..., dict[str, Any]]


def _field(name: str, type_: str = "string", **overrides: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "type": type_,
        "length": 255 if type_ in ("string", "picklist", "combobox") else 0,
        "nillable": True,
        "createable": True,
        "updateable": True,
        "defaultedOnCreate": False,
        "restrictedPicklist": False,
        "externalId": False,
        "unique": False,
        "idLookup": False,
        "referenceTo": [],
        "relationshipName": None,
        "picklistValues": [],
        "custom": name.endswith("__c"),
    } | overrides


def _read_only(name: str, type_: str = "boolean") -> dict[str, Any]:
    return _field(name, type_, createable=False, updateable=False, nillable=False)


@pytest.fixture
def task_describe() -> Describe:
    """Factory for a Task describe as GET /sobjects/Task/describe returns it.

    Keyword arguments replace or add fields by name (a dict) or drop them (None).
    """

    def make(**fields: dict[str, Any] | None) -> dict[str, Any]:
        standard = [
            _field("Id", "id", createable=False, updateable=False, idLookup=True),
            _field("Subject", "combobox"),
            _field(
                "Status",
                "picklist",
                nillable=False,
                defaultedOnCreate=True,
                picklistValues=[
                    {
                        "active": True,
                        "defaultValue": True,
                        "label": "Not Started",
                        "validFor": None,
                        "value": "Not Started",
                    },
                    {
                        "active": True,
                        "defaultValue": False,
                        "label": "Completed",
                        "validFor": None,
                        "value": "Completed",
                    },
                ],
            ),
            _field("ActivityDate", "date"),
            _field(
                "WhoId",
                "reference",
                referenceTo=["Contact", "Lead"],
                relationshipName="Who",
                polymorphicForeignKey=True,
            ),
            _field("OwnerId", "reference", referenceTo=["User", "Group"]),
            _field("Description", "textarea", length=32000),
            # Create-only: Salesforce refuses it on update.
            _field(
                "TaskSubtype", "picklist", updateable=False, restrictedPicklist=True
            ),
            _field("CallType", "picklist", restrictedPicklist=True),
            _field("CallDisposition"),
            _field("CallDurationInSeconds", "int"),
            _read_only("IsClosed"),
            _read_only("IsHighPriority"),
            _read_only("AccountId", "reference"),
            _read_only("CreatedDate", "datetime"),
            _read_only("SystemModstamp", "datetime"),
            _field(
                EXTERNAL_ID,
                externalId=True,
                unique=True,
                idLookup=True,
                caseSensitive=False,
            ),
            _field(MINUTES, "double", precision=16, scale=2),
        ]
        by_name = {f["name"]: f for f in standard}
        for name, value in fields.items():
            if value is None:
                by_name.pop(name, None)
            else:
                by_name[name] = value
        return {
            "name": "Task",
            "label": "Task",
            "keyPrefix": "00T",
            "createable": True,
            "updateable": True,
            "queryable": True,
            "fields": list(by_name.values()),
            "recordTypeInfos": [],
            "urls": {"sobject": "/services/data/v59.0/sobjects/Task"},
        }

    return make


def test_org_with_the_engage_fields_gives_a_contract_with_nothing_absent(
    task_describe: Describe,
) -> None:
    contract = TaskContract.from_describe(task_describe())

    assert contract.absent == frozenset()


BROKEN_EXTERNAL_ID = {
    "missing": (None, "does not exist"),
    "not an external id": (
        _field(EXTERNAL_ID, externalId=False, unique=True),
        "is not an External ID",
    ),
    "not unique": (
        _field(EXTERNAL_ID, externalId=True, unique=False),
        "is not Unique",
    ),
}


@pytest.mark.parametrize(
    ("ext_field", "problem"), BROKEN_EXTERNAL_ID.values(), ids=BROKEN_EXTERNAL_ID.keys()
)
def test_unusable_activity_id_field_is_fatal_and_names_the_setup_step(
    task_describe: Describe, ext_field: dict[str, Any] | None, problem: str
) -> None:
    with pytest.raises(FatalError) as raised:
        TaskContract.from_describe(task_describe(**{EXTERNAL_ID: ext_field}))

    message = str(raised.value)
    assert raised.value.problem.kind is ErrorKind.FATAL
    assert f"Task.{EXTERNAL_ID} {problem}" in message
    assert "'External ID' and 'Unique' ticked" in message
    assert "README: Salesforce setup" in message


def test_missing_minutes_field_is_left_out_by_prepare_with_a_warning(
    task_describe: Describe, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors.salesforce.contract"):
        contract = TaskContract.from_describe(task_describe(**{MINUTES: None}))

    prepared = contract.prepare(
        {"Subject": "Call: Discovery call", MINUTES: 2.08, EXTERNAL_ID: "evt-1"}
    )

    assert prepared == {"Subject": "Call: Discovery call", EXTERNAL_ID: "evt-1"}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert MINUTES in warnings[0].getMessage()


def test_present_minutes_field_is_kept_by_prepare_without_a_warning(
    task_describe: Describe, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors.salesforce.contract"):
        contract = TaskContract.from_describe(task_describe())

    fields = {"Subject": "Call", MINUTES: 2.08, EXTERNAL_ID: "evt-1"}

    assert contract.prepare(fields) == fields
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_prepare_does_not_change_the_fields_it_is_given(
    task_describe: Describe,
) -> None:
    contract = TaskContract.from_describe(task_describe(**{MINUTES: None}))
    fields = {"Subject": "Call", MINUTES: 2.08}

    contract.prepare(fields)

    assert fields == {"Subject": "Call", MINUTES: 2.08}


def test_create_only_fields_are_createable_but_not_updateable(
    task_describe: Describe,
) -> None:
    contract = TaskContract.from_describe(task_describe())

    assert contract.create_only == frozenset({"TaskSubtype"})


def _refusal(*fields: str) -> Problem:
    return classify_record_error(
        {
            "statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "message": f"Unable to create/update fields: {', '.join(fields)}. Please "
            "check the security settings of this field and verify that it is "
            "read/write for your profile or permission set.",
            "fields": list(fields),
        }
    )


REFUSALS = {
    "create-only field refused on update": (_refusal("TaskSubtype"), True),
    "refusal also naming an updateable field": (
        _refusal("TaskSubtype", "Subject"),
        False,
    ),
    "refusal of an updateable field": (_refusal("Subject"), False),
    "refusal naming no field": (_refusal(), False),
    "other code on a create-only field": (
        classify_record_error(
            {
                "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "message": "Task Subtype: bad value for restricted picklist field",
                "fields": ["TaskSubtype"],
            }
        ),
        False,
    ),
}


@pytest.mark.parametrize(
    ("problem", "expected"), REFUSALS.values(), ids=REFUSALS.keys()
)
def test_only_a_refusal_of_create_only_fields_is_a_create_only_refusal(
    task_describe: Describe, problem: Problem, expected: bool
) -> None:
    contract = TaskContract.from_describe(task_describe())

    assert contract.is_create_only_refusal(problem) is expected
