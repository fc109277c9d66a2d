"""Creates follow the field mapping: the policy allows, on CREATE only, the createable
fields the mapping sends; `settings apply` refuses a create setting that would leave a
required field empty."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.salesforce.policy import PolicyRefusal, check, mapped_create_fields
from domain.crm_settings.describe_check import check_against_describe
from domain.crm_settings.document import parse_document
from tests.unit.test_crm_settings import org_describes, sf_describe, sf_field

LEAD_ID = "00Q5e00000AbCdEEAV"
MAPPING = """
objects:
  Lead:
    mapping:
      - {engage: last_name, salesforce: LastName}
      - {engage: first_name, salesforce: FirstName}
      - {engage: company, salesforce: Company, default: Unknown}
      - {engage: industry, salesforce: Industry, default: Technology}
      - {engage: score, salesforce: Score__c}
      - {engage: phone, salesforce: null}
sync_settings: {engage_created_contacts: create_lead}
"""
CREATEABLE = frozenset(
    {"LastName", "FirstName", "Company", "Industry", "Email", "Phone", "Status"}
)


def _command(operation: str, fields: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "command_id": "c1",
        "operation": operation,
        "sobject": "Lead",
        "external_id_field": None,
        "record_id": None,
        "fields": fields,
        "engage_contact_id": "ec-1",
    } | more


def _allowed() -> dict[str, frozenset[str]]:
    rows = parse_document(MAPPING).mapping("Lead")
    return {"Lead": mapped_create_fields(rows, CREATEABLE)}


def test_create_fields_are_the_mapped_createable_ones() -> None:
    # Score__c is mapped but not createable (a formula); Phone is Do Not Read/Write.
    assert _allowed()["Lead"] == {"LastName", "FirstName", "Company", "Industry"}


def test_create_may_write_a_mapped_field_beyond_the_fixed_set() -> None:
    fields = {"LastName": "Smith", "Company": "Acme", "Industry": "Technology"}

    assert check(_command("CREATE", fields), _allowed()).label == "Lead create"


def test_create_may_not_write_a_field_the_mapping_does_not_send() -> None:
    fields = {"LastName": "Smith", "Company": "Acme", "Phone": "+1 415 555 0100"}

    with pytest.raises(PolicyRefusal, match="may not write field"):
        check(_command("CREATE", fields), _allowed())


def test_match_or_create_carries_match_keys_the_mapping_does_not_write() -> None:
    fields = {"LastName": "Smith", "Phone": "+1 415 555 0100", "Industry": "Retail"}

    rule = check(_command("MATCH_OR_CREATE", fields), _allowed())

    assert rule.label == "Lead match or create"


def test_a_mapped_field_is_never_allowed_on_update() -> None:
    command = _command("UPDATE", {"Industry": "Retail"}, record_id=LEAD_ID)

    with pytest.raises(PolicyRefusal, match="may not write field"):
        check(command, _allowed())


# -- the pre-flight at `settings apply` -----------------------------------------------


def _with_required_custom_field() -> dict[str, dict[str, Any]]:
    describes = org_describes()
    lead = describes["Lead"]
    describes["Lead"] = sf_describe(
        "Lead",
        *[
            f
            for f in lead["fields"]
            if f["name"] not in ("Id", "CreatedDate", "LastModifiedDate", "OwnerId")
        ],
        sf_field("Region__c", nillable=False),
        sf_field("Rank__c", nillable=False, defaultedOnCreate=True),
        sf_field("Score__c", "double", createable=False),
        sf_field("Industry", "picklist", picklist=["Retail", "Technology"]),
    )
    return describes


def test_create_lead_is_refused_when_a_required_field_is_not_filled() -> None:
    problems = check_against_describe(
        parse_document(MAPPING), _with_required_custom_field()
    )

    assert problems == [
        "sync_settings.engage_created_contacts: create_lead needs Lead field "
        "'Region__c' (required on create): map an Engage field to it or give it a "
        "default in objects.Lead.mapping"
    ]


def test_a_default_fills_a_required_field() -> None:
    document = MAPPING.replace(
        "      - {engage: phone, salesforce: null}\n",
        "      - {engage: region, salesforce: Region__c, default: EMEA}\n",
    )

    assert (
        check_against_describe(parse_document(document), _with_required_custom_field())
        == []
    )


def test_a_required_field_left_unfilled_only_matters_when_that_object_is_created() -> (
    None
):
    document = MAPPING.replace("create_lead", "none")

    assert (
        check_against_describe(parse_document(document), _with_required_custom_field())
        == []
    )


def test_create_contact_is_refused_when_last_name_is_do_not_read_write() -> None:
    document = """
objects:
  Contact:
    mapping:
      - {engage: last_name, salesforce: Title}
      - {engage: first_name, salesforce: FirstName}
sync_settings: {engage_created_contacts: create_contact}
"""
    problems = check_against_describe(parse_document(document), org_describes())

    assert [p.split(":")[0] for p in problems] == [
        "sync_settings.engage_created_contacts"
    ]
    assert "Contact field 'LastName'" in problems[0]
