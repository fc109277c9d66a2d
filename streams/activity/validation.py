"""Checks an activity event must pass, beyond its Avro schema, to become a Task."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Tasks may only hang off a Lead (00Q) or a Contact (003): 15- or 18-character ids.
_WHO_ID = re.compile(r"(00Q|003)[A-Za-z0-9]{12}([A-Za-z0-9]{3})?")
MAX_EXTERNAL_ID = 255
# Task.CallDurationInSeconds is a Number(8, 0): Salesforce refuses anything longer.
MAX_CALL_SECONDS = 99_999_999


class InvalidEvent(ValueError):
    """The event decodes but cannot be turned into a Task as it is."""


def validate(event: Mapping[str, Any]) -> None:
    event_id = event.get("event_id") or ""
    if not event_id.strip():
        raise InvalidEvent("event_id is empty")
    if len(event_id) > MAX_EXTERNAL_ID:
        raise InvalidEvent(f"event_id is longer than {MAX_EXTERNAL_ID} characters")
    if not (event.get("user_id") or "").strip():
        raise InvalidEvent("user_id is empty")
    contact = event["contact"]
    if not (contact.get("engage_contact_id") or "").strip():
        raise InvalidEvent("contact.engage_contact_id is empty")
    who = contact.get("salesforce_id")
    if who is not None and not _WHO_ID.fullmatch(who.strip()):
        raise InvalidEvent(
            f"contact.salesforce_id {who[:40]!r} is not a Lead or Contact id"
        )
    duration = event.get("duration_seconds", 0)
    if duration < 0:
        raise InvalidEvent("duration_seconds is negative")
    if duration > MAX_CALL_SECONDS:
        raise InvalidEvent(
            f"duration_seconds {duration} is above Salesforce's {MAX_CALL_SECONDS}"
        )
