"""Describe-driven checks and coercion of incoming field values for writes."""

from __future__ import annotations

import re
from typing import Any

from sandbox import ids
from sandbox.errors import ApiError, insert_update_denied, record_error
from sandbox.metadata import NUMBER_TYPES, TEXT_TYPES, Field, SObject
from sandbox.values import format_datetime, parse_date, parse_datetime

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _bad_type(f: Field, value: Any) -> ApiError:
    return record_error(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{f.label}: value not of required type: {value}",
        [f.name],
    )


def _number(f: Field, value: Any) -> float:
    if isinstance(value, bool):
        raise _bad_type(f, value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER_RE.match(value.strip()):
        return float(value)
    raise _bad_type(f, value)


def coerce_value(f: Field, value: Any) -> Any:
    """The stored (wire-format) value for one field, or an ApiError."""
    if isinstance(value, str) and value == "" and f.type != "boolean":
        return None  # Salesforce stores empty strings as null.
    if value is None:
        return False if f.type == "boolean" else None
    t = f.type
    if t in TEXT_TYPES:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _bad_type(f, value)
        text = value if isinstance(value, str) else str(value)
        if f.length and len(text) > f.length:
            raise record_error(
                "STRING_TOO_LONG",
                f"{f.label}: data value too large: {text} (max length={f.length})",
                [f.name],
            )
        if f.restricted and text not in f.picklist:
            raise record_error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.label}: bad value for restricted picklist field: {text}",
                [f.name],
            )
        if t == "email" and not _EMAIL_RE.match(text.strip()):
            raise record_error(
                "INVALID_EMAIL_ADDRESS",
                f"{f.label}: invalid email address: {text}",
                [f.name],
            )
        return text
    if t == "boolean":
        if not isinstance(value, bool):
            raise _bad_type(f, value)
        return value
    if t in NUMBER_TYPES:
        number = _number(f, value)
        if t == "int":
            if number != int(number):
                raise _bad_type(f, value)
            if f.digits and abs(number) >= 10**f.digits:
                raise _out_of_range(f, value)
            return int(number)
        number = round(number, f.scale)
        if f.precision and abs(number) >= 10 ** (f.precision - f.scale):
            raise _out_of_range(f, value)
        return number
    if t == "date":
        d = parse_date(value) if isinstance(value, str) else None
        if d is None:
            raise _bad_type(f, value)
        return d.isoformat()
    if t == "datetime":
        dt = parse_datetime(value) if isinstance(value, str) else None
        if dt is None:
            raise _bad_type(f, value)
        return format_datetime(dt)
    if t in ("reference", "id"):
        return coerce_reference(f, value)
    raise _bad_type(f, value)


def _out_of_range(f: Field, value: Any) -> ApiError:
    return record_error(
        "NUMBER_OUTSIDE_VALID_RANGE",
        f"{f.label}: value outside of valid range on numeric field: {value}",
        [f.name],
    )


def coerce_reference(f: Field, value: Any) -> str:
    try:
        rid = ids.to18(value)
    except ValueError:
        raise record_error(
            "MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name]
        ) from None
    target = ids.object_for(rid)
    if f.reference_to and target is not None and target not in f.reference_to:
        raise record_error(
            "FIELD_INTEGRITY_EXCEPTION",
            f"{f.label}: id value of incorrect type: {value}",
            [f.name],
        )
    return rid


def coerce_changes(
    obj: SObject, body: dict[str, Any], creating: bool
) -> dict[str, Any]:
    """Validate a create/update body; return {canonical field name: stored value}."""
    resolved: list[tuple[Field, Any]] = []
    for name, value in body.items():
        if name == "attributes":
            continue
        f = obj.field(name)
        if f is None:
            raise record_error(
                "INVALID_FIELD",
                f"No such column '{name}' on sobject of type {obj.name}",
                [],
            )
        resolved.append((f, value))
    denied = [
        f.name for f, _ in resolved if not (f.createable if creating else f.updateable)
    ]
    if denied:
        raise insert_update_denied(denied)
    changes: dict[str, Any] = {}
    for f, value in resolved:
        changes[f.name] = coerce_value(f, value)
    return changes


def missing_required(obj: SObject, record: dict[str, Any]) -> ApiError | None:
    missing = [
        f.name
        for f in obj.fields
        if not f.nillable
        and f.createable
        and f.type != "boolean"
        and record.get(f.name) in (None, "")
    ]
    if not missing:
        return None
    return record_error(
        "REQUIRED_FIELD_MISSING",
        f"Required fields are missing: [{', '.join(missing)}]",
        missing,
    )
