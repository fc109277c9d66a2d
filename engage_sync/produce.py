"""`engage-sync produce`: publish JSON lines as Avro events, all or nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import EncodeError, Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings

# Upstream topics anyone may publish to, and the Avro field that keys them.
PUBLIC_INPUTS = ("calls", "emails")


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


def _coerce(schema: Any, value: Any) -> Any:
    """JSON lacks timestamps: accept ISO-8601 strings for timestamp-millis fields."""
    if isinstance(schema, list):
        for branch in schema:
            if branch == "null":
                if value is None:
                    return None
                continue
            return _coerce(branch, value)
        return value
    if isinstance(schema, dict):
        if schema.get("logicalType") == "timestamp-millis" and isinstance(value, str):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                raise ValueError(f"timestamp {value!r} has no time zone")
            return parsed
        if schema.get("type") == "record" and isinstance(value, dict):
            out = dict(value)
            for f in schema["fields"]:
                if f["name"] in out:
                    out[f["name"]] = _coerce(f["type"], out[f["name"]])
            return out
    return value


def encode_lines(
    serde: Serde, schema_name: str, key_field: str, lines: Iterable[str]
) -> tuple[list[tuple[bytes, bytes]], list[LineError]]:
    """Encode every line, or report every bad one; nothing is sent here."""
    from streams.activity.validation import InvalidEvent, validate

    codec = serde.codec(schema_name)
    encoded: list[tuple[bytes, bytes]] = []
    errors: list[LineError] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = _coerce(codec.schema.parsed, json.loads(raw))
            if not isinstance(record, dict):
                raise ValueError("a line must be a JSON object")
            value = codec.encode(record)
            decoded = codec.decode(value)
            if schema_name in ("CallLogged", "EmailEvent"):
                validate(decoded)
            elif not (decoded.get("event_id") or "").strip():
                raise ValueError("event_id is empty")
            key = str(_dig(decoded, key_field)).encode()
        except (
            json.JSONDecodeError,
            EncodeError,
            InvalidEvent,
            ValueError,
            KeyError,
        ) as exc:
            errors.append(LineError(number, str(exc)[:300]))
            continue
        encoded.append((key, value))
    return encoded, errors


def _dig(record: dict[str, Any], path: str) -> Any:
    if path == "engage_contact_id" and "contact" in record:
        return record["contact"]["engage_contact_id"]
    return record[path]


def publish(
    settings: KafkaSettings, topic: str, lines: Iterable[str]
) -> tuple[int, list[LineError]]:
    topics = Topics(settings)
    spec = topics.by_name(topic)
    if spec.value_schema is None:
        raise ValueError(f"{topic} takes raw bytes; nothing to encode")
    serde = Serde.for_kafka(settings)
    encoded, errors = encode_lines(serde, spec.value_schema, spec.key, lines)
    if errors:
        return 0, errors
    producer = AckingProducer(settings)
    for key, value in encoded:
        producer.produce(spec.name, value, key)
    producer.flush()
    return len(encoded), []
