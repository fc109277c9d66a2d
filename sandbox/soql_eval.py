"""SOQL evaluator: binds a parsed query to the schema; filters, sorts, renders rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from sandbox import ids
from sandbox.errors import ApiError
from sandbox.metadata import NUMBER_TYPES, TEXT_TYPES, Field, Schema, SObject
from sandbox.soql import (
    BoolOp,
    Comparison,
    Expr,
    FieldRef,
    Literal,
    Not,
    Query,
    StringLit,
    located_message,
    parse,
)
from sandbox.values import parse_date, parse_datetime

Record = dict[str, Any]
_WSDL = "Please reference your WSDL or the describe call for the appropriate names."
_CUSTOM_FIELD = (
    "If you are attempting to use a custom field, be sure to append the '__c' "
    f"after the custom field name. {_WSDL}"
)
_CUSTOM_RELATIONSHIP = (
    "If you are attempting to use a custom relationship, be sure to append the "
    f"'__r' after the custom relationship name. {_WSDL}"
)
_CUSTOM_OBJECT = (
    "If you are attempting to use a custom object, be sure to append the '__c' "
    f"after the entity name. {_WSDL}"
)
Lookup = Callable[[str], Record | None]


@dataclass(frozen=True)
class BoundField:
    """A field path resolved against the schema."""

    rel: Field | None  # reference field on the base object, for Rel.Field paths
    field: Field  # the leaf field

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.rel.name if self.rel else None, self.field.name)


def _invalid_field(q: Query, pos: int, message: str) -> ApiError:
    return ApiError(400, "INVALID_FIELD", located_message(q.text, pos, message))


def bind_field(schema: Schema, obj: SObject, q: Query, ref: FieldRef) -> BoundField:
    parts = ref.path.split(".")
    # "Contact.Email" FROM Contact: a path may be prefixed with the object name.
    if (
        len(parts) > 1
        and parts[0].lower() == obj.name.lower()
        and not obj.relationship(parts[0])
    ):
        parts = parts[1:]
    if len(parts) == 1:
        f = obj.field(parts[0])
        if f is None:
            raise _invalid_field(
                q,
                ref.pos,
                f"No such column '{parts[0]}' on entity '{obj.name}'. {_CUSTOM_FIELD}",
            )
        return BoundField(None, f)
    rel = obj.relationship(parts[0]) if len(parts) == 2 else None
    if rel is None:
        raise _invalid_field(
            q,
            ref.pos,
            f"Didn't understand relationship '{parts[0]}' in field path. "
            f"{_CUSTOM_RELATIONSHIP}",
        )
    for target in rel.reference_to:
        target_obj = schema.get(target)
        leaf = target_obj.field(parts[1]) if target_obj else None
        if leaf is not None:
            return BoundField(rel, leaf)
    raise _invalid_field(
        q,
        ref.pos,
        f"No such column '{parts[1]}' on entity '{rel.reference_to[0]}'. "
        f"{_CUSTOM_FIELD}",
    )


def _kind(f: Field) -> str:
    if f.type in TEXT_TYPES:
        return "text"
    if f.type in NUMBER_TYPES:
        return "number"
    if f.type in ("id", "reference"):
        return "id"
    return f.type  # boolean, date, datetime


_TYPE_NAMES = {
    "text": "string",
    "number": "double",
    "boolean": "boolean",
    "date": "date",
    "datetime": "dateTime",
    "id": "id",
}


def _literal_ok(kind: str, lit: Literal) -> bool:
    if lit is None:
        return True
    if kind in ("text", "id"):
        return isinstance(lit, StringLit)
    if kind == "number":
        return isinstance(lit, int | float) and not isinstance(lit, bool)
    if kind == "boolean":
        return isinstance(lit, bool)
    if kind == "datetime":
        return isinstance(lit, datetime)
    if kind == "date":
        return isinstance(lit, date) and not isinstance(lit, datetime)
    return False


def normalize(kind: str, value: Any) -> Any:
    """Comparable form of a stored value or literal; None stays None."""
    if isinstance(value, StringLit):
        value = value.value
    if value is None:
        return False if kind == "boolean" else None
    if kind == "text":
        return str(value).lower()
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return bool(value)
    if kind == "date":
        return value if isinstance(value, date) else parse_date(str(value))
    if kind == "datetime":
        return value if isinstance(value, datetime) else parse_datetime(str(value))
    return str(value)  # ids compare exactly


def like_regex(pattern: str) -> re.Pattern[str]:
    """Translate a SOQL LIKE pattern (escapes kept as \\x) into a regex."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True)
class BoundComparison:
    bound: BoundField
    kind: str
    op: str
    values: tuple[Any, ...]  # normalized literals
    regex: re.Pattern[str] | None


def compare(c: BoundComparison, raw: Any) -> bool:
    """Two-valued SOQL semantics: null never satisfies =, <, >, LIKE or IN
    (unless the literal is null) and always satisfies !=, NOT LIKE and NOT IN."""
    value = normalize(c.kind, raw)
    op = c.op
    if op in ("IN", "NOT IN"):
        found = value in c.values
        return found if op == "IN" else not found
    if op in ("LIKE", "NOT LIKE"):
        assert c.regex is not None
        hit = value is not None and c.regex.fullmatch(value) is not None
        return hit if op == "LIKE" else not hit
    literal = c.values[0]
    if op == "=":
        return value == literal
    if op == "!=":
        return value != literal
    if value is None or literal is None:
        return False
    if op == "<":
        return bool(value < literal)
    if op == "<=":
        return bool(value <= literal)
    if op == ">":
        return bool(value > literal)
    return bool(value >= literal)


class _Binder:
    def __init__(self, schema: Schema, obj: SObject, q: Query) -> None:
        self.schema, self.obj, self.q = schema, obj, q

    def expr(self, e: Expr) -> Any:
        if isinstance(e, BoolOp):
            return ("AND" if e.op == "AND" else "OR", [self.expr(i) for i in e.items])
        if isinstance(e, Not):
            return ("NOT", self.expr(e.item))
        return self.comparison(e)

    def comparison(self, c: Comparison) -> BoundComparison:
        bound = bind_field(self.schema, self.obj, self.q, c.field)
        f = bound.field
        kind = _kind(f)
        if f.type == "textarea" and f.length > 255:
            raise _invalid_field(
                self.q,
                c.field.pos,
                f"field '{f.name}' can not be filtered in query call",
            )
        regex = None
        if c.op in ("LIKE", "NOT LIKE"):
            if kind != "text":
                raise ApiError(
                    400,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    located_message(
                        self.q.text,
                        c.field.pos,
                        f"invalid operator on field '{f.name}': LIKE needs text",
                    ),
                )
            assert isinstance(c.value, StringLit)
            regex = like_regex(c.value.pattern.lower())
        literals = c.value if isinstance(c.value, tuple) else (c.value,)
        for lit in literals:
            if not _literal_ok(kind, lit):
                quoted = (
                    "should be enclosed in quotes"
                    if kind in ("text", "id")
                    else "should not be enclosed in quotes"
                )
                raise _invalid_field(
                    self.q,
                    c.value_pos,
                    f"value of filter criterion for field '{f.name}' must be of "
                    f"type {_TYPE_NAMES[kind]} and {quoted}",
                )
        values = tuple(self.literal(kind, lit, c.value_pos) for lit in literals)
        return BoundComparison(bound, kind, c.op, values, regex)

    def literal(self, kind: str, lit: Literal, pos: int) -> Any:
        if lit is None:
            return None
        if kind == "text" and isinstance(lit, StringLit) and lit.value == "":
            # Text fields never hold '' (it is stored as null), and SOQL treats
            # a '' literal the same way: Title = '' finds the null titles.
            return None
        if kind == "id" and isinstance(lit, StringLit):
            try:
                return ids.to18(lit.value)
            except ValueError:
                raise ApiError(
                    400,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    located_message(self.q.text, pos, f"invalid ID field: {lit.value}"),
                ) from None
        return normalize(kind, lit)


def evaluate(node: Any, get: Callable[[BoundField], Any]) -> bool:
    if isinstance(node, BoundComparison):
        return compare(node, get(node.bound))
    op, inner = node
    if op == "NOT":
        return not evaluate(inner, get)
    if op == "AND":
        return all(evaluate(i, get) for i in inner)
    return any(evaluate(i, get) for i in inner)


@dataclass
class QueryResult:
    total: int
    records: list[Record]


def _sort(
    rows: list[Record],
    binds: list[tuple[BoundField, bool, bool]],
    get: Callable[[Record, BoundField], Any],
) -> list[Record]:
    # Stable sorts from the last key to the first give multi-key ordering; rows
    # that tie on every key keep their creation (Id) order.
    for bound, descending, nulls_last in reversed(binds):
        kind = _kind(bound.field)
        keyed = [(normalize(kind, get(r, bound)), r) for r in rows]
        present = [kr for kr in keyed if kr[0] is not None]
        nulls = [kr[1] for kr in keyed if kr[0] is None]
        present.sort(key=lambda kr: kr[0], reverse=descending)
        ordered = [r for _, r in present]
        rows = ordered + nulls if nulls_last else nulls + ordered
    return rows


def execute(
    schema: Schema,
    text: str,
    rows_for: Callable[[str], list[Record]],
    lookup: Lookup,
    version: str,
) -> QueryResult:
    """Run a query. rows_for(sobject) gives candidate rows; lookup(id) parents."""
    q = parse(text)
    obj = schema.get(q.sobject)
    if obj is None:
        raise ApiError(
            400,
            "INVALID_TYPE",
            located_message(
                q.text,
                q.sobject_pos,
                f"sObject type '{q.sobject}' is not supported. {_CUSTOM_OBJECT}",
            ),
        )
    selected = [bind_field(schema, obj, q, ref) for ref in q.fields]
    where = _Binder(schema, obj, q).expr(q.where) if q.where else None
    order = []
    for item in q.order_by:
        bound = bind_field(schema, obj, q, item.field)
        if bound.field.type == "textarea" and bound.field.length > 255:
            raise _invalid_field(
                q,
                item.field.pos,
                f"field '{bound.field.name}' can not be sorted in a query call",
            )
        order.append((bound, item.descending, item.nulls_last))

    parents: dict[str, Record | None] = {}

    def parent(rid: str) -> Record | None:
        if rid not in parents:
            rec = lookup(rid)
            parents[rid] = rec if rec and not rec.get("IsDeleted") else None
        return parents[rid]

    def get(row: Record, bound: BoundField) -> Any:
        if bound.rel is None:
            return row.get(bound.field.name)
        pid = row.get(bound.rel.name)
        p = parent(pid) if pid else None
        return p.get(bound.field.name) if p else None

    rows = rows_for(obj.name)
    if where is not None:
        cond = where
        rows = [r for r in rows if evaluate(cond, partial(get, r))]
    if order:
        rows = _sort(rows, order, get)
    if q.offset:
        rows = rows[q.offset :]
    if q.limit is not None:
        rows = rows[: q.limit]
    if q.count_only:
        return QueryResult(len(rows), [])
    return QueryResult(
        len(rows), [_render(obj, r, selected, parent, version) for r in rows]
    )


def _attributes(sobject: str, rid: str, version: str) -> dict[str, str]:
    return {
        "type": sobject,
        "url": f"/services/data/v{version}/sobjects/{sobject}/{rid}",
    }


def _render(
    obj: SObject, row: Record, selected: list[BoundField], parent: Lookup, version: str
) -> Record:
    out: Record = {"attributes": _attributes(obj.name, row["Id"], version)}
    for bound in selected:
        if bound.rel is None:
            out[bound.field.name] = row.get(bound.field.name)
            continue
        rel_name = bound.rel.relationship or bound.rel.name
        pid = row.get(bound.rel.name)
        p = parent(pid) if pid else None
        if p is None:
            out[rel_name] = None
            continue
        nested = out.get(rel_name)
        if nested is None:
            ptype = ids.object_for(p["Id"]) or bound.rel.reference_to[0]
            nested = {"attributes": _attributes(ptype, p["Id"], version)}
            out[rel_name] = nested
        nested[bound.field.name] = p.get(bound.field.name)
    return out
