"""Tests for the Avro wire formats: single-object, Confluent framing, errors."""

from __future__ import annotations

import json
import random
import struct
import sys
import types
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from connectors.kafka.serde import (
    AvroSchema,
    Codec,
    DecodeError,
    EncodeError,
    SchemaRegistryAdapter,
    Serde,
)
from tests.factories import call_event, contact_ref, email_event

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "engage.events"
NAMESPACE = "engage.events"
WRITTEN_AT = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)

# First id handed out by the fake registry: four distinct bytes show the byte order.
FIRST_REGISTRY_ID = 0x01020304

# Schemas that name another schema of the catalog instead of defining it inline.
REFERENCING = {"CallLogged", "EmailEvent", "ParkedActivity"}


def _docs() -> dict[str, dict[str, Any]]:
    docs = {}
    for path in sorted(SCHEMA_DIR.glob("*.avsc")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        docs[f"{doc['namespace']}.{doc['name']}"] = doc
    return docs


def _self_contained(schema: Any, docs: dict[str, Any], seen: set[str]) -> Any:
    """Inline each catalog schema at its first use, as Avro's canonical form expects."""
    if isinstance(schema, str):
        if schema in docs and schema not in seen:
            return _self_contained(docs[schema], docs, seen)
        return schema
    if isinstance(schema, list):
        return [_self_contained(branch, docs, seen) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if schema.get("type") in ("record", "enum", "fixed"):
        namespace = schema.get("namespace", NAMESPACE)
        name = schema["name"]
        seen.add(name if "." in name else f"{namespace}.{name}")
    if "fields" in schema:
        out["fields"] = [
            dict(f, type=_self_contained(f["type"], docs, seen))
            for f in schema["fields"]
        ]
    for key in ("items", "values"):
        if key in schema:
            out[key] = _self_contained(schema[key], docs, seen)
    if isinstance(schema.get("type"), dict | list):
        out["type"] = _self_contained(schema["type"], docs, seen)
    return out


def _canonical(name: str) -> str:
    docs = _docs()
    standalone = _self_contained(docs[f"{NAMESPACE}.{name}"], docs, set())
    return to_parsing_canonical_form(parse_schema(standalone))


def _sample(name: str) -> dict[str, Any]:
    samples: dict[str, dict[str, Any]] = {
        "CallLogged": call_event(
            sentiment="NEXT_STEP_BOOKED",
            comments="Wants a demo",
            recording_url="https://rec.example.com/1",
        ),
        "EmailEvent": email_event(event_type="LINK_CLICKED", link_text="Pricing"),
        "ContactRef": contact_ref(salesforce_id=None, phone=None),
        "ParkedActivity": {
            "event_id": "evt-1",
            "reason": "contact-not-linked",
            "parked_at": WRITTEN_AT,
            "engage_contact_id": "engage-contact-1",
            "source_topic": "engage.email.events",
            "activity": email_event(contact=contact_ref(salesforce_id=None)),
        },
        "SalesforceCommand": {
            "command_id": "evt-1",
            "issued_at": WRITTEN_AT,
            "operation": "UPSERT",
            "sobject": "Task",
            "external_id_field": "Engage_Activity_Id__c",
            "record_id": None,
            "fields": {
                "Subject": "Call: Discovery call",
                "CallDurationInSeconds": 125,
                "Engage_Call_Duration_Minutes__c": 2.08,
                "IsReminderSet": False,
                "Description": None,
            },
            "source_event_id": "evt-1",
            "source_occurred_at": WRITTEN_AT,
            "engage_contact_id": None,
        },
        "WriteResult": {
            "event_id": "evt-1",
            "object": "Task",
            "operation": "UPSERT",
            "success": False,
            "salesforce_id": None,
            "created": None,
            "status_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "message": "Subject must not be empty",
            "fields": ["Subject"],
            "written_at": WRITTEN_AT,
            "engage_contact_id": None,
            "record": {},
            "candidates": [],
        },
        "SalesforceRecord": {
            "salesforce_id": "00Q000000000001AAA",
            "object": "Lead",
            "system_modstamp": WRITTEN_AT,
            "last_modified": WRITTEN_AT,
            "is_deleted": False,
            "master_record_id": None,
            "is_converted": False,
            "converted_contact_id": None,
            "in_scope": True,
            "fields": {
                "Title": "VP Sales",
                "AnnualRevenue": 2.5e6,
                "IsConverted": False,
            },
            "poll_kind": "incremental",
            "polled_at": WRITTEN_AT,
        },
        "EngageContact": {
            "engage_contact_id": "sf-00Q000000000001AAA",
            "salesforce_id": "00Q000000000001AAA",
            "salesforce_object": "Lead",
            "email": "ada@example.org",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "phone": None,
            "company": "Analytical",
            "title": "VP Sales",
            "status": None,
            "fields": {"salutation": "Ms."},
            "in_scope": True,
            "updated_at": WRITTEN_AT,
            "field_times": {"first_name": 1714564800123},
        },
        "EngageAccount": {
            "engage_account_id": "sf-001000000000001AAA",
            "salesforce_id": "001000000000001AAA",
            "name": "Analytical Engines",
            "website": "https://example.org",
            "fields": {},
            "in_scope": True,
            "updated_at": WRITTEN_AT,
        },
        "CrmSettingsDocument": {
            "document": "objects: {Lead: {sync: true}}\n",
            "applied_at": WRITTEN_AT,
            "source": "crm.yaml",
            "sha256": "0" * 64,
        },
        "ContactEvent": {
            "event_id": "ce-1",
            "occurred_at": WRITTEN_AT,
            "user_id": "u1",
            "contact": contact_ref(salesforce_id=None),
            "action": "STATUS_CHANGED",
            "source": "CSV_IMPORT",
            "status": "Working - Contacted",
        },
        "UserEvent": {
            "event_id": "ue-1",
            "occurred_at": WRITTEN_AT,
            "user_id": "u1",
            "action": "CONNECTED",
            "salesforce_user_id": "005000000000001AAA",
        },
        "PollerState": {
            "object": "Lead",
            "kind": "incremental",
            "system_modstamp": WRITTEN_AT,
            "last_id": "00Q000000000001AAA",
            "seen": ["00Q000000000001AAA@1714564800123"],
            "started_at": None,
            "done": False,
            "read": None,
            "total": None,
            "updated_at": WRITTEN_AT,
        },
        "ApiUsage": {
            "process": "writer",
            "hours": {"2026-11-27T18": 1200, "2026-11-27T19": 3},
            "updated_at": WRITTEN_AT,
        },
    }
    return samples[name]


SCHEMA_NAMES = sorted(path.stem for path in SCHEMA_DIR.glob("*.avsc"))


class RegistryLookupError(LookupError):
    """What a registry answers for an id it never issued (HTTP 404, error 40403)."""


class FakeRegistry:
    """In-memory stand-in for SchemaRegistryAdapter: ids by canonical form."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._schemas: dict[int, Any] = {}
        self.lookups: list[int] = []

    def register(self, canonical: str, parsed: Any) -> int:
        if canonical not in self._ids:
            schema_id = FIRST_REGISTRY_ID + len(self._ids)
            self._ids[canonical] = schema_id
            self._schemas[schema_id] = parsed
        return self._ids[canonical]

    def schema_id(self, schema: AvroSchema) -> int:
        return self.register(schema.canonical, schema.parsed)

    def writer_schema(self, schema_id: int) -> Any:
        self.lookups.append(schema_id)
        if schema_id not in self._schemas:
            raise RegistryLookupError(f"Schema {schema_id} not found")
        return self._schemas[schema_id]


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def registry_serde(registry: FakeRegistry) -> Serde:
    serde = Serde()
    serde.registry = registry  # type: ignore[assignment]
    return serde


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_round_trips_in_single_object_encoding(name: str) -> None:
    serde = Serde()
    record = _sample(name)

    data = serde.encode(name, record)

    assert data[:2] == b"\xc3\x01"
    assert serde.decode(name, data) == record


def test_fastavro_crc64_hex_is_the_little_endian_byte_order_of_the_spec_value() -> None:
    # Avro's own test vector: fingerprint64('"null"') == 7195948357588979594.
    assert bytes.fromhex(fingerprint('"null"', "CRC-64-AVRO")) == struct.pack(
        "<Q", 7195948357588979594
    )


@pytest.mark.parametrize(
    "name",
    [n for n in SCHEMA_NAMES],
)
def test_single_object_header_is_marker_then_little_endian_crc64_fingerprint(
    name: str,
) -> None:
    expected = bytes.fromhex(fingerprint(_canonical(name), "CRC-64-AVRO"))

    data = Serde().encode(name, _sample(name))

    assert data[:10] == b"\xc3\x01" + expected


@pytest.mark.parametrize(
    "name",
    [n if n in REFERENCING else n for n in SCHEMA_NAMES],
)
def test_catalog_canonical_form_is_the_self_contained_parsing_canonical_form(
    name: str,
) -> None:
    assert Serde().codec(name).schema.canonical == _canonical(name)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_confluent_framing_is_magic_zero_then_big_endian_registry_id(
    name: str, registry: FakeRegistry
) -> None:
    serde = Serde()
    codec = Codec(serde.catalog.get(name), serde.catalog, registry=registry)
    record = _sample(name)

    data = codec.encode(record)

    assert data[:5] == b"\x00\x01\x02\x03\x04"
    assert codec.decode(data) == record


def test_each_schema_gets_its_own_registry_id(registry_serde: Serde) -> None:
    first = registry_serde.encode("CallLogged", call_event())
    second = registry_serde.encode("EmailEvent", email_event())

    assert struct.unpack(">I", first[1:5]) != struct.unpack(">I", second[1:5])


def test_consumer_with_a_registry_decodes_both_wire_formats(
    registry_serde: Serde,
) -> None:
    plain = call_event(comments="single-object")
    framed = call_event(comments="confluent")
    single_object = Serde().encode("CallLogged", plain)
    confluent = registry_serde.encode("CallLogged", framed)

    assert single_object[:2] == b"\xc3\x01"
    assert confluent[:1] == b"\x00"
    assert registry_serde.decode("CallLogged", single_object) == plain
    assert registry_serde.decode("CallLogged", confluent) == framed


def test_registry_writer_schema_is_fetched_once_per_id(
    registry_serde: Serde, registry: FakeRegistry
) -> None:
    data = registry_serde.encode("CallLogged", call_event())

    for _ in range(3):
        registry_serde.decode("CallLogged", data)

    assert registry.lookups == [struct.unpack(">I", data[1:5])[0]]


def test_older_writer_schema_without_an_optional_field_is_read_as_current_schema(
    registry: FakeRegistry,
) -> None:
    docs = _docs()
    old = _self_contained(docs[f"{NAMESPACE}.CallLogged"], docs, set())
    old["fields"] = [f for f in old["fields"] if f["name"] != "recording_url"]
    old_parsed = parse_schema(old)
    old_id = registry.register(to_parsing_canonical_form(old_parsed), old_parsed)
    event = call_event(comments="from v1")
    del event["recording_url"]
    body = BytesIO()
    fastavro.schemaless_writer(body, old_parsed, event)
    serde = Serde()
    serde.registry = registry  # type: ignore[assignment]

    decoded = serde.decode(
        "CallLogged", b"\x00" + struct.pack(">I", old_id) + body.getvalue()
    )

    assert decoded == event | {"recording_url": None}


def test_confluent_framed_message_without_a_registry_is_a_decode_error(
    registry_serde: Serde,
) -> None:
    data = registry_serde.encode("CallLogged", call_event())

    with pytest.raises(DecodeError, match="SCHEMA_REGISTRY_URL"):
        Serde().decode("CallLogged", data)


def test_confluent_frame_with_an_id_the_registry_never_issued_is_a_decode_error(
    registry_serde: Serde,
) -> None:
    data = b"\x00" + struct.pack(">I", 7) + b"\x02\x04ab"

    with pytest.raises(DecodeError):
        registry_serde.decode("CallLogged", data)


def _single_object(name: str) -> bytes:
    return Serde().encode(name, _sample(name))


DECODE_ERRORS = {
    "none": (None, "empty"),
    "empty bytes": (b"", "empty"),
    "random bytes": (random.Random(7).randbytes(64), "unknown wire format"),
    "marker only": (b"\xc3\x01", "unknown wire format"),
    "unknown fingerprint": (
        b"\xc3\x01" + b"\xde\xad\xbe\xef\xde\xad\xbe\xef" + b"\x02ab",
        "unknown schema fingerprint",
    ),
    "truncated body": (_single_object("CallLogged")[:-30], "undecodable"),
    "record of another schema": (_single_object("EmailEvent"), "cannot be read as"),
    "nested record of another schema": (
        _single_object("ContactRef"),
        "cannot be read as",
    ),
}


@pytest.mark.parametrize(
    ("data", "fragment"), DECODE_ERRORS.values(), ids=DECODE_ERRORS.keys()
)
def test_undecodable_message_is_a_decode_error_with_a_short_message(
    data: bytes | None, fragment: str
) -> None:
    with pytest.raises(DecodeError) as raised:
        Serde().decode("CallLogged", data)

    assert fragment in str(raised.value)
    assert len(str(raised.value)) < 300


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_truncation_of_a_body_is_a_decode_error(name: str) -> None:
    data = _single_object(name)
    serde = Serde()

    for cut in range(10, len(data)):
        with pytest.raises(DecodeError) as raised:
            serde.decode(name, data[:cut])
        assert len(str(raised.value)) < 300, cut


def test_decode_error_for_a_huge_corrupt_body_stays_short() -> None:
    header = _single_object("CallLogged")[:10]
    # A string length prefix far beyond the data makes fastavro fail reading it.
    data = header + b"\xfe\xff\xff\xff\x0f" + b"x" * 10_000

    with pytest.raises(DecodeError) as raised:
        Serde().decode("CallLogged", data)

    assert len(str(raised.value)) < 300


ENCODE_ERRORS = {
    "missing required field": (
        {k: v for k, v in call_event().items() if k != "subject"},
        "subject",
    ),
    "unknown enum symbol": (call_event(call_result="HUNG_UP"), "HUNG_UP"),
    "wrong type": (call_event(duration_seconds="125"), "duration_seconds"),
    "field not in schema": (call_event() | {"campaign": "q3"}, "campaign"),
    "null for a required record": (call_event(contact=None), "contact"),
    "nested required field missing": (
        call_event(contact={"salesforce_id": None}),
        "engage_contact_id",
    ),
}


@pytest.mark.parametrize(
    ("record", "fragment"), ENCODE_ERRORS.values(), ids=ENCODE_ERRORS.keys()
)
def test_record_violating_the_schema_is_an_encode_error(
    record: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(EncodeError) as raised:
        Serde().encode("CallLogged", record)

    assert fragment in str(raised.value)
    assert "CallLogged" in str(raised.value)


def test_optional_fields_may_be_left_out_when_encoding() -> None:
    event = call_event()
    for optional in ("sentiment", "comments", "voicemail_title", "recording_url"):
        del event[optional]
    serde = Serde()

    decoded = serde.decode("CallLogged", serde.encode("CallLogged", event))

    assert decoded["comments"] is None
    assert decoded["recording_url"] is None


class _FakeConfluentClient:
    """Behaves like a real registry: a schema must parse on its own to be registered."""

    def __init__(self, conf: dict[str, str]) -> None:
        self.registered: dict[int, str] = {}

    def register_schema(self, subject: str, schema: Any) -> int:
        try:
            parse_schema(json.loads(schema.schema_str))
        except Exception as exc:
            raise ValueError(f"422 Invalid schema: {exc}") from exc
        schema_id = len(self.registered) + 1
        self.registered[schema_id] = schema.schema_str
        return schema_id

    def get_schema(self, schema_id: int) -> Any:
        return types.SimpleNamespace(schema_str=self.registered[schema_id])


@pytest.fixture
def fake_confluent_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stands in for confluent_kafka.schema_registry, whose import needs extras."""
    module = types.ModuleType("confluent_kafka.schema_registry")
    module.SchemaRegistryClient = _FakeConfluentClient  # type: ignore[attr-defined]
    module.Schema = lambda schema_str, schema_type: types.SimpleNamespace(  # type: ignore[attr-defined]
        schema_str=schema_str, schema_type=schema_type
    )
    monkeypatch.setitem(sys.modules, "confluent_kafka.schema_registry", module)


@pytest.mark.parametrize(
    "name",
    [n if n in REFERENCING else n for n in SCHEMA_NAMES],
)
@pytest.mark.usefixtures("fake_confluent_registry")
def test_registry_adapter_registers_a_schema_a_registry_can_parse(name: str) -> None:
    adapter = SchemaRegistryAdapter("http://registry.invalid:8081")

    schema_id = adapter.schema_id(Serde().catalog.get(name))

    assert (
        parse_schema(adapter.writer_schema(schema_id))["name"] == f"{NAMESPACE}.{name}"
    )


@pytest.mark.parametrize(
    "name",
    [
        "ContactRef",
        "SalesforceCommand",
        "WriteResult",
    ],
)
@pytest.mark.usefixtures("fake_confluent_registry")
def test_registry_adapter_round_trip_keeps_timestamps_as_datetimes(name: str) -> None:
    serde = Serde()
    serde.registry = SchemaRegistryAdapter("http://registry.invalid:8081")
    record = _sample(name)

    data = serde.encode(name, record)

    assert data[:1] == b"\x00"
    assert serde.decode(name, data) == record


def test_schema_registry_client_is_importable_for_schema_registry_url() -> None:
    adapter = SchemaRegistryAdapter("http://registry.invalid:8081")

    assert adapter is not None
