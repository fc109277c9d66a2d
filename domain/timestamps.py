"""Reading Salesforce's datetime and date values, the one way the pipeline does."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


def parse_datetime(text: str | None) -> datetime | None:
    """An ISO-8601 datetime as Salesforce writes or accepts it, in UTC.

    Salesforce writes `2024-01-02T03:04:05.000+0000`; `Z`, `+01:00` and no
    offset (meaning UTC) are read too. Digits past the millisecond are dropped:
    Salesforce stores milliseconds, so two reads of one stamp compare equal.

    Args:
        text: the value as the API returned it; None or blank is allowed.

    Returns:
        The instant in UTC; None for None, blank, a date without a time (a date
        field's value: see `parse_date`) or anything that is not a datetime.
    """
    m = _DATETIME.fullmatch(text.strip()) if text else None
    if not m:
        return None
    year, month, day, hour, minute = (int(g) for g in m.groups()[:5])
    second = int(m.group(6) or 0)
    millis = int((m.group(7) or ".")[1:4].ljust(3, "0"))
    offset, tz = m.group(8), UTC
    if offset and offset != "Z":
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = timezone(delta if offset[0] == "+" else -delta)
    try:
        dt = datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=tz)
    except ValueError:
        return None
    return dt.astimezone(UTC)


def parse_date(text: str | None) -> date | None:
    """A date field's value (`2024-01-02`); None if it is none or not a date."""
    m = _DATE.fullmatch(text.strip()) if text else None
    if not m:
        return None
    try:
        return date(*(int(g) for g in m.groups()))
    except ValueError:
        return None


def epoch_millis(text: str | None) -> int | None:
    """`parse_datetime` as milliseconds since the epoch (None where it is None)."""
    parsed = parse_datetime(text)
    # Integer arithmetic: no float rounding between the stamp and its milliseconds.
    return None if parsed is None else (parsed - _EPOCH) // timedelta(milliseconds=1)
