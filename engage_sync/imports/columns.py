"""Which Engage field a CSV column fills, guessed from its header."""

from __future__ import annotations

import re
from collections.abc import Sequence

# The fields a row can give (ContactRef's), in the order the mapping form lists them.
FIELDS: dict[str, str] = {
    "email": "Email",
    "first_name": "First Name",
    "last_name": "Last Name",
    "phone": "Phone",
    "company": "Company",
    "title": "Title",
    "salesforce_id": "Salesforce Id",
    "engage_contact_id": "Engage Contact Id",
}
SKIP = ""  # the column is not imported

# Headers as spreadsheets and CRM exports write them, squeezed (see `_squeeze`).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "mail", "workemail", "businessemail"),
    "first_name": ("firstname", "first", "givenname", "forename", "fname"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname"),
    "phone": (
        "phone",
        "phonenumber",
        "telephone",
        "tel",
        "mobile",
        "mobilephone",
        "workphone",
        "businessphone",
        "directphone",
        "cell",
    ),
    "company": (
        "company",
        "companyname",
        "account",
        "accountname",
        "organization",
        "organisation",
        "employer",
    ),
    "title": ("title", "jobtitle", "position", "role", "designation"),
    "salesforce_id": (
        "salesforceid",
        "sfid",
        "sfdcid",
        "leadid",
        "contactid",
        "crmid",
        "salesforceleadid",
        "salesforcecontactid",
    ),
    "engage_contact_id": ("engagecontactid", "engageid"),
}
_BY_SQUEEZED = {
    alias: field for field, aliases in _SYNONYMS.items() for alias in aliases
}


def _squeeze(header: str) -> str:
    """`E-mail Address ` -> `emailaddress`: case, spaces and punctuation ignored."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


def guess(headers: Sequence[str]) -> list[str]:
    """The Engage field each header fills (`SKIP` when none), each field at most once.

    Args:
        headers: the CSV's first row.

    Returns:
        One entry per header, in order: a key of `FIELDS` or `SKIP`. When two
        columns look like one field, the first keeps it (a second "Email" is
        more often a secondary address than the primary one).
    """
    taken: set[str] = set()
    out: list[str] = []
    for header in headers:
        field = _BY_SQUEEZED.get(_squeeze(header), SKIP)
        if field in taken:
            field = SKIP
        taken.add(field)
        out.append(field)
    return out


def mapping_problems(mapping: Sequence[str]) -> list[str]:
    """What makes a column mapping unusable: an unknown field, a field twice, or
    neither an email nor a name column (no row could be valid)."""
    problems = [f"unknown field {m!r}" for m in mapping if m and m not in FIELDS]
    chosen = [m for m in mapping if m]
    for field in sorted({m for m in chosen if chosen.count(m) > 1}):
        problems.append(f"{FIELDS.get(field, field)} is chosen for two columns")
    if not {"email", "first_name", "last_name"} & set(chosen):
        problems.append(
            "map a column to Email, First Name or Last Name: a row needs an email "
            "or a name"
        )
    return problems
