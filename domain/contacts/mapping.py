"""Apply the admin's field mapping to Salesforce records and Engage-side edits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from domain.contacts.models import EngageContact
from domain.contacts.normalize import is_blank
from domain.crm_settings.models import MappingRow

# Attributes of EngageContact that are not field values; edits never set them.
_RESERVED = frozenset(
    {
        "engage_contact_id",
        "salesforce_id",
        "salesforce_object",
        "in_scope",
        "updated_at",
        "updated_at_ms",
        "field_times",
        "fields",
    }
)


def salesforce_fields(rows: Sequence[MappingRow]) -> list[str]:
    """Salesforce fields to query for these rows, in order, without duplicates."""
    seen: dict[str, None] = {}
    for row in rows:
        if row.salesforce is not None and not is_blank(row.salesforce):
            seen.setdefault(row.salesforce.strip(), None)
    return list(seen)


def to_engage_value(value: Any) -> str | None:
    """A Salesforce value as Engage stores it: text, or None for null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal) and value.is_finite():
        if value == value.to_integral_value():
            return str(int(value))
    return value if isinstance(value, str) else str(value)


def _lookup(record: Mapping[str, Any], name: str) -> Any:
    """The record's value for a field; exact name first, then case-insensitively."""
    if name in record:
        return record[name]
    folded = name.casefold()
    for key, value in record.items():
        if key.casefold() == folded:
            return value
    return None  # absent = null (e.g. a flattened relationship that was null)


def _default(row: MappingRow) -> str | None:
    return None if is_blank(row.default) else row.default


def apply_salesforce(
    contact: EngageContact,
    record: Mapping[str, Any],
    rows: Sequence[MappingRow],
    modified_ms: int,
    **attributes: Any,
) -> EngageContact:
    """The contact with a Salesforce record's mapped values applied per direction.

    `attributes` (the link, scope and update time the record gives the contact)
    are set in the same copy: one copy per record, not one per change.
    """
    values: dict[str, str | None] = {}
    times: dict[str, int] = {}
    for row in rows:
        if row.salesforce is None or is_blank(row.salesforce):
            continue
        raw = _lookup(record, row.salesforce.strip())
        blank = is_blank(raw)
        incoming = _default(row) if blank else to_engage_value(raw)
        if row.direction == "bidirectional_most_recent":
            if modified_ms < contact.field_times.get(row.engage, 0):
                continue
        elif row.direction == "prefer_salesforce_unless_blank":
            if blank and not is_blank(contact.get(row.engage)):
                continue
        values[row.engage] = incoming
        times[row.engage] = modified_ms
    return contact.with_values(values, times, **attributes)


def apply_engage_edit(
    contact: EngageContact,
    edits: Mapping[str, str | None],
    occurred_ms: int,
    rows: Sequence[MappingRow],
) -> EngageContact:
    """The contact with an Engage-side edit applied where the mapping allows it."""
    by_engage = {row.engage: row for row in rows}
    values: dict[str, str | None] = {}
    times: dict[str, int] = {}
    for name, value in edits.items():
        if value is None or name in _RESERVED:
            continue
        row = by_engage.get(name)
        if row is not None and not row.do_not_read_write:
            if row.direction == "salesforce_to_engage":
                continue
            if row.direction == "bidirectional_most_recent":
                if occurred_ms <= contact.field_times.get(name, 0):
                    continue
            elif row.direction == "prefer_salesforce_unless_blank":
                if not is_blank(contact.get(name)):
                    continue
        values[name] = value
        times[name] = occurred_ms
    if not values:
        return contact
    return contact.with_values(values, times)


def changed(before: EngageContact | None, after: EngageContact) -> bool:
    """True when `after` differs from `before` in content (times are ignored)."""
    return before is None or before.content() != after.content()
