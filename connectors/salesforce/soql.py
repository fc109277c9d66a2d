"""Builds SOQL text: literals, escaped strings, sync rules as WHERE clauses, queries."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from domain.rules.evaluate import (
    FIELD_NAME,
    BoundCondition,
    FieldTypes,
    Kind,
    RuleTypeError,
    bind,
    coerce_value,
    field_kind,
)
from domain.rules.models import Condition, Group

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_LIKE_ESCAPES = {**_ESCAPES, "%": "\\%", "_": "\\_"}
_OBJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_ORDER_ITEM = re.compile(
    rf"({FIELD_NAME.pattern})(\s+(?:ASC|DESC))?(\s+NULLS\s+(?:FIRST|LAST))?",
    re.IGNORECASE,
)
_COMPARISONS = {
    "equals": "=",
    "not_equals": "!=",
    "greater_than": ">",
    "less_than": "<",
    "greater_or_equal": ">=",
    "less_or_equal": "<=",
}


def _escape_char(ch: str, table: dict[str, str]) -> str:
    if ch in table:
        return table[ch]
    code = ord(ch)
    # Control characters, lone surrogates and line separators go as \uXXXX so
    # the query text stays one printable, UTF-8-encodable line.
    if code < 0x20 or 0x7F <= code < 0xA0 or 0xD800 <= code < 0xE000:
        return f"\\u{code:04x}"
    if ch in ("\u2028", "\u2029"):
        return f"\\u{code:04x}"
    return ch


def quote(value: str) -> str:
    """A SOQL string literal for value: quoted, with \\ and ' escaped."""
    return "'" + "".join(_escape_char(ch, _ESCAPES) for ch in value) + "'"


def like_quote(value: str, prefix: str = "", suffix: str = "") -> str:
    """A LIKE pattern literal matching value literally ( % and _ escaped too),
    between the given raw wildcard prefix and suffix."""
    body = "".join(_escape_char(ch, _LIKE_ESCAPES) for ch in value)
    return f"'{prefix}{body}{suffix}'"


def datetime_literal(dt: datetime) -> str:
    """A SOQL datetime literal in UTC, e.g. 2024-05-01T12:00:00.000Z.

    Raises:
        ValueError: dt is naive (its instant would be a guess).
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("datetime_literal needs an aware datetime")
    u = dt.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
        f"{u.second:02d}.{u.microsecond // 1000:03d}Z"
    )


def _date_literal(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def _number_literal(n: int | float) -> str:
    if isinstance(n, int):
        return str(n)
    # Plain positional notation: SOQL number literals have no exponent form.
    text = format(Decimal(repr(n)), "f")
    return text[:-2] if text.endswith(".0") else text


def _typed_literal(kind: Kind, value: Any) -> str:
    if value is None:
        return "null"
    if kind in ("text", "id"):
        return quote(value)
    if kind == "number":
        return _number_literal(value)
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "date":
        return _date_literal(value)
    return datetime_literal(value)


def literal(value: Any, type: str) -> str:
    """The SOQL literal for value in a field of describe type `type`.

    Raises:
        RuleTypeError: value cannot be read as that type.
    """
    kind = field_kind(type)
    try:
        coerced = coerce_value(kind, "equals", value)
    except ValueError as exc:
        raise RuleTypeError(f"{value!r} does not fit a {type} field ({exc})") from None
    return _typed_literal(kind, coerced)


def _condition(c: BoundCondition) -> str:
    f, op = c.field, c.op
    if op == "is_empty":
        return f"{f} = null"
    if op == "is_not_empty":
        return f"{f} != null"
    if op == "contains":
        return f"{f} LIKE {like_quote(c.values[0], '%', '%')}"
    if op == "does_not_contain":
        return f"(NOT {f} LIKE {like_quote(c.values[0], '%', '%')})"
    if op == "starts_with":
        return f"{f} LIKE {like_quote(c.values[0], '', '%')}"
    if op in ("in", "not_in"):
        items = ", ".join(_typed_literal(c.kind, v) for v in c.values)
        return f"{f} {'IN' if op == 'in' else 'NOT IN'} ({items})"
    return f"{f} {_COMPARISONS[op]} {_typed_literal(c.kind, c.values[0])}"


def _node(node: Group | Condition, types: FieldTypes) -> str:
    if isinstance(node, Condition):
        return _condition(bind(node, types))
    joiner = " AND " if node.combinator == "all" else " OR "
    # Always parenthesised: SOQL refuses AND and OR mixed at one level.
    return "(" + joiner.join(_node(child, types) for child in node.children) + ")"


def where_clause(tree: Group, types: FieldTypes) -> str:
    """The sync rules as a SOQL WHERE expression (without the keyword).

    Raises:
        RuleTypeError: a condition does not fit its field's type.
    """
    return _node(tree, types)


def _check_object(name: str) -> str:
    if not _OBJECT_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not an sObject name")
    return name


def _check_field(name: str) -> str:
    if not FIELD_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a field name")
    return name


def select(
    object: str,
    fields: Sequence[str],
    where: str | None = None,
    order_by: Sequence[str] = (),
    limit: int | None = None,
) -> str:
    """SELECT fields FROM object [WHERE where] [ORDER BY ...] [LIMIT n].

    `where` is an already-built expression (e.g. from where_clause); field,
    object and ORDER BY items ("SystemModstamp DESC NULLS LAST") are checked.
    """
    if not fields:
        raise ValueError("select needs at least one field")
    text = (
        f"SELECT {', '.join(_check_field(f) for f in fields)} "
        f"FROM {_check_object(object)}"
    )
    if where:
        text += f" WHERE {where}"
    if order_by:
        items = []
        for item in order_by:
            if not _ORDER_ITEM.fullmatch(item.strip()):
                raise ValueError(f"{item!r} is not an ORDER BY item")
            items.append(" ".join(item.split()))
        text += " ORDER BY " + ", ".join(items)
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"bad LIMIT {limit!r}")
        text += f" LIMIT {limit}"
    return text


def count(object: str, where: str | None = None) -> str:
    """SELECT COUNT() FROM object [WHERE where]."""
    text = f"SELECT COUNT() FROM {_check_object(object)}"
    return f"{text} WHERE {where}" if where else text
