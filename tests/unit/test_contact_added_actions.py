"""An added contact: a Salesforce id it carries is checked by the writer before it
links, and the create Engage asks for sends what the admin's mapping sends."""

from __future__ import annotations

import uuid
from typing import Any

from domain.crm_settings.document import parse_document
from streams.contacts.actions import ContactActions
from tests.ports import RecordingProducer, contacts_on_fakes
from tests.unit.test_contact_status_actions import LEAD, T0

CRM = parse_document(
    """
objects:
  Lead:
    mapping:
      - engage: first_name
        salesforce: FirstName
        direction: bidirectional_most_recent
      - {engage: last_name, salesforce: LastName}
      - {engage: email, salesforce: Email}
      - {engage: company, salesforce: Company}
      - {engage: title, salesforce: Title}
      - {engage: industry, salesforce: Industry, default: Technology}
      - {engage: lead_source, salesforce: LeadSource}
      - {engage: phone, salesforce: null}
sync_settings: {engage_created_contacts: create_lead}
"""
)


def _actions() -> tuple[ContactActions, RecordingProducer]:
    contacts, _, producer = contacts_on_fakes(CRM)
    return ContactActions(contacts), producer


def _added(ecid: str, **ref: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": T0,
        "action": "ADDED",
        "status": None,
        "contact": {"engage_contact_id": ecid, "salesforce_id": None, **ref},
    }


def _commands(actions: ContactActions, producer: RecordingProducer) -> list[dict]:
    return producer.decoded(actions.c.topics.commands.name, "SalesforceCommand")


def test_added_contact_with_a_salesforce_id_is_checked_before_it_links() -> None:
    actions, producer = _actions()

    actions._action(_added("ec-1", salesforce_id=LEAD, last_name="Old"), CRM)

    copy = actions.c.store.get("ec-1")
    assert copy is not None and copy.salesforce_id is None  # not trusted blindly
    assert [
        (c["operation"], c["sobject"], c["record_id"], c["fields"])
        for c in _commands(actions, producer)
    ] == [("MATCH", "Lead", LEAD, {})]


def test_salesforce_values_win_over_the_added_values_when_the_link_arrives() -> None:
    actions, _ = _actions()
    actions._action(_added("ec-2", salesforce_id=LEAD, first_name="Addy"), CRM)

    actions.on_result(
        {
            "event_id": "verify",
            "object": "Lead",
            "success": True,
            "salesforce_id": LEAD,
            "status_code": "LINKED",
            "written_at": T0,
            "engage_contact_id": "ec-2",
            "record": {
                "Id": LEAD,
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "LastModifiedDate": "2020-01-01T00:00:00.000+0000",
            },
        }
    )

    copy = actions.c.store.get("ec-2")
    assert copy is not None
    assert (copy.salesforce_id, copy.first_name, copy.last_name) == (
        LEAD,
        "Ada",
        "Lovelace",
    )


def test_lead_create_sends_every_mapped_field_with_a_value_or_a_default() -> None:
    actions, producer = _actions()

    event = _added(
        "ec-3",
        email="ada@example.org",
        first_name="Ada",
        last_name="Lovelace",
        company="Acme",
        title="CTO",
        phone="+1 415 555 0100",
    )
    actions._action(event, CRM)

    (command,) = _commands(actions, producer)
    assert command["operation"] == "MATCH_OR_CREATE"
    assert command["fields"] == {
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Email": "ada@example.org",
        "Company": "Acme",
        "Title": "CTO",
        "Industry": "Technology",  # the mapping's default
        # Phone is Do Not Read/Write: carried to match on, never written (linker)
        "Phone": "+1 415 555 0100",
    }


def test_create_invents_no_value_the_mapping_does_not_give() -> None:
    actions, producer = _actions()

    actions._action(_added("ec-4", email="x@example.org"), CRM)

    (command,) = _commands(actions, producer)
    assert command["fields"] == {"Email": "x@example.org", "Industry": "Technology"}


def test_added_contact_already_linked_gets_an_already_linked_result() -> None:
    """Every add gets a result on salesforce.results (keyed like the link command's),
    so a report waiting for one per added contact finishes."""
    actions, producer = _actions()
    first = _added("ec-5", email="ada@example.org", last_name="Lovelace")
    actions._action(first, CRM)
    actions.on_result(
        {
            "event_id": f"link-{first['event_id']}",
            "object": "Lead",
            "success": True,
            "salesforce_id": LEAD,
            "status_code": "LINKED",
            "written_at": T0,
            "engage_contact_id": "ec-5",
            "record": {"Id": LEAD, "LastName": "Lovelace"},
        }
    )
    again = _added("ec-5", email="ada@example.org", last_name="Lovelace")
    producer.sent.clear()

    actions._action(again, CRM)

    assert _commands(actions, producer) == []  # nothing to ask Salesforce
    (result,) = producer.decoded(actions.c.topics.results.name, "WriteResult")
    assert (
        result["event_id"],
        result["success"],
        result["status_code"],
        result["salesforce_id"],
        result["object"],
        result["engage_contact_id"],
    ) == (f"link-{again['event_id']}", True, "already-linked", LEAD, "Lead", "ec-5")
    results = actions.c.topics.results.name
    (_, _, key) = next(s for s in producer.sent if s[0] == results)
    assert key == f"link-{again['event_id']}".encode()
    # The worker's own results agent reads it and changes nothing.
    before = actions.c.store.get("ec-5")
    actions.on_result(result)
    assert actions.c.store.get("ec-5") == before
