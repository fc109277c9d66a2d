"""Which Salesforce object a record id names, by its three-character key prefix."""

from __future__ import annotations

from typing import Literal

PersonObject = Literal["Lead", "Contact"]

# Record-id key prefixes of the objects Engage links to and may update by id.
_OBJECTS: dict[str, PersonObject] = {"00Q": "Lead", "003": "Contact"}
ID_PREFIXES: dict[str, str] = {name: prefix for prefix, name in _OBJECTS.items()}


def object_of(record_id: str | None) -> PersonObject | None:
    """The person object a Salesforce id belongs to.

    Args:
        record_id: a 15- or 18-character Salesforce id (or anything else).

    Returns:
        "Lead" or "Contact" by the id's key prefix; None for any other id.
    """
    return _OBJECTS.get(record_id[:3]) if record_id else None
