"""Salesforce-style 15/18-character record ids with the case-safe checksum suffix."""

from __future__ import annotations

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Organization": "00D",
    "Lead": "00Q",
    "Task": "00T",
    "Event": "00U",
    "QueryLocator": "01g",
}
_OBJECT_BY_PREFIX = {prefix: name for name, prefix in PREFIXES.items()}

# Two characters standing in for the instance ("pod") part of a real id, plus the
# reserved character: keeps generated ids looking like real ones.
_POD = "5e0"


def checksum(id15: str) -> str:
    """The 3-character suffix that makes a 15-char id case-insensitively unique."""
    if len(id15) != 15:
        raise ValueError(f"expected 15 characters, got {len(id15)}")
    suffix = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix.append(_CHECKSUM_ALPHABET[bits])
    return "".join(suffix)


def to18(value: str) -> str:
    """Return the 18-char form of a 15- or 18-char id; ValueError if malformed."""
    if not isinstance(value, str) or not value.isascii() or not value.isalnum():
        raise ValueError(f"invalid id: {value!r}")
    if len(value) == 15:
        return value + checksum(value)
    if len(value) == 18:
        # The suffix is case-insensitive by design, so compare it that way.
        if value[15:].upper() != checksum(value[:15]):
            raise ValueError(f"invalid id checksum: {value!r}")
        return value[:15] + value[15:].upper()
    raise ValueError(f"invalid id length: {value!r}")


def is_valid(value: object) -> bool:
    """True when value is a well-formed 15- or 18-char id."""
    try:
        to18(value)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def _base62(n: int, width: int) -> str:
    digits = []
    for _ in range(width):
        n, rem = divmod(n, 62)
        digits.append(_BASE62[rem])
    if n:
        raise ValueError("sequence number too large for id")
    return "".join(reversed(digits))


def make_id(prefix: str, seq: int) -> str:
    """Build an 18-char id from a 3-char key prefix and a sequence number."""
    body = prefix + _POD + _base62(seq, 15 - len(prefix) - len(_POD))
    return body + checksum(body)


def object_for(value: str) -> str | None:
    """The sObject name whose key prefix starts this id, if it is one we know."""
    return _OBJECT_BY_PREFIX.get(value[:3])
