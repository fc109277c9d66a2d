"""Normalized forms of emails, names and phones used to match contacts."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import phonenumbers


def is_blank(value: Any) -> bool:
    """True for None and for strings that are empty or whitespace-only."""
    if value is None:
        return True
    return isinstance(value, str) and not value.strip()


def normalize_email(email: str | None) -> str | None:
    """Trimmed and casefolded email, or None when blank."""
    if is_blank(email):
        return None
    assert email is not None
    return email.strip().casefold()


def normalize_name(first: str | None, last: str | None) -> str | None:
    """Casefolded "first last" with whitespace collapsed, or None when both blank."""
    joined = " ".join(f"{first or ''} {last or ''}".split())
    return joined.casefold() or None


def normalize_phone(phone: str | None, region: str | None = "US") -> str | None:
    """E.164 form of a phone number, or None when blank, unparseable or invalid."""
    if is_blank(phone):
        return None
    assert phone is not None
    return _e164(phone, region)


@lru_cache(maxsize=65536)
def _e164(phone: str, region: str | None) -> str | None:
    # Parsing costs ~50 µs; the same numbers recur across polls and lookups.
    try:
        parsed = phonenumbers.parse(phone.strip(), (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    # Valid for the default region implies valid; the general check first finds the
    # number's region, which for +1 means trying each of ~25 NANPA regions' rules.
    home = (region or "").upper()
    if not (
        home and phonenumbers.is_valid_number_for_region(parsed, home)
    ) and not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def name_phone_key(
    first: str | None, last: str | None, phone: str | None, region: str | None = "US"
) -> str | None:
    """ "name|+E164" matching key, or None unless both name and phone normalize."""
    name = normalize_name(first, last)
    number = normalize_phone(phone, region)
    if name is None or number is None:
        return None
    return f"{name}|{number}"
