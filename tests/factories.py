"""Factories for decoded Engage events, shaped as fastavro returns them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Final

from domain.commands import LinkRequest

DEFAULT_OCCURRED_AT: Final = datetime(2024, 5, 14, 9, 30, tzinfo=UTC)
DEFAULT_SALESFORCE_ID: Final = "003000000000001AAA"

_CONTACT_FIELDS: Final = frozenset(
    {
        "engage_contact_id",
        "salesforce_id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "company",
        "title",
    }
)
_CALL_FIELDS: Final = frozenset(
    {
        "event_id",
        "occurred_at",
        "user_id",
        "contact",
        "subject",
        "call_result",
        "sentiment",
        "comments",
        "voicemail_title",
        "recording_url",
        "duration_seconds",
    }
)
_EMAIL_FIELDS: Final = frozenset(
    {
        "event_id",
        "occurred_at",
        "user_id",
        "contact",
        "event_type",
        "email_subject",
        "link_text",
        "body",
    }
)


def _check_fields(
    record: str, allowed: frozenset[str], overrides: dict[str, Any]
) -> None:
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise TypeError(f"{record} has no field(s): {', '.join(unknown)}")


def contact_ref(**overrides: Any) -> dict[str, Any]:
    """Return a decoded ContactRef linked to a Salesforce Contact."""
    _check_fields("ContactRef", _CONTACT_FIELDS, overrides)
    return {
        "engage_contact_id": "engage-contact-1",
        "salesforce_id": DEFAULT_SALESFORCE_ID,
        "email": "ada.lovelace@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+14155550100",
        "company": "Analytical Engines Ltd",
        "title": "Head of Research",
    } | overrides


def call_event(**overrides: Any) -> dict[str, Any]:
    """Return a decoded CallLogged: a 2m05s direct-line call with no extras."""
    _check_fields("CallLogged", _CALL_FIELDS, overrides)
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": DEFAULT_OCCURRED_AT,
        "user_id": "engage-user-1",
        "contact": contact_ref(),
        "subject": "Discovery call",
        "call_result": "CONNECTED_DIRECT_LINE",
        "sentiment": None,
        "comments": None,
        "voicemail_title": None,
        "recording_url": None,
        "duration_seconds": 125,
    } | overrides


def email_event(**overrides: Any) -> dict[str, Any]:
    """Return a decoded EmailEvent: an email opened, with no link text or body."""
    _check_fields("EmailEvent", _EMAIL_FIELDS, overrides)
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": DEFAULT_OCCURRED_AT,
        "user_id": "engage-user-1",
        "contact": contact_ref(),
        "event_type": "OPENED",
        "email_subject": "Quick question about your Q3 plans",
        "link_text": None,
        "body": None,
    } | overrides


def contact_event(action: str, ecid: str, **contact: Any) -> dict[str, Any]:
    """Return a decoded ContactEvent: Engage acted on contact `ecid` (its reference
    holds `contact`, but for `status`, which is the event's: a status change)."""
    status = contact.pop("status", None)
    _check_fields("ContactRef", _CONTACT_FIELDS, contact)
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC),
        "user_id": "u1",
        "contact": {"engage_contact_id": ecid} | contact,
        "action": action,
        "source": "CSV_IMPORT",
        "status": status,
    }


CALL_RESULTS = (
    "CONNECTED_DIRECT_LINE",
    "CONNECTED_SWITCHBOARD",
    "REFERRED_TO_COLLEAGUE",
    "LEFT_MESSAGE",
    "NO_ANSWER",
    "WRONG_NUMBER",
    "GATEKEEPER_BLOCKED",
)
EMAIL_TYPES = (
    "SENT",
    "OPENED",
    "FAILED",
    "UNSUBSCRIBED",
    "CONTENT_VIEWED",
    "CONTENT_DOWNLOADED",
    "LINK_CLICKED",
    "REPLIED",
)


def seed_people(admin: Any, n: int = 50) -> list[str]:
    """Ids of n Contacts and n Leads put into the sandbox org (no rules, no faults)."""
    admin.put_records(
        "Contact",
        [{"LastName": f"Person{i}", "Email": f"c{i}@example.org"} for i in range(n)],
    )
    admin.put_records(
        "Lead",
        [
            {"LastName": f"Lead{i}", "Company": f"Co {i}", "Email": f"l{i}@example.org"}
            for i in range(n)
        ],
    )
    return [r["Id"] for r in admin.records("Contact") + admin.records("Lead")]


def link_command(
    ecid: str, email: str | None = None, company: str | None = None
) -> dict[str, Any]:
    """A MATCH_OR_CREATE of a Contact, as the contacts agent asks it of the writer."""
    fields = {"Email": email or f"{ecid}@example.org", "LastName": ecid.title()}
    if company:
        fields["Account.Name"] = company
    return LinkRequest(
        command_id=f"link-{ecid}",
        sobject="Contact",
        fields=fields,
        engage_contact_id=ecid,
        create=True,
    ).to_avro()
