"""SOQL subset parser: tokens → a small AST (no schema knowledge here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sandbox.errors import ApiError
from sandbox.values import parse_date, parse_datetime

KEYWORDS = frozenset(
    {
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "LIKE",
        "IN",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "NULLS",
        "FIRST",
        "LAST",
        "LIMIT",
        "OFFSET",
        "NULL",
        "TRUE",
        "FALSE",
        "COUNT",
    }
)
COMPARISON_OPS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+))(?![\w.])
  | (?P<string>')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
# Escapes SOQL allows in string literals; \_ and \% keep their backslash so a
# LIKE pattern can tell an escaped wildcard from a real one.
_SIMPLE_ESCAPES = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
}


@dataclass(frozen=True)
class Token:
    kind: str  # keyword, ident, string, number, date, datetime, op, punct, eof
    text: str
    pos: int
    value: Any = None


@dataclass(frozen=True)
class StringLit:
    """A string literal: `value` with escapes resolved, `pattern` for LIKE."""

    value: str
    pattern: str  # value where \% and \_ stay escaped as \% and \_


Literal = StringLit | float | int | bool | date | datetime | None


@dataclass(frozen=True)
class FieldRef:
    path: str  # as written, e.g. "Account.Name"
    pos: int


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    op: str  # = != < <= > >= LIKE NOT LIKE IN NOT IN
    value: Literal | tuple[Literal, ...]
    value_pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND / OR
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[FieldRef, ...]  # empty for COUNT()
    count_only: bool
    sobject: str
    sobject_pos: int
    where: Expr | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


def malformed(message: str) -> ApiError:
    return ApiError(400, "MALFORMED_QUERY", message)


def located_message(text: str, pos: int, message: str) -> str:
    """Salesforce's query error layout: the line, a caret, Row/Column, the text."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    row = text.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    return f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}"


def _read_string(text: str, start: int) -> tuple[StringLit, int]:
    value: list[str] = []
    pattern: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "'":
            return StringLit("".join(value), "".join(pattern)), i + 1
        if ch != "\\":
            value.append(ch)
            pattern.append(ch)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt in _SIMPLE_ESCAPES:
            value.append(_SIMPLE_ESCAPES[nxt])
            # Keep a backslash in the pattern so \\% stays "literal backslash"
            # followed by a real wildcard.
            pattern.append("\\\\" if nxt == "\\" else _SIMPLE_ESCAPES[nxt])
            i += 2
        elif nxt in ("_", "%"):
            value.append(nxt)
            pattern.append("\\" + nxt)
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2 : i + 6]):
            ch = chr(int(text[i + 2 : i + 6], 16))
            value.append(ch)
            pattern.append(ch)
            i += 6
        else:
            literal = text[start : text.find("'", i + 1) + 1 or len(text)]
            raise malformed(
                f"Invalid string literal {literal}. Illegal character sequence "
                f"'\\{nxt}' in string literal."
            )
    raise malformed(f"line 1:{start} mismatched character '<EOF>' expecting '''")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise malformed(f"unexpected token: '{text[pos]}'")
        kind = m.lastgroup or ""
        if kind == "ws":
            pos = m.end()
            continue
        if kind == "string":
            lit, end = _read_string(text, pos)
            tokens.append(Token("string", text[pos:end], pos, lit))
            pos = end
            continue
        raw = m.group()
        value: Any = raw
        if kind == "datetime":
            value = parse_datetime(raw)
            if value is None:
                raise malformed(f"unexpected token: '{raw}'")
        elif kind == "date":
            value = parse_date(raw)
            if value is None:
                raise malformed(f"unexpected token: '{raw}'")
        elif kind == "number":
            value = float(raw) if any(c in raw for c in ".eE") else int(raw)
        elif kind == "ident" and raw.upper() in KEYWORDS:
            kind, value = "keyword", raw.upper()
        tokens.append(Token(kind, raw, pos, value))
        pos = m.end()
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def unexpected(self) -> ApiError:
        tok = self.tok
        shown = tok.text if tok.kind == "eof" else f"'{tok.text}'"
        return malformed(f"unexpected token: {shown}")

    def accept(self, keyword: str) -> bool:
        if self.tok.kind == "keyword" and self.tok.value == keyword:
            self.i += 1
            return True
        return False

    def expect(self, keyword: str) -> None:
        if not self.accept(keyword):
            raise self.unexpected()

    def accept_punct(self, ch: str) -> bool:
        if self.tok.kind == "punct" and self.tok.text == ch:
            self.i += 1
            return True
        return False

    def expect_punct(self, ch: str) -> None:
        if not self.accept_punct(ch):
            raise self.unexpected()

    def field(self) -> FieldRef:
        tok = self.tok
        if tok.kind != "ident":
            raise self.unexpected()
        self.i += 1
        return FieldRef(tok.text, tok.pos)

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "number" or not isinstance(tok.value, int) or tok.value < 0:
            raise self.unexpected()
        self.i += 1
        return tok.value

    def parse(self) -> Query:
        self.expect("SELECT")
        fields: list[FieldRef] = []
        count_only = False
        if self.tok.kind == "keyword" and self.tok.value == "COUNT":
            self.i += 1
            self.expect_punct("(")
            self.expect_punct(")")
            count_only = True
        else:
            fields.append(self.field())
            while self.accept_punct(","):
                fields.append(self.field())
        self.expect("FROM")
        obj = self.tok
        if obj.kind != "ident" or "." in obj.text:
            raise self.unexpected()
        self.i += 1
        where = self.expr() if self.accept("WHERE") else None
        order: list[OrderItem] = []
        if self.accept("ORDER"):
            self.expect("BY")
            order.append(self.order_item())
            while self.accept_punct(","):
                order.append(self.order_item())
        limit = self.integer() if self.accept("LIMIT") else None
        offset = self.integer() if self.accept("OFFSET") else None
        if self.tok.kind != "eof":
            raise self.unexpected()
        return Query(
            self.text,
            tuple(fields),
            count_only,
            obj.text,
            obj.pos,
            where,
            tuple(order),
            limit,
            offset,
        )

    def order_item(self) -> OrderItem:
        ref = self.field()
        descending = False
        if self.accept("DESC"):
            descending = True
        else:
            self.accept("ASC")
        # Salesforce defaults: ASC puts nulls first, DESC puts them last.
        nulls_last = descending
        if self.accept("NULLS"):
            if self.accept("FIRST"):
                nulls_last = False
            else:
                self.expect("LAST")
                nulls_last = True
        return OrderItem(ref, descending, nulls_last)

    def expr(self) -> Expr:
        first = self.unary()
        if self.tok.kind != "keyword" or self.tok.value not in ("AND", "OR"):
            return first
        op = self.tok.value
        items = [first]
        while self.accept(op):
            items.append(self.unary())
        # SOQL refuses to mix AND and OR without parentheses.
        if self.tok.kind == "keyword" and self.tok.value in ("AND", "OR"):
            raise self.unexpected()
        return BoolOp(op, tuple(items))

    def unary(self) -> Expr:
        if self.accept("NOT"):
            return Not(self.unary())
        if self.accept_punct("("):
            inner = self.expr()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Expr:
        ref = self.field()
        tok = self.tok
        if tok.kind == "op":
            self.i += 1
            op = "!=" if tok.text == "<>" else tok.text
            pos = self.tok.pos
            return Comparison(ref, op, self.literal(), pos)
        negated = self.accept("NOT")
        if self.accept("LIKE"):
            pos = self.tok.pos
            value = self.literal()
            if not isinstance(value, StringLit):
                raise malformed("LIKE operator requires a string value")
            return Comparison(ref, "NOT LIKE" if negated else "LIKE", value, pos)
        if self.accept("IN"):
            self.expect_punct("(")
            pos = self.tok.pos
            if self.tok.kind == "keyword" and self.tok.value == "SELECT":
                raise malformed(
                    "semi-join sub-selects are not supported by the sandbox"
                )
            values = [self.literal()]
            while self.accept_punct(","):
                values.append(self.literal())
            self.expect_punct(")")
            return Comparison(ref, "NOT IN" if negated else "IN", tuple(values), pos)
        raise self.unexpected()

    def literal(self) -> Literal:
        tok = self.tok
        if tok.kind in ("string", "number", "date", "datetime"):
            self.i += 1
            return tok.value  # type: ignore[no-any-return]
        if tok.kind == "keyword" and tok.value in ("NULL", "TRUE", "FALSE"):
            self.i += 1
            return {"NULL": None, "TRUE": True, "FALSE": False}[tok.value]
        raise self.unexpected()


def parse(text: str) -> Query:
    """Parse a SOQL query; raises ApiError(MALFORMED_QUERY) on syntax errors."""
    if not text or not text.strip():
        raise malformed("unexpected token: <EOF>")
    return _Parser(text).parse()
