"""A specialised Avro binary writer, generated from a parsed `.avsc`, for the hot
`SalesforceCommand` encode; byte-identical to fastavro's or it hands the record back.

fastavro resolves each union value by trying branch after branch (a command's
`fields` map is a union per value), about 3 µs a value. The writer generated here
picks the branch from the value's exact Python type, in a table built from the schema
by fastavro's own rule (the first branch whose validator accepts the value), and is one
straight-line function per schema (no call per field). It covers only schema shapes
and values whose encoding is unambiguous: `compile_writer` raises `Unsupported` for any
other schema (the codec then keeps fastavro), and the writer raises `Slow` for any other
value (the codec then encodes that record with fastavro, errors included).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# `write(put, value)`: `put` is a list's `append`; the record's bytes are the
# concatenation of what it was given (one join, cheaper than growing a bytearray).
Writer = Callable[[Callable[[bytes], None], Any], None]
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Unsupported(ValueError):
    """The schema uses a shape this writer does not cover: use fastavro."""


class Slow(Exception):
    """This value is not one the writer is sure of: encode the record with fastavro."""


def _varint(n: int) -> bytes:
    """Zig-zag varint, as Avro writes `int` and `long`."""
    if not LONG_MIN <= n <= LONG_MAX:
        raise Slow
    n = (n << 1) ^ (n >> 63)
    if 1 << 35 <= n < 1 << 42:  # six bytes: timestamps in millis of 1971-2039
        return bytes(
            (
                n & 0x7F | 0x80,
                n >> 7 & 0x7F | 0x80,
                n >> 14 & 0x7F | 0x80,
                n >> 21 & 0x7F | 0x80,
                n >> 28 & 0x7F | 0x80,
                n >> 35,
            )
        )
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# 0..63 as one zig-zag byte each: lengths, counts and small longs, written inline.
SMALL = tuple(bytes([n << 1]) for n in range(64))


def _millis(value: Any) -> int:
    """fastavro's `prepare_timestamp_millis`, for aware datetimes and ints only."""
    if type(value) is int:
        return value
    if type(value) is not datetime or value.tzinfo is None:
        raise Slow  # a naive datetime is read as local time: leave it to fastavro
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


_PRIMITIVES = ("null", "boolean", "long", "double", "string")
# For each kind of union branch: the exact Python types fastavro's validator for it
# accepts (bool is not an int to its long/double validators; an int is a double).
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "null": (type(None),),
    "boolean": (bool,),
    "long": (int,),
    "timestamp-millis": (int, datetime),
    "double": (float, int),
    "string": (str,),
}


def _kind(schema: Any) -> str:
    """A primitive's name, 'timestamp-millis', or the complex type's name."""
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return schema
        raise Unsupported(f"type {schema!r}")  # a named reference, int, float, bytes
    if isinstance(schema, list):
        return "union"
    if not isinstance(schema, dict):
        raise Unsupported(f"schema {schema!r}")
    kind, logical = schema.get("type"), schema.get("logicalType")
    if kind == "long" and logical == "timestamp-millis":
        return "timestamp-millis"
    if logical is not None or kind not in (*_PRIMITIVES, "record", "enum", "map"):
        raise Unsupported(f"schema {str(schema)[:80]}")
    return str(kind)


class _Source:
    """The generated function's lines and the constants it refers to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "Slow": Slow,
            "SMALL": SMALL,
            "_varint": _varint,
            "_millis": _millis,
        }
        self._count = 0

    def var(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def const(self, value: Any) -> str:
        name = self.var("c")
        self.names[name] = value
        return name

    def add(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)


def _string(src: _Source, v: str, d: int, checked: bool = False) -> None:
    if not checked:
        src.add(d, f"if type({v}) is not str: raise Slow")
    b = src.var("b")
    src.add(d, f"{b} = {v}.encode()")
    _long(src, f"len({b})", d, small_only=True)
    src.add(d, f"put({b})")


# Most map keys recur (a command's field names): their written bytes, kept up to here.
KEYS_REMEMBERED = 1024


def _map_key(src: _Source, k: str, d: int) -> None:
    """A map key, its bytes (length and UTF-8) taken from a table once written."""
    known, kb, b = src.const({}), src.var("kb"), src.var("b")
    src.add(d, f"if type({k}) is not str: raise Slow")
    src.add(d, f"{kb} = {known}.get({k})")
    src.add(d, f"if {kb} is None:")
    src.add(d + 1, f"{b} = {k}.encode()")
    src.add(d + 1, f"{kb} = {_int_bytes(src, f'len({b})', d + 1, True)} + {b}")
    src.add(d + 1, f"if len({known}) < {KEYS_REMEMBERED}:")
    src.add(d + 2, f"{known}[{k}] = {kb}")
    src.add(d, f"put({kb})")


def _long(src: _Source, expression: str, d: int, small_only: bool = False) -> None:
    """Write an int: one byte from the table if it is in 0..63, else its varint."""
    src.add(d, f"put({_int_bytes(src, expression, d, small_only)})")


def _int_bytes(src: _Source, expression: str, d: int, small_only: bool) -> str:
    """An expression for an int's bytes (`expression` evaluated once, here)."""
    n = src.var("n")
    src.add(d, f"{n} = {expression}")
    low = "" if small_only else f"0 <= {n} and "
    return f"(SMALL[{n}] if {low}{n} < 64 else _varint({n}))"


def _scalar(src: _Source, kind: str, v: str, d: int, checked: bool) -> None:
    pytype = {"boolean": "bool", "long": "int", "double": "float"}.get(kind)
    if pytype is not None and not checked:
        src.add(d, f"if type({v}) is not {pytype}: raise Slow")
    if kind == "null":
        src.add(d, f"if {v} is not None: raise Slow")
    elif kind == "boolean":
        true, false = src.const(b"\x01"), src.const(b"\x00")
        src.add(d, f"put({true} if {v} else {false})")
    elif kind == "long":
        _long(src, v, d)
    elif kind == "double":
        src.add(d, f"put({src.const(struct.Struct('<d').pack)}({v}))")
    elif kind == "timestamp-millis":
        _long(src, f"_millis({v})", d)
    else:
        _string(src, v, d, checked)


def _union_string(src: _Source, index: bytes, v: str, d: int) -> None:
    """A union's string branch: its index and a short length in one table entry."""
    prefixed = src.const(tuple(index + SMALL[n] for n in range(64)))
    b, n = src.var("b"), src.var("n")
    src.add(d, f"{b} = {v}.encode()")
    src.add(d, f"{n} = len({b})")
    long = f"{src.const(index)} + _varint({n})"
    src.add(d, f"put({prefixed}[{n}] if {n} < 64 else {long})")
    src.add(d, f"put({b})")


def _union(src: _Source, branches: list[Any], v: str, d: int) -> None:
    by_type: dict[type, tuple[int, str]] = {}
    for index, kind in enumerate(_kind(b) for b in branches):
        if kind not in _ACCEPTS:
            raise Unsupported(f"union branch {kind}")
        for pytype in _ACCEPTS[kind]:
            by_type.setdefault(pytype, (index, kind))
    t = src.var("t")
    src.add(d, f"{t} = type({v})")
    keyword = "if"
    # Exact types exclude each other, so the tests' order is free: text first, as
    # most of a command's values are strings.
    for pytype, (index, kind) in sorted(by_type.items(), key=lambda b: b[0] is not str):
        if pytype is int and kind == "double":
            continue  # an int as a double: rare, left to fastavro
        src.add(d, f"{keyword} {t} is {src.const(pytype)}:")
        if kind == "string":
            _union_string(src, _varint(index), v, d + 1)
        else:
            src.add(d + 1, f"put({src.const(_varint(index))})")
            _scalar(src, kind, v, d + 1, checked=True)
        keyword = "elif"
    src.add(d, "else: raise Slow  # tuple notation, subclasses, what fastavro coerces")


def _write(src: _Source, schema: Any, v: str, d: int) -> None:
    kind = _kind(schema)
    if kind == "union":
        _union(src, schema, v, d)
    elif kind == "record":
        # Exactly the schema's fields, as strict_allow_default demands; a missing
        # field (written from its default) or an extra one goes to fastavro.
        fields = schema["fields"]
        src.add(d, f"if type({v}) is not dict or len({v}) != {len(fields)}:")
        src.add(d + 1, "raise Slow")
        for field in fields:
            f = src.var("f")
            src.add(d, f"{f} = {v}[{field['name']!r}]")
            _write(src, field["type"], f, d)
    elif kind == "enum":
        index = {s: _varint(i) for i, s in enumerate(schema["symbols"])}
        e = src.var("e")
        src.add(d, f"{e} = {src.const(index)}.get({v}) if type({v}) is str else None")
        src.add(d, f"if {e} is None: raise Slow")
        src.add(d, f"put({e})")
    elif kind == "map":
        k, item = src.var("k"), src.var("i")
        src.add(d, f"if type({v}) is not dict: raise Slow")
        src.add(d, f"if {v}:")
        _long(src, f"len({v})", d + 1)
        src.add(d + 1, f"for {k}, {item} in {v}.items():")
        _map_key(src, k, d + 2)
        _write(src, schema["values"], item, d + 2)
        src.add(d, "put(SMALL[0])  # the end of the map's blocks")
    elif kind == "double":
        # fastavro writes float(value) for a double field: not this writer's job.
        raise Unsupported("double outside a union")
    else:
        _scalar(src, kind, v, d, checked=False)


def compile_writer(schema: Any) -> Writer:
    """A writer for a parsed (fastavro `parse_schema`) schema, or `Unsupported`."""
    src = _Source()
    src.add(0, "def write(put, value):")
    _write(src, schema, "value", 1)
    namespace = dict(src.names)
    # Named so that profiles and tracebacks show whose writer it is.
    where = (
        f"<fast_encode {schema.get('name', '?') if isinstance(schema, dict) else '?'}>"
    )
    code = compile("\n".join(src.lines), where, "exec")
    exec(code, namespace)  # noqa: S102 - our own generated code
    write: Writer = namespace["write"]
    write.__doc__ = "\n".join(src.lines)  # the generated source, for a reader
    return write
