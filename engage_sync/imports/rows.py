"""One CSV row: checked, then turned into the ADDED event the pipeline matches."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.contacts.normalize import name_phone_key, normalize_email
from engage_sync.imports.columns import FIELDS

# Loose on purpose: Salesforce checks addresses itself; this only catches what is
# plainly not one (no @, spaces, no dot in the domain).
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+")
_SALESFORCE_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")
MAX_VALUE = 255  # ContactRef's fields land in Salesforce fields of at most 255


@dataclass(frozen=True)
class Row:
    """A CSV row (`number` counts data rows from 1) and the values it maps to."""

    number: int
    values: dict[str, str]

    @property
    def name(self) -> str:
        parts = (self.values.get("first_name"), self.values.get("last_name"))
        return " ".join(p for p in parts if p)


def row_of(number: int, cells: Sequence[str], mapping: Sequence[str]) -> Row:
    """The values of `cells` by field (trimmed, blanks left out)."""
    values: dict[str, str] = {}
    for field, cell in zip(mapping, cells, strict=False):
        text = (cell or "").strip()
        if field and text:
            values[field] = text
    return Row(number, values)


def problem(row: Row) -> str | None:
    """Why `row` cannot be imported, or None.

    A row needs an email or a name (matching uses email, then name + phone); a
    value that is given must be well formed.
    """
    email, sf_id = row.values.get("email"), row.values.get("salesforce_id")
    if not email and not row.name:
        return "no email and no name"
    if email and not _EMAIL.fullmatch(email):
        return f"malformed email: {email!r}"
    if sf_id and not _SALESFORCE_ID.fullmatch(sf_id):
        return f"malformed Salesforce id: {sf_id!r} (15 or 18 letters and digits)"
    for field, value in row.values.items():
        if len(value) > MAX_VALUE:
            return f"{FIELDS[field]} longer than {MAX_VALUE} characters"
    return None


def contact_id(row: Row, import_id: str) -> str:
    """Engage's id of the row's contact: the mapped column, else one derived from
    the person (email, else name + phone), so importing the same person again is
    the same contact (reported already linked), not a second copy."""
    given = row.values.get("engage_contact_id")
    if given:
        return given
    person = normalize_email(row.values.get("email")) or name_phone_key(
        row.values.get("first_name"),
        row.values.get("last_name"),
        row.values.get("phone"),
    )
    basis = f"person:{person}" if person else f"row:{import_id}:{row.number}"
    return "csv-" + hashlib.sha256(basis.encode()).hexdigest()[:24]


def event_id(import_id: str, number: int) -> str:
    """The ADDED event's id: the import and the row, so results find their row."""
    return f"csv-{import_id}-{number}"


def row_of_result(import_id: str, result_event_id: str) -> int | None:
    """The row a result answers (its event id is the command's: `link-<event id>`
    or `verify-<event id>`), or None when it is not this import's."""
    _, _, rest = result_event_id.partition("-")
    prefix = f"csv-{import_id}-"
    if not rest.startswith(prefix):
        return None
    number = rest[len(prefix) :]
    return int(number) if number.isdigit() else None


def added_event(
    row: Row, import_id: str, user: str, when: datetime
) -> tuple[str, dict[str, Any]]:
    """(key, ContactEvent) of an ADDED with source CSV_IMPORT for a valid row."""
    ecid = contact_id(row, import_id)
    ref: Mapping[str, str] = row.values
    contact = {"engage_contact_id": ecid} | {
        f: ref.get(f) for f in FIELDS if f != "engage_contact_id"
    }
    return ecid, {
        "event_id": event_id(import_id, row.number),
        "occurred_at": when,
        "user_id": user,
        "contact": contact,
        "action": "ADDED",
        "source": "CSV_IMPORT",
        "status": None,
    }
