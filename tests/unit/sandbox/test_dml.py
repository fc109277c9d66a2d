"""Record writes: describe-driven validation, system fields, side effects, upsert."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import ids
from sandbox.admin_records import AdminRecords
from sandbox.dml import Dml, WriteOptions
from sandbox.errors import ApiError
from sandbox.faults import FaultPlan
from sandbox.metadata import OrgConfig
from sandbox.rules import RuleSet
from sandbox.state import OrgState

OPTS = WriteOptions()


def err(fn: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn(*args)
    return info.value


def get(state: OrgState, rid: str) -> dict[str, Any]:
    found = state.store.get(rid)
    assert found is not None
    return found[1]


def test_create_sets_defaults_and_system_fields(dml: Dml, state: OrgState) -> None:
    rid = dml.create(
        "Lead",
        {"LastName": "Li", "Company": "Acme", "FirstName": "Wei", "Email": ""},
        OPTS,
    )
    rec = get(state, rid)
    assert rid.startswith("00Q") and len(rid) == 18
    assert rec["Status"] == "Open - Not Contacted"
    assert rec["Name"] == "Wei Li"
    assert rec["Email"] is None  # empty string is stored as null
    assert rec["IsDeleted"] is False and rec["IsConverted"] is False
    assert rec["HasOptedOutOfEmail"] is False
    assert rec["OwnerId"] == state.creds.user_id
    assert rec["CreatedDate"] == rec["LastModifiedDate"] == rec["SystemModstamp"]
    assert rec["SystemModstamp"].endswith(".000+0000")


def test_required_fields_missing(dml: Dml) -> None:
    e = err(dml.create, "Lead", {"FirstName": "x"}, OPTS)
    assert e.body() == [
        {
            "message": "Required fields are missing: [LastName, Company]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName", "Company"],
        }
    ]


def test_setting_required_field_to_null_on_update(dml: Dml) -> None:
    rid = dml.create("Contact", {"LastName": "A"}, OPTS)
    assert (
        err(dml.update, "Contact", rid, {"LastName": None}, OPTS).error_code
        == "REQUIRED_FIELD_MISSING"
    )


def test_string_too_long(dml: Dml) -> None:
    e = err(dml.create, "Task", {"Subject": "x" * 256}, OPTS)
    assert e.error_code == "STRING_TOO_LONG"
    assert e.fields == ["Subject"]
    assert e.message == f"Subject: data value too large: {'x' * 256} (max length=255)"
    dml.create("Task", {"Description": "y" * 32000}, OPTS)


def test_invalid_type(dml: Dml) -> None:
    e = err(dml.create, "Task", {"ActivityDate": "not-a-date"}, OPTS)
    assert e.item() == {
        "statusCode": "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "message": "Due Date Only: value not of required type: not-a-date",
        "fields": ["ActivityDate"],
    }
    assert (
        err(dml.create, "Task", {"CallDurationInSeconds": "abc"}, OPTS).error_code
        == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    )
    assert (
        err(
            dml.create,
            "Lead",
            {"LastName": "a", "Company": "b", "HasOptedOutOfEmail": "yes"},
            OPTS,
        ).error_code
        == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    )


def test_numbers_are_coerced_and_rounded(dml: Dml, state: OrgState) -> None:
    rid = dml.create(
        "Task",
        {"CallDurationInSeconds": "90", "Engage_Call_Duration_Minutes__c": 1.23456},
        OPTS,
    )
    rec = get(state, rid)
    assert rec["CallDurationInSeconds"] == 90
    assert rec["Engage_Call_Duration_Minutes__c"] == 1.23


def test_restricted_picklist(dml: Dml) -> None:
    e = err(dml.create, "Task", {"CallType": "Sideways"}, OPTS)
    assert e.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert e.message == "Call Type: bad value for restricted picklist field: Sideways"
    dml.create("Task", {"CallType": "Outbound", "Type": "Anything goes"}, OPTS)


def test_unknown_field(dml: Dml) -> None:
    e = err(dml.create, "Task", {"Foo__c": 1}, OPTS)
    assert e.body() == [
        {
            "message": "No such column 'Foo__c' on sobject of type Task",
            "errorCode": "INVALID_FIELD",
            "fields": [],
        }
    ]


def test_read_only_fields_cannot_be_written(dml: Dml) -> None:
    e = err(dml.create, "Task", {"IsClosed": True, "CreatedDate": "2024-01-01"}, OPTS)
    assert e.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert e.fields == ["IsClosed", "CreatedDate"]


def test_task_subtype_is_create_only(dml: Dml) -> None:
    rid = dml.create("Task", {"TaskSubtype": "Call"}, OPTS)
    e = err(dml.update, "Task", rid, {"TaskSubtype": "Email"}, OPTS)
    assert e.body() == [
        {
            "message": "Unable to create/update fields: TaskSubtype. Please check the "
            "security settings of this field and verify that it is read/write "
            "for your profile or permission set.",
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": ["TaskSubtype"],
        }
    ]


def test_upsert_created_then_updated_and_subtype_on_update(dml: Dml) -> None:
    body = {"Subject": "Call", "TaskSubtype": "Call", "Status": "Completed"}
    rid, created = dml.upsert("Task", "Engage_Activity_Id__c", "A-1", body, OPTS)
    assert created is True
    assert dml.upsert(
        "Task", "engage_activity_id__c", "a-1", {"Subject": "x"}, OPTS
    ) == (rid, False)
    e = err(dml.upsert, "Task", "Engage_Activity_Id__c", "A-1", body, OPTS)
    assert e.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert e.fields == ["TaskSubtype"]


def test_upsert_on_non_external_field_is_not_found(dml: Dml) -> None:
    for field in ("Subject", "Nope__c"):
        e = err(dml.upsert, "Task", field, "x", {}, OPTS)
        assert (e.status, e.body()) == (
            404,
            [
                {
                    "message": "The requested resource does not exist",
                    "errorCode": "NOT_FOUND",
                }
            ],
        )


def test_unique_external_id_rejects_duplicates(dml: Dml) -> None:
    first = dml.create("Task", {"Engage_Activity_Id__c": "dup"}, OPTS)
    e = err(dml.create, "Task", {"Engage_Activity_Id__c": "DUP"}, OPTS)
    assert e.error_code == "DUPLICATE_VALUE"
    assert first in e.message


def test_non_unique_external_id_allows_duplicates_and_upsert_answers_300(
    dml: Dml, state: OrgState
) -> None:
    state.set_config(OrgConfig(ext_id_unique=False))
    a = dml.create("Task", {"Engage_Activity_Id__c": "dup"}, OPTS)
    b = dml.create("Task", {"Engage_Activity_Id__c": "dup"}, OPTS)
    e = err(dml.upsert, "Task", "Engage_Activity_Id__c", "dup", {}, OPTS)
    assert e.status == 300
    assert e.body() == [
        f"/services/data/v59.0/sobjects/Task/{a}",
        f"/services/data/v59.0/sobjects/Task/{b}",
    ]


def test_custom_fields_can_be_omitted(dml: Dml, state: OrgState) -> None:
    state.set_config(OrgConfig(task_custom_fields=False))
    assert (
        err(dml.create, "Task", {"Engage_Activity_Id__c": "x"}, OPTS).error_code
        == "INVALID_FIELD"
    )
    assert err(dml.upsert, "Task", "Engage_Activity_Id__c", "x", {}, OPTS).status == 404


def test_update_missing_deleted_and_wrong_type(dml: Dml) -> None:
    rid = dml.create("Contact", {"LastName": "A"}, OPTS)
    assert err(dml.update, "Lead", rid, {}, OPTS).error_code == "NOT_FOUND"
    assert (
        err(dml.update, "Contact", ids.make_id("003", 999999), {}, OPTS).status == 404
    )
    dml.delete("Contact", rid, OPTS)
    e = err(dml.update, "Contact", rid, {"LastName": "B"}, OPTS)
    assert (e.status, e.body()) == (
        404,
        [
            {
                "message": "entity is deleted",
                "errorCode": "ENTITY_IS_DELETED",
                "fields": [],
            }
        ],
    )
    assert err(dml.delete, "Contact", rid, OPTS).error_code == "ENTITY_IS_DELETED"


def test_converted_lead_cannot_be_updated(dml: Dml, admin: AdminRecords) -> None:
    rid = dml.create("Lead", {"LastName": "A", "Company": "C"}, OPTS)
    converted = admin.convert(rid)
    assert converted["contact_id"].startswith("003")
    e = err(dml.update, "Lead", rid, {"Title": "x"}, OPTS)
    assert e.error_code == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_task_touches_who_systemmodstamp_but_not_lastmodifieddate(
    dml: Dml, admin: AdminRecords, state: OrgState
) -> None:
    old = "2020-01-01T00:00:00.000+0000"
    lead, _ = admin.put(
        state.schema.objects["Lead"],
        {
            "LastName": "A",
            "Company": "C",
            "SystemModstamp": old,
            "LastModifiedDate": old,
        },
    )
    dml.create(
        "Task",
        {"WhoId": lead, "ActivityDate": "2024-06-01", "Status": "Completed"},
        OPTS,
    )
    rec = get(state, lead)
    assert rec["LastModifiedDate"] == old
    assert rec["SystemModstamp"] > old
    assert rec["LastActivityDate"] == "2024-06-01"


def test_task_derived_fields(dml: Dml, state: OrgState) -> None:
    account = dml.create("Account", {"Name": "Acme"}, OPTS)
    contact = dml.create("Contact", {"LastName": "A", "AccountId": account}, OPTS)
    rid = dml.create(
        "Task", {"WhoId": contact, "Status": "Completed", "Priority": "High"}, OPTS
    )
    rec = get(state, rid)
    assert rec["IsClosed"] is True and rec["IsHighPriority"] is True
    assert rec["CompletedDateTime"] is not None
    assert rec["AccountId"] == account


def test_references_are_checked(dml: Dml) -> None:
    assert (
        err(dml.create, "Task", {"WhoId": "garbage"}, OPTS).error_code == "MALFORMED_ID"
    )
    assert (
        err(dml.create, "Task", {"WhoId": ids.make_id("001", 5)}, OPTS).error_code
        == "FIELD_INTEGRITY_EXCEPTION"
    )
    assert (
        err(dml.create, "Task", {"WhoId": ids.make_id("003", 99999)}, OPTS).error_code
        == "INVALID_CROSS_REFERENCE_KEY"
    )
    lead = dml.create("Lead", {"LastName": "A", "Company": "C"}, OPTS)
    account = dml.create("Account", {"Name": "Acme"}, OPTS)
    e = err(dml.create, "Task", {"WhoId": lead, "WhatId": account}, OPTS)
    assert e.error_code == "FIELD_INTEGRITY_EXCEPTION"


def test_fifteen_char_reference_is_stored_as_18(dml: Dml, state: OrgState) -> None:
    contact = dml.create("Contact", {"LastName": "A"}, OPTS)
    rid = dml.create("Task", {"WhoId": contact[:15]}, OPTS)
    assert get(state, rid)["WhoId"] == contact


def test_validation_and_duplicate_rules_apply(dml: Dml, state: OrgState) -> None:
    state.set_rules(
        RuleSet.from_json(
            {
                "validation_rules": [
                    {
                        "object": "Lead",
                        "name": "Phone",
                        "message": "Phone too short",
                        "condition": {
                            "kind": "min_digits",
                            "field": "Phone",
                            "digits": 10,
                        },
                    }
                ],
                "duplicate_rules": [
                    {"object": "Lead", "name": "Dup", "action": "alert"}
                ],
            }
        )
    )
    assert (
        err(
            dml.create, "Lead", {"LastName": "A", "Company": "C", "Phone": "555"}, OPTS
        ).error_code
        == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    )
    contact = dml.create("Contact", {"LastName": "A", "Email": "Same@x.com"}, OPTS)
    e = err(
        dml.create,
        "Lead",
        {"LastName": "A", "Company": "C", "Email": " same@X.com"},
        OPTS,
    )
    match = e.body()[0]["duplicateResult"]["matchResults"][0]
    assert match["matchRecords"][0]["record"]["Id"] == contact
    dml.create(
        "Lead",
        {"LastName": "A", "Company": "C", "Email": "same@x.com"},
        WriteOptions(allow_save=True),
    )


def test_injected_record_faults(dml: Dml, state: OrgState) -> None:
    state.faults.set_plan(
        FaultPlan.from_json(
            {
                "next": [
                    {"fault": "UNABLE_TO_LOCK_ROW", "count": 1},
                    {"fault": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "count": 1},
                    {"fault": "DUPLICATES_DETECTED", "count": 1},
                ]
            }
        )
    )
    codes = [
        err(dml.create, "Account", {"Name": "x"}, OPTS).error_code for _ in range(3)
    ]
    assert codes == [
        "UNABLE_TO_LOCK_ROW",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "DUPLICATES_DETECTED",
    ]
    assert state.store.counts().get("Account", 0) == 0
    dml.create("Account", {"Name": "x"}, OPTS)


def test_admin_put_honours_explicit_stamps(
    admin: AdminRecords, state: OrgState
) -> None:
    stamp = "2024-05-01T12:00:00.000+0000"
    rid, created = admin.put(
        state.schema.objects["Contact"],
        {"LastName": "A", "SystemModstamp": "2024-05-01T12:00:00Z"},
    )
    rec = get(state, rid)
    assert created and rec["SystemModstamp"] == rec["LastModifiedDate"] == stamp
    _, created = admin.put(
        state.schema.objects["Contact"],
        {
            "Id": rid,
            "Title": "CEO",
            "LastModifiedDate": "2024-05-01T11:00:00Z",
            "SystemModstamp": stamp,
        },
    )
    rec = get(state, rid)
    assert not created and rec["Title"] == "CEO"
    assert rec["LastModifiedDate"] == "2024-05-01T11:00:00.000+0000"


def test_admin_merge_deletes_losers_and_moves_tasks(
    dml: Dml, admin: AdminRecords, state: OrgState
) -> None:
    master = dml.create("Contact", {"LastName": "M"}, OPTS)
    loser = dml.create("Contact", {"LastName": "L"}, OPTS)
    task = dml.create("Task", {"WhoId": loser}, OPTS)
    admin.merge(master, [loser])
    rec = get(state, loser)
    assert rec["IsDeleted"] is True and rec["MasterRecordId"] == master
    assert get(state, task)["WhoId"] == master


@pytest.mark.parametrize("active", [True, False])
def test_standard_account_rule_refuses_a_company_name_written_another_way(
    active: bool, dml: Dml, state: OrgState
) -> None:
    from sandbox.seed import standard_account_duplicate_rule

    rule = standard_account_duplicate_rule(active)
    state.set_rules(RuleSet.from_json({"duplicate_rules": [rule]}))
    first = dml.create("Account", {"Name": "Initech"}, OPTS)
    if not active:
        assert dml.create("Account", {"Name": "The INITECH, Inc."}, OPTS) != first
        return
    e = err(dml.create, "Account", {"Name": "The INITECH, Inc."}, OPTS)
    assert e.error_code == "DUPLICATES_DETECTED"
    result = e.body()[0]["duplicateResult"]
    assert result["duplicateRule"] == "Standard_Account_Duplicate_Rule"
    assert result["allowSave"] is True  # Allow + Alert: refused without the header
    assert result["matchResults"][0]["matchRecords"][0]["record"]["Id"] == first
    assert dml.create("Account", {"Name": "Initech Labs"}, OPTS) != first
    allowed = WriteOptions(allow_save=True)
    assert dml.create("Account", {"Name": "Initech Corp"}, allowed) != first
