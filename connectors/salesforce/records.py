"""What the poller asks Salesforce for; how a queried row becomes a SalesforceRecord."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from domain.contacts.mapping import salesforce_fields
from domain.crm_settings.models import CrmSettings, ObjectName
from domain.timestamps import parse_datetime

SYSTEM_FIELDS: dict[str, tuple[str, ...]] = {
    "Lead": (
        "Id",
        "SystemModstamp",
        "LastModifiedDate",
        "IsDeleted",
        "MasterRecordId",
        "IsConverted",
        "ConvertedContactId",
    ),
    "Contact": (
        "Id",
        "SystemModstamp",
        "LastModifiedDate",
        "IsDeleted",
        "MasterRecordId",
        "AccountId",
    ),
    "Account": (
        "Id",
        "SystemModstamp",
        "LastModifiedDate",
        "IsDeleted",
        "MasterRecordId",
    ),
}
# Matching an incoming record to an Engage contact needs these even when unmapped.
MATCH_FIELDS: dict[str, tuple[str, ...]] = {
    "Lead": ("Email", "FirstName", "LastName", "Phone"),
    "Contact": ("Email", "FirstName", "LastName", "Phone"),
    "Account": ("Name", "Website"),
}


def query_fields(obj: ObjectName, crm: CrmSettings) -> list[str]:
    """System, matching, mapped and rule fields, each once, in order."""
    rules = crm.objects[obj].rules if obj in crm.objects else None
    wanted = [
        *SYSTEM_FIELDS[obj],
        *MATCH_FIELDS[obj],
        *salesforce_fields(crm.mapping(obj)),
        *sorted(rules.fields() if rules else ()),
    ]
    return list(dict.fromkeys(wanted))


def flatten(row: Mapping[str, Any], wanted: list[str]) -> dict[str, Any]:
    """Relationship values as `Account.Name` keys; a null lookup gives null leaves."""
    out: dict[str, Any] = {}
    for name in wanted:
        if "." in name:
            parent, child = name.split(".", 1)
            related = row.get(parent)
            out[name] = related.get(child) if isinstance(related, Mapping) else None
        else:
            out[name] = row.get(name)
    return out


def to_record(
    obj: str,
    row: Mapping[str, Any],
    wanted: list[str],
    in_scope: bool | Callable[[dict[str, Any]], bool],
    kind: str,
) -> dict[str, Any]:
    """A `SalesforceRecord`; `in_scope` may be the sync rules' predicate on the row."""
    values = flatten(row, wanted)
    if callable(in_scope):
        in_scope = in_scope(values)
    stamp = parse_datetime(values["SystemModstamp"])
    if stamp is None:
        # Every row has one; without it the cursor could not advance past the row.
        raise ValueError(f"unreadable SystemModstamp {values['SystemModstamp']!r}")
    modified = parse_datetime(values.get("LastModifiedDate")) or stamp
    return {
        "salesforce_id": values["Id"],
        "object": obj,
        "system_modstamp": stamp,
        "last_modified": modified,
        "is_deleted": bool(values.get("IsDeleted")),
        "master_record_id": values.get("MasterRecordId"),
        "is_converted": bool(values.get("IsConverted")),
        "converted_contact_id": values.get("ConvertedContactId"),
        "in_scope": in_scope,
        "fields": {k: v for k, v in values.items() if k not in SYSTEM_FIELDS[obj]},
        "poll_kind": kind,
        "polled_at": datetime.now(UTC),
    }
