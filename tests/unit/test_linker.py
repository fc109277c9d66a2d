"""The linker on its own (a fake org, no broker): a person is matched by email, then
by name + phone, and only then created, as a Lead, a Contact or nothing as set."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from connectors.salesforce.errors import ErrorKind, Problem, SkippableRecordError
from connectors.salesforce.linker import NO_DUPLICATES, Linker
from domain.commands import LinkRequest
from domain.crm_settings.models import CrmSettings
from domain.ids import PersonObject
from tests.ports import FakeSalesforce

LEAD, CONTACT, OTHER = "00Q000000000001AAA", "003000000000001AAA", "003000000000002AAA"
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
GRACE = {"FirstName": "Grace", "LastName": "Hopper"}


def _org(people: list[dict[str, Any]]) -> Callable[[str], list[dict[str, Any]]]:
    """Answers the linker's queries (`<Key> IN (...)`, `Id = ...`) from `people`,
    each a record with its `_type`; string comparisons ignore case, as SOQL's do."""

    def rows(soql: str) -> list[dict[str, Any]]:
        obj = re.search(r"FROM (\w+)", soql).group(1)  # type: ignore[union-attr]
        where = re.search(r"WHERE (\w+) (?:IN \((.*?)\)|= (.*?))(?: AND |$)", soql)
        if where is None:
            return []
        key, values = where.group(1), _QUOTED.findall(where.group(2) or where.group(3))
        wanted = {v.lower() for v in values}
        return [
            p
            for p in people
            if p["_type"] == obj
            and str(p.get(key) or "").lower() in wanted
            and not ("IsConverted = false" in soql and p.get("IsConverted"))
        ]

    return rows


def _crm(created: str = "create_lead", **sync: Any) -> CrmSettings:
    return CrmSettings.model_validate(
        {"objects": {}, "sync_settings": {"engage_created_contacts": created} | sync}
    )


def _add(ecid: str, created: str = "create_lead", **fields: Any) -> dict[str, Any]:
    """The command the contact actions send for an add (see test_contact_actions)."""
    sobject: PersonObject = "Contact" if created == "create_contact" else "Lead"
    return LinkRequest(
        command_id=f"link-{ecid}",
        sobject=sobject,
        fields=fields,
        engage_contact_id=ecid,
        create=created != "none",
    ).to_avro()


def _linker(
    people: list[dict[str, Any]], crm: CrmSettings | None = None
) -> tuple[Linker, FakeSalesforce]:
    sf = FakeSalesforce()
    sf.rows = _org(people)
    return Linker(sf, lambda: crm or _crm()), sf


def test_an_add_is_linked_to_the_record_with_its_email_whatever_its_case() -> None:
    people = [{"_type": "Lead", "Id": LEAD, "Email": "ada@engines.example"}]
    linker, sf = _linker(people)

    (outcome,) = linker.link([_add("ec-1", Email="  ADA@Engines.example ")])

    assert (outcome.status, outcome.salesforce_id, outcome.sobject) == (
        "LINKED",
        LEAD,
        "Lead",
    )
    assert sf.posts() == []  # found: nothing created


def test_an_add_without_email_is_linked_by_name_and_phone_in_any_format() -> None:
    people = [{"_type": "Contact", "Id": CONTACT, "Phone": "(415) 555-0100"} | GRACE]
    linker, sf = _linker(people)

    (outcome,) = linker.link(
        [_add("ec-2", FirstName=" GRACE", LastName="hopper", Phone="+1 415 555 0100")]
    )

    assert (outcome.status, outcome.salesforce_id) == ("LINKED", CONTACT)
    assert sf.posts() == []


def test_email_is_tried_before_name_and_phone() -> None:
    people = [
        {"_type": "Contact", "Id": CONTACT, "Email": "grace@navy.example"},
        {"_type": "Contact", "Id": OTHER, "Phone": "415 555 0100"} | GRACE,
    ]
    linker, _ = _linker(people)

    (outcome,) = linker.link(
        [_add("ec-3", Email="grace@navy.example", Phone="415 555 0100", **GRACE)]
    )

    assert outcome.salesforce_id == CONTACT


@pytest.mark.parametrize(
    ("created", "posted"),
    [("create_lead", ["sobjects/Lead/"]), ("create_contact", ["sobjects/Contact/"])],
)
def test_a_person_nobody_matches_is_created_as_the_setting_says(
    created: str, posted: list[str]
) -> None:
    linker, sf = _linker([], _crm(created, auto_associate_accounts=False))

    (outcome,) = linker.link(
        [_add("ec-4", created, Email="new@x.example", LastName="New", Company="X")]
    )

    assert outcome.status == "CREATED" and outcome.success
    assert [path for path, _ in sf.posts()] == posted
    assert [kwargs["headers"] for name, kwargs in sf.calls if "POST" in name] == [
        NO_DUPLICATES
    ]
    assert outcome.sobject == posted[0].split("/")[1]


def test_with_create_set_to_none_nothing_is_created_and_no_match_is_reported() -> (
    None
):
    linker, sf = _linker([], _crm("none"))

    (outcome,) = linker.link([_add("ec-5", "none", Email="new@x.example")])

    assert (outcome.success, outcome.status, outcome.salesforce_id) == (
        True,
        "NO_MATCH",
        None,
    )
    assert sf.posts() == []


def test_two_adds_of_one_new_person_in_a_batch_create_one_record() -> None:
    linker, sf = _linker([])

    first, twin = linker.link(
        [
            _add("ec-a", Email="twin@new.example", LastName="Twin", Company="X"),
            _add("ec-b", Email="TWIN@new.example", LastName="Twin", Company="X"),
        ]
    )

    assert len(sf.posts()) == 1  # never a duplicate
    assert first.status == "CREATED" and twin.status == "LINKED"
    assert twin.salesforce_id == first.salesforce_id


def test_a_create_sends_only_what_the_mapping_sends_and_the_org_lets_us_create() -> (
    None
):
    linker, sf = _linker([])

    linker.link(
        [_add("ec-6", Email="n@x.example", LastName="New", Company="X", Secret__c="s")]
    )

    ((_, body),) = sf.posts()
    assert body == {"Email": "n@x.example", "LastName": "New", "Company": "X"}


def test_two_records_with_the_email_link_the_newest_and_name_both() -> None:
    people = [
        {
            "_type": "Contact",
            "Id": CONTACT,
            "Email": "same@corp.example",
            "LastModifiedDate": "2024-01-01T00:00:00.000+0000",
        },
        {
            "_type": "Contact",
            "Id": OTHER,
            "Email": "same@corp.example",
            "LastModifiedDate": "2024-06-01T00:00:00.000+0000",
        },
    ]
    linker, _ = _linker(people)

    (outcome,) = linker.link([_add("ec-7", Email="same@corp.example")])

    assert (outcome.status, outcome.salesforce_id) == ("ambiguous-match", OTHER)
    assert outcome.candidates == (CONTACT, OTHER)


def test_the_match_order_decides_between_a_lead_and_a_contact() -> None:
    people = [
        {"_type": "Lead", "Id": LEAD, "Email": "both@x.example"},
        {"_type": "Contact", "Id": CONTACT, "Email": "both@x.example"},
    ]
    leads_first, _ = _linker(people, _crm(match_order=["Lead", "Contact"]))
    contacts_first, _ = _linker(people, _crm(match_order=["Contact", "Lead"]))

    (by_lead,) = leads_first.link([_add("ec-8", Email="both@x.example")])
    (by_contact,) = contacts_first.link([_add("ec-8", Email="both@x.example")])

    assert (by_lead.salesforce_id, by_contact.salesforce_id) == (LEAD, CONTACT)


def test_a_converted_lead_is_never_linked() -> None:
    converted = {"_type": "Lead", "Id": LEAD, "Email": "c@x.example"}
    linker, _ = _linker([converted | {"IsConverted": True}], _crm("none"))

    (outcome,) = linker.link([_add("ec-9", "none", Email="c@x.example")])

    assert outcome.status == "NO_MATCH"


def test_a_create_the_duplicate_rule_blocks_links_to_the_record_it_names() -> None:
    people = [{"_type": "Contact", "Id": CONTACT, "Email": "known@corp.example"}]
    linker, sf = _linker(people, _crm(match_order=["Lead"]))
    duplicate = {
        "duplicateResult": {
            "matchResults": [{"matchRecords": [{"record": {"Id": CONTACT}}]}]
        }
    }

    def refuse(path: str, body: dict[str, Any]) -> Any:
        problem = Problem(
            ErrorKind.SKIPPABLE, "DUPLICATES_DETECTED", "dupe", details=duplicate
        )
        raise SkippableRecordError(problem)

    sf.on_post = refuse
    (outcome,) = linker.link(
        [_add("ec-10", Email="known@corp.example", LastName="K", Company="Corp")]
    )

    assert (outcome.status, outcome.salesforce_id, outcome.sobject) == (
        "LINKED_BY_DUPLICATE_RULE",
        CONTACT,
        "Contact",
    )
