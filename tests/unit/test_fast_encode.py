"""The generated SalesforceCommand writer writes fastavro's bytes, or leaves it to
fastavro: over every command kind, every union branch and the odd values."""

from __future__ import annotations

import copy
import math
import random
from datetime import UTC, datetime, timedelta, timezone
from io import BytesIO
from typing import Any

import fastavro
import pytest
from fastavro.schema import parse_schema, to_parsing_canonical_form

from connectors.kafka.fast_encode import Slow, Unsupported, _varint, compile_writer
from connectors.kafka.serde import AvroSchema, Codec, EncodeError, Serde
from domain.commands import LeadStatus, LinkRequest, OptOut, ReadById, TaskUpsert

NAME = "engage.events.SalesforceCommand"
SERDE = Serde()
SCHEMA = SERDE.catalog.get(NAME)
AT = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
ODD_TEXT = ["", " ", "é", "日本語テキスト", "emoji 🎉", "x" * 63, "y" * 64, "z" * 300]
ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 63, 64, -64, -65, 2**31, -(2**31) - 1,
    2**63 - 1, -(2**63), 0.0, -0.0, 1.5, 10.42, 1e300, math.inf, -math.inf,
    *ODD_TEXT,
]  # fmt: skip


def _fastavro(schema: Any, record: Any) -> bytes:
    buf = BytesIO()
    fastavro.schemaless_writer(buf, schema, record, strict_allow_default=True)
    return buf.getvalue()


def _generated(schema: Any, record: Any) -> bytes:
    parts: list[bytes] = []
    compile_writer(schema)(parts.append, record)
    return b"".join(parts)


def _commands(rng: random.Random) -> list[dict[str, Any]]:
    """Each command kind Engage builds, with varied texts, times and field values."""
    at = AT + timedelta(milliseconds=rng.randrange(-(10**12), 10**12))
    text = rng.choice(ODD_TEXT)
    task_fields = {
        f"Field{i}__c": rng.choice(ODD_VALUES) for i in range(rng.randrange(0, 15))
    }
    by_id = {"command_id": "c", "record_id": "00Q", "engage_contact_id": "ec"}
    by_id |= {"issued_at": at}
    return [
        TaskUpsert.for_activity(f"call-{text}", task_fields, at).to_avro(),
        TaskUpsert(command_id="e", fields={}, issued_at=at).to_avro(),
        LinkRequest(
            command_id=f"link-{text}",
            sobject=rng.choice(["Lead", "Contact"]),
            fields={"Email": text, "LastName": "Ö'Brien", "Phone": None},
            engage_contact_id=text,
            create=rng.random() < 0.5,
            issued_at=at,
        ).to_avro(),
        *(
            command(**common).to_avro()
            for command, common in (
                (ReadById, by_id | {"sobject": "Contact", "record_id": text}),
                (OptOut, by_id | {"sobject": "Lead", "engage_contact_id": text}),
                (LeadStatus, by_id | {"status": text}),
            )
        ),
    ]


def test_generated_writer_is_byte_identical_to_fastavro_over_varied_commands() -> None:
    rng = random.Random(14)
    records = [r for _ in range(300) for r in _commands(rng)]
    for record in records:
        assert _generated(SCHEMA.parsed, record) == _fastavro(SCHEMA.parsed, record)


def test_every_union_branch_of_a_field_value_encodes_as_fastavro_does() -> None:
    for value in ODD_VALUES:
        record = TaskUpsert.for_activity("t", {"F": value}, AT).to_avro()
        assert _generated(SCHEMA.parsed, record) == _fastavro(SCHEMA.parsed, record)


def test_codec_output_equals_fastavro_for_values_the_writer_leaves_to_it() -> None:
    """Ints past a long (fastavro writes a double), naive and non-UTC datetimes,
    subclasses, tuple notation, defaults left out: the codec's bytes stay fastavro's."""

    class Text(str):
        pass

    plus_two = timezone(timedelta(hours=2))
    base = TaskUpsert.for_activity("t", {}, AT).to_avro()
    odd = [
        base | {"fields": {"Big": 2**63}},
        base | {"fields": {"Small": -(2**63) - 1}},
        base | {"fields": {"Sub": Text("x")}},
        base | {"fields": {"Tuple": ("string", "x")}},
        base | {"issued_at": AT.replace(tzinfo=None)},
        base | {"issued_at": AT.astimezone(plus_two)},
        base | {"issued_at": 1_714_564_800_123},
        {k: v for k, v in base.items() if k != "record_id"},
    ]
    codec = SERDE.codec(NAME)
    for record in odd:
        assert codec.encode(record)[10:] == _fastavro(SCHEMA.parsed, record)


def test_non_utc_aware_datetime_is_written_by_the_generated_writer_as_fastavro() -> (
    None
):
    minus_five = timezone(timedelta(hours=-5))
    record = TaskUpsert.for_activity("t", {}, AT.astimezone(minus_five)).to_avro()
    assert _generated(SCHEMA.parsed, record) == _fastavro(SCHEMA.parsed, record)


@pytest.mark.parametrize(
    "record",
    [
        {"fields": {"Bad": object()}},
        {"fields": {"Bad": b"bytes"}},
        {"operation": "NOT_AN_OPERATION"},
        {"command_id": None},
        {"extra": "field"},
        {"fields": {"Lone": "\ud800"}},
    ],
    ids=["object", "bytes", "enum", "null-string", "extra-field", "lone-surrogate"],
)
def test_value_fastavro_refuses_is_still_an_encode_error(record: dict) -> None:
    base = TaskUpsert.for_activity("t", {}, AT).to_avro()
    with pytest.raises((Slow, UnicodeEncodeError)):  # either way: fastavro decides
        _generated(SCHEMA.parsed, base | record)
    with pytest.raises(EncodeError):
        SERDE.codec(NAME).encode(base | record)


def test_the_commands_codec_encodes_with_the_generated_writer() -> None:
    assert SERDE.codec(NAME)._fast is not None
    assert SERDE.codec("engage.events.CallLogged")._fast is None


def _changed(change: Any) -> Any:
    doc = copy.deepcopy(SCHEMA.standalone)
    change(doc)
    return parse_schema(doc)


def _values(doc: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in doc["fields"] if f["name"] == "fields")["type"]


@pytest.mark.parametrize(
    "change",
    [
        lambda d: _values(d)["values"].append("bytes"),
        lambda d: _values(d)["values"].insert(1, "int"),
        lambda d: _values(d)["values"].insert(1, "float"),
        lambda d: d["fields"].append({"name": "tags", "type": {"type": "array",
                                                               "items": "string"}}),
        lambda d: d["fields"].append({"name": "n", "type": "double"}),
        lambda d: d["fields"].append({"name": "d", "type": {
            "type": "int", "logicalType": "date"}}),
        lambda d: d["fields"].append({"name": "f", "type": {
            "type": "fixed", "name": "F", "size": 2}}),
        lambda d: d["fields"].append({"name": "op2",
                                      "type": "engage.events.WriteOperation"}),
    ],
    ids=["bytes-value", "int-value", "float-value", "array", "double", "date",
         "fixed", "named-reference"],
)  # fmt: skip
def test_a_schema_grown_past_the_writer_is_refused_at_compile(change: Any) -> None:
    with pytest.raises(Unsupported):
        compile_writer(_changed(change))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: _values(d)["values"].reverse(),
        lambda d: _values(d).update(values=["string", "double", "long", "null"]),
        lambda d: d["fields"].append(
            {"name": "note", "type": ["null", "string"], "default": None}
        ),
        lambda d: d["fields"][2]["type"]["symbols"].append("MERGE"),
        lambda d: d["fields"].insert(0, {"name": "flag", "type": "boolean"}),
    ],
    ids=["reversed-union", "reordered-union", "new-optional", "new-symbol", "bool"],
)
def test_a_schema_change_it_covers_still_writes_fastavro_bytes(change: Any) -> None:
    schema = _changed(change)
    rng = random.Random(3)
    names = [f["name"] for f in schema["fields"]]
    compared = 0
    for record in (r for _ in range(50) for r in _commands(rng)):
        record = {"note": "n", "flag": True} | record
        record = {k: v for k, v in record.items() if k in names}
        try:
            generated = _generated(schema, record)
        except Slow:  # left to fastavro: no bytes of its own to compare
            continue
        assert generated == _fastavro(schema, record)
        compared += 1
    assert compared > 100  # most records take the generated path


def test_codec_of_a_schema_the_writer_does_not_cover_encodes_with_fastavro(
    caplog: pytest.LogCaptureFixture,
) -> None:
    doc = copy.deepcopy(SCHEMA.standalone)
    doc["fields"].append({"name": "tags", "type": {"type": "array", "items": "string"}})
    parsed = parse_schema(doc)
    grown = AvroSchema(NAME, parsed, doc, to_parsing_canonical_form(parsed))
    codec = Codec(grown, SERDE.catalog)
    record = TaskUpsert.for_activity("t", {"F": 1}, AT).to_avro() | {"tags": ["a"]}
    assert codec._fast is None
    assert "encoded by fastavro only" in caplog.text
    assert codec.encode(record)[10:] == _fastavro(parsed, record)


def test_varint_is_fastavros_long_for_every_length_and_sign() -> None:
    rng = random.Random(9)
    edges = [s * (1 << b) + d for b in range(64) for s in (1, -1) for d in (-1, 0, 1)]
    values = [v for v in edges if -(2**63) <= v < 2**63]
    values += [rng.randrange(-(2**63), 2**63) >> rng.randrange(64) for _ in range(5000)]
    for value in values:
        assert _varint(value) == _fastavro("long", value), value


def test_map_keys_written_again_from_the_table_are_fastavro_bytes() -> None:
    write = compile_writer(SCHEMA.parsed)
    keys = ["Subject", "é", "日本語", "k" * 64, "", "Subject2"]
    record = TaskUpsert.for_activity("e", dict.fromkeys(keys, 1), AT).to_avro()
    expected = _fastavro(SCHEMA.parsed, record)
    for _ in range(3):  # the first write fills the key table, the others read it
        parts: list[bytes] = []
        write(parts.append, record)
        assert b"".join(parts) == expected


def test_map_key_of_a_str_subclass_is_left_to_fastavro() -> None:
    class Name(str):
        pass

    write = compile_writer(SCHEMA.parsed)
    plain = TaskUpsert.for_activity("e", {"Subject": 1}, AT).to_avro()
    write([].append, plain)  # "Subject" now in the key table
    with pytest.raises(Slow):
        write([].append, plain | {"fields": {Name("Subject"): 1}})
