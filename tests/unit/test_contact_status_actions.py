"""A Lead status set in Engage reaches Lead.Status: at once when linked, and when
the link arrives if it was set before (unless Salesforce changed the Lead since);
an action for a contact Engage's copy lacks creates that copy instead of vanishing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.contacts.models import EngageContact
from domain.crm_settings.document import parse_document
from domain.crm_settings.models import CrmSettings
from streams.contacts.actions import ContactActions
from streams.contacts.processor import ContactsProcessor
from tests.ports import RecordingProducer, contacts_on_fakes

LEAD = "00Q5e00000AbCdEEAV"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

CRM = parse_document(
    """
objects:
  Lead:
    mapping:
      - {engage: first_name, salesforce: FirstName}
      - {engage: last_name, salesforce: LastName}
      - {engage: email, salesforce: Email}
      - {engage: company, salesforce: Company, default: Unknown}
      - {engage: status, salesforce: Status, direction: bidirectional_most_recent}
    status_values: {Working: Working - Contacted}
"""
)


def _actions(
    crm: CrmSettings = CRM,
) -> tuple[ContactActions, RecordingProducer, ContactsProcessor]:
    contacts, _, producer = contacts_on_fakes(crm)
    return ContactActions(contacts), producer, contacts


def _status_event(ecid: str, status: str, at: datetime, **ref: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": at,
        "action": "STATUS_CHANGED",
        "status": status,
        "contact": {"engage_contact_id": ecid, "salesforce_id": None, **ref},
    }


def _link_result(ecid: str, lead_modified: datetime, status: str) -> dict[str, Any]:
    return {
        "event_id": f"link-{ecid}",
        "object": "Lead",
        "operation": "MATCH_OR_CREATE",
        "success": True,
        "salesforce_id": LEAD,
        "created": False,
        "status_code": "LINKED",
        "message": None,
        "fields": [],
        "written_at": lead_modified + timedelta(minutes=5),
        "engage_contact_id": ecid,
        "record": {
            "Id": LEAD,
            "LastName": "Lovelace",
            "Email": "ada@example.org",
            "Status": status,
            "LastModifiedDate": lead_modified.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        },
        "candidates": [],
    }


def _status_updates(producer: RecordingProducer, contacts: ContactsProcessor) -> list:
    commands = producer.decoded(contacts.topics.commands.name, "SalesforceCommand")
    return [
        (c["record_id"], c["fields"])
        for c in commands
        if c["operation"] == "UPDATE" and c["sobject"] == "Lead"
    ]


def _unlinked(contacts: ContactsProcessor, ecid: str) -> None:
    contacts.store.put(
        EngageContact(engage_contact_id=ecid, email="ada@example.org", last_name="L")
    )


def test_status_set_before_the_link_is_written_when_the_link_arrives() -> None:
    actions, producer, contacts = _actions()
    _unlinked(contacts, "ec-1")

    actions._action(_status_event("ec-1", "Working", T0), CRM)
    before_link = _status_updates(producer, contacts)
    actions.on_result(_link_result("ec-1", T0 - timedelta(hours=1), "Open"))

    assert before_link == []
    assert _status_updates(producer, contacts) == [
        (LEAD, {"Status": "Working - Contacted"})
    ]
    assert contacts.store.get("ec-1").status == "Working"


def test_status_set_before_the_link_loses_to_a_newer_lead_change() -> None:
    actions, producer, contacts = _actions()
    _unlinked(contacts, "ec-2")

    actions._action(_status_event("ec-2", "Working", T0), CRM)
    actions.on_result(_link_result("ec-2", T0 + timedelta(hours=1), "Qualified"))

    assert _status_updates(producer, contacts) == []
    assert contacts.store.get("ec-2").status == "Qualified"


def test_status_action_for_a_contact_missing_from_the_copy_creates_the_copy() -> None:
    actions, producer, contacts = _actions()

    event = _status_event(
        "ec-new", "Working", T0, salesforce_id=LEAD, email="ada@example.org"
    )
    actions._action(event, CRM)

    copy = contacts.store.get("ec-new")
    assert copy is not None
    assert (copy.salesforce_id, copy.email, copy.status) == (
        LEAD, "ada@example.org", "Working"
    )
    assert _status_updates(producer, contacts) == [
        (LEAD, {"Status": "Working - Contacted"})
    ]


def test_edit_for_a_contact_missing_from_the_copy_creates_the_copy() -> None:
    actions, _, contacts = _actions()

    event = _status_event("ec-edit", "", T0, email="grace@example.org") | {
        "action": "UPDATED"
    }
    event["contact"]["first_name"] = "Grace"
    actions._action(event, CRM)

    copy = contacts.store.get("ec-edit")
    assert copy is not None
    assert (copy.email, copy.first_name) == ("grace@example.org", "Grace")
