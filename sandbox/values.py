"""Wire formats for dates and datetimes (UTC, `.000+0000`) and small value helpers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def now() -> datetime:
    """Current UTC time truncated to whole seconds, as Salesforce stamps records."""
    return datetime.now(UTC).replace(microsecond=0)


def format_datetime(dt: datetime) -> str:
    """Salesforce wire format: 2024-05-01T12:34:56.000+0000 (always UTC)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime | None:
    """Parse the ISO-8601 variants Salesforce accepts; None if not a datetime.

    A value without an offset is taken as UTC, like the REST API does.
    """
    m = _DATETIME_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, offset = m.group(7), m.group(8)
    micros = int((frac[1:] + "000000")[:6]) if frac else 0
    tz = UTC
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        tz = timezone(sign * delta)
    try:
        dt = datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
    except ValueError:
        return None
    return dt.astimezone(UTC)


def parse_date(text: str) -> date | None:
    """Parse YYYY-MM-DD; None if not a valid date."""
    m = _DATE_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def normalize_key(value: object) -> str:
    """Case-insensitive, trimmed form used for external-id and email matching."""
    return str(value).strip().lower()
