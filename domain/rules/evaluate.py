"""Evaluates a sync-rule tree on one record with the semantics SOQL gives it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime
from typing import Any, Literal

from domain.rules.models import LIST_OPS, Condition, Group, Op
from domain.timestamps import parse_date, parse_datetime

FieldTypes = Mapping[str, str]
Kind = Literal["text", "number", "boolean", "date", "datetime", "id"]
Predicate = Callable[[Mapping[str, Any]], bool]

_KINDS: dict[str, Kind] = {
    **dict.fromkeys(
        ("string", "textarea", "email", "phone", "url", "picklist", "combobox"), "text"
    ),
    **dict.fromkeys(("double", "currency", "percent", "int", "long"), "number"),
    **dict.fromkeys(("id", "reference"), "id"),
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}
TEXT_OPS: frozenset[str] = frozenset({"contains", "does_not_contain", "starts_with"})
RANGE_OPS: frozenset[str] = frozenset(
    {"greater_than", "less_than", "greater_or_equal", "less_or_equal"}
)
_BASIC_OPS: frozenset[str] = frozenset(
    {"equals", "not_equals", "in", "not_in", "is_empty", "is_not_empty"}
)
ALLOWED_OPS: dict[Kind, frozenset[str]] = {
    # Ordering on text is left out on purpose: Salesforce orders strings (and
    # picklists) by its own collation, which an in-stream check cannot reproduce.
    "text": _BASIC_OPS | TEXT_OPS,
    "number": _BASIC_OPS | RANGE_OPS,
    "date": _BASIC_OPS | RANGE_OPS,
    "datetime": _BASIC_OPS | RANGE_OPS,
    "boolean": frozenset({"equals", "not_equals", "is_empty", "is_not_empty"}),
    "id": _BASIC_OPS,
}
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


class RuleTypeError(ValueError):
    """A rule that cannot be applied to its field: unknown field, an operator the
    field's type does not support, or a value that cannot be read as that type."""


def field_kind(field_type: str) -> Kind:
    """The comparison kind of a describe type (text, number, boolean, date, ...)."""
    kind = _KINDS.get(field_type.lower())
    if kind is None:
        raise RuleTypeError(f"sync rules do not support fields of type {field_type!r}")
    return kind


def to_utc_millis(dt: datetime) -> datetime:
    """Aware UTC datetime truncated to milliseconds; naive means UTC."""
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def id18(value: str) -> str:
    """The 18-character form of a 15- or 18-character Salesforce id."""
    if not (value.isascii() and value.isalnum() and len(value) in (15, 18)):
        raise ValueError(f"not a Salesforce id: {value!r}")
    suffix = ""
    for chunk in range(3):
        bits = sum(
            1 << i
            for i, ch in enumerate(value[chunk * 5 : chunk * 5 + 5])
            if "A" <= ch <= "Z"
        )
        suffix += _CHECKSUM_ALPHABET[bits]
    if len(value) == 18 and value[15:].upper() != suffix:
        raise ValueError(f"bad checksum in Salesforce id: {value!r}")
    return value[:15] + suffix


# -- rule values ------------------------------------------------------------------
def _coerce_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError("a boolean is not text; quote it")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise ValueError("expected text")


def _coerce_number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        if abs(value) >= 10**308:
            raise ValueError("number too large")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("expected a finite number")
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return _coerce_number(int(text))
        number = float(text)
        if math.isfinite(number):
            return number
    raise ValueError("expected a number")


def _coerce_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("expected true or false")


def _coerce_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError("expected a date (YYYY-MM-DD), got a datetime")
    if isinstance(value, date):
        return value
    parsed = parse_date(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError("expected a date (YYYY-MM-DD)")
    return parsed


def _coerce_datetime(value: Any, op: str) -> datetime:
    if isinstance(value, datetime):
        return to_utc_millis(value)
    day = value if isinstance(value, date) else None
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return parsed
        day = parse_date(value)
    # A bare date is a natural bound ("created after 2024-05-01") but as an
    # equality it would only hit records stamped exactly at midnight.
    if day is not None and op in RANGE_OPS:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if day is not None:
        raise ValueError("expected a datetime such as 2024-05-01T00:00:00Z")
    raise ValueError("expected a datetime such as 2024-05-01T12:00:00Z")


def coerce_value(kind: Kind, op: str, value: Any) -> Any:
    """One rule value as the Python value of its field's kind; None stays null.

    Text keeps '' (SOQL reads a '' literal on a text field as null); ids become
    their 18-character form; datetimes become UTC to the millisecond.
    """
    if value is None:
        return None
    if kind == "text":
        return _coerce_text(value)
    if kind == "number":
        return _coerce_number(value)
    if kind == "boolean":
        return _coerce_boolean(value)
    if kind == "date":
        return _coerce_date(value)
    if kind == "datetime":
        return _coerce_datetime(value, op)
    if not isinstance(value, str):
        raise ValueError("expected a 15- or 18-character record id")
    return id18(value.strip())


# -- record values ----------------------------------------------------------------
def _comparable(kind: Kind, value: Any) -> Any:
    """The value SOQL compares: text lower-cased with '' as null, numbers as float,
    a null boolean as false (Salesforce booleans are never null)."""
    if kind == "boolean":
        return False if value in (None, "") else _coerce_boolean(value)
    if value is None or value == "":
        return None
    if kind == "text":
        return _coerce_text(value).lower()
    if kind == "number":
        return float(_coerce_number(value))
    if kind == "date":
        if isinstance(value, str):
            value = value.strip()[:10]
        return _coerce_date(value)
    if kind == "datetime":
        if isinstance(value, datetime):
            return to_utc_millis(value)
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise ValueError(f"not a datetime: {value!r}")
        return parsed
    return id18(str(value))


def _record_value(record: Mapping[str, Any], field: str) -> Any:
    if field in record:
        return record[field]
    lowered = field.lower()
    for key, value in record.items():
        if key.lower() == lowered:
            return value
    head, dot, rest = field.partition(".")
    if not dot:
        return None
    # Relationship fields arrive nested ({"Account": {"Name": ...}}) unless flattened.
    parent = _record_value(record, head)
    return _record_value(parent, rest) if isinstance(parent, Mapping) else None


# -- binding ------------------------------------------------------------------------
@dataclass(frozen=True)
class BoundCondition:
    """A condition checked against its field's type, with coerced values."""

    field: str  # canonical name, as FieldTypes spells it
    field_type: str
    kind: Kind
    op: Op
    values: tuple[Any, ...]  # coerced; () for is_empty / is_not_empty
    targets: tuple[Any, ...] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # What record values are compared with, worked out once, not per record.
        targets = (
            tuple(str(v).lower() for v in self.values)
            if self.op in TEXT_OPS
            else tuple(_comparable(self.kind, v) for v in self.values)
        )
        object.__setattr__(self, "targets", targets)

    def test(self, raw: Any) -> bool:
        """Apply the condition to one record value, with SOQL's two-valued nulls:
        =, <, >, LIKE and IN never match null; !=, NOT LIKE and NOT IN always do."""
        value = _comparable(self.kind, raw)
        op = self.op
        if op == "is_empty":
            return value is None
        if op == "is_not_empty":
            return value is not None
        wanted = self.targets
        if op in TEXT_OPS:
            needle = wanted[0]
            if op == "starts_with":
                return value is not None and value.startswith(needle)
            hit = value is not None and needle in value
            return hit if op == "contains" else not hit
        if op == "in":
            return value in wanted
        if op == "not_in":
            return value not in wanted
        if op == "equals":
            return value == wanted[0]
        if op == "not_equals":
            return value != wanted[0]
        if value is None or wanted[0] is None:
            return False
        if op == "greater_than":
            return bool(value > wanted[0])
        if op == "less_than":
            return bool(value < wanted[0])
        if op == "greater_or_equal":
            return bool(value >= wanted[0])
        return bool(value <= wanted[0])


def field_type_of(field: str, types: FieldTypes) -> tuple[str, str]:
    """(canonical field name, describe type); field names are case-insensitive."""
    if not FIELD_NAME.fullmatch(field):
        raise RuleTypeError(f"{field!r} is not a Salesforce field name")
    if field in types:
        return field, types[field]
    lowered = field.lower()
    for name, type_ in types.items():
        if name.lower() == lowered:
            return name, type_
    raise RuleTypeError(f"unknown field {field!r}")


def bind(condition: Condition, types: FieldTypes) -> BoundCondition:
    """Check a condition against the field types and coerce its value(s)."""
    name, field_type = field_type_of(condition.field, types)
    kind = field_kind(field_type)
    op = condition.op
    if op not in ALLOWED_OPS[kind]:
        raise RuleTypeError(
            f"{name}: operator '{op}' does not apply to a {field_type} field"
        )
    if condition.value is None:
        return BoundCondition(name, field_type, kind, op, ())
    raw = condition.value if op in LIST_OPS else [condition.value]
    try:
        values = tuple(coerce_value(kind, op, v) for v in raw)
    except ValueError as exc:
        raise RuleTypeError(
            f"{name}: {condition.value!r} does not fit a {field_type} field ({exc})"
        ) from None
    if op in TEXT_OPS and not isinstance(values[0], str):
        raise RuleTypeError(f"{name}: '{op}' needs a text value")
    return BoundCondition(name, field_type, kind, op, values)


def predicate(tree: Group | None, types: FieldTypes) -> Predicate:
    """Check and compile a rule tree once; the result tests records.

    Raises:
        RuleTypeError: a condition does not fit its field's type.
    """
    if tree is None:
        return lambda record: True
    return _compile(tree, types)


def _compile(node: Group | Condition, types: FieldTypes) -> Predicate:
    if isinstance(node, Condition):
        bound = bind(node, types)
        return lambda record: bound.test(_record_value(record, bound.field))
    parts = [_compile(child, types) for child in node.children]
    if node.combinator == "all":
        return lambda record: all(p(record) for p in parts)
    return lambda record: any(p(record) for p in parts)


def matches(tree: Group | None, record: Mapping[str, Any], types: FieldTypes) -> bool:
    """Whether Salesforce would select this record with the tree's WHERE clause.

    Args:
        tree: the sync rules; None selects every record.
        record: field values as the REST API returns them (relationship fields
            nested or flattened as "Account.Name"); absent fields count as null.
        types: describe type of every field the tree reads.

    Raises:
        RuleTypeError: a condition does not fit its field's type.
    """
    return predicate(tree, types)(record)
