"""Avro wiring: loads the packaged `.avsc` files; encodes/decodes both wire formats."""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from importlib.resources.abc import Traversable
from io import BytesIO
from typing import Any

import fastavro
from fastavro.read import SchemaResolutionError
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from connectors.kafka import config
from connectors.kafka.fast_encode import Unsupported, Writer, compile_writer
from ground.settings import KafkaSettings

log = logging.getLogger(__name__)

# The top-level `schemas/` folder, shipped as package data (pyproject maps it): found
# through importlib.resources so an installed wheel needs no checkout beside it.
SCHEMA_DIR: Traversable = resources.files("engage_sync.schemas")
NAMESPACE = "engage.events"
SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"
# Schemas encoded by the generated writer (fast_encode.py) where it covers the value;
# its bytes are tested to be fastavro's for these (tests/unit/test_fast_encode.py).
FAST_WRITERS = frozenset({f"{NAMESPACE}.SalesforceCommand"})


class DecodeError(ValueError):
    """A message is not a decodable event of the expected schema."""


class EncodeError(ValueError):
    """A value does not conform to the schema it is encoded with."""


class RegistryUnavailable(ConnectionError):
    """The Schema Registry could not answer now (5xx, 408/429, refused, timed out).

    Not a DecodeError: the message is fine, the registry is not; the caller retries
    the whole batch later instead of dead-lettering the message.
    """


def _outage(exc: Exception) -> bool:
    """A registry failure that passes by itself, as confluent-kafka's own client
    sees it (`is_retriable`: 408, 429, 500, 502, 503, 504), or no answer at all."""
    # httpx2 or httpx, whichever confluent-kafka's client runs on.
    from confluent_kafka.schema_registry.common._httpx_compat import httpx
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    if isinstance(exc, SchemaRegistryError):
        status = exc.http_status_code
        return status in (408, 429) or status >= 500
    return isinstance(exc, httpx.TransportError | OSError)


def _registry_call(what: str, call: Any) -> Any:
    try:
        return call()
    except Exception as exc:
        if _outage(exc):
            raise RegistryUnavailable(
                f"Schema Registry unavailable ({what}): {type(exc).__name__}: "
                f"{str(exc)[:200]}"
            ) from exc
        raise


@dataclass(frozen=True)
class AvroSchema:
    """One parsed schema, self-contained (named types inlined), with its fingerprint."""

    name: str
    parsed: Any
    standalone: dict[str, Any]
    canonical: str

    @cached_property
    def fingerprint(self) -> bytes:
        # fastavro's CRC-64-AVRO hex is already in the little-endian byte order the
        # single-object header needs (Avro's own test vector for "null" agrees).
        return bytes.fromhex(fingerprint(self.canonical, "CRC-64-AVRO"))

    @property
    def json(self) -> str:
        """The full schema, logical types and docs included (what a registry stores)."""
        return json.dumps(self.standalone)


def _schema_files(schema_dir: Traversable) -> list[Traversable]:
    """`<namespace>/<Name>.avsc` files; `history/` is for the compatibility test."""
    folders = [f for f in schema_dir.iterdir() if f.is_dir() and f.name != "history"]
    return [
        file
        for folder in sorted(folders, key=lambda f: f.name)
        for file in sorted(folder.iterdir(), key=lambda f: f.name)
        if file.name.endswith(".avsc")
    ]


def _load_named(schema_dir: Traversable) -> dict[str, dict[str, Any]]:
    raw: dict[str, dict[str, Any]] = {}
    for path in _schema_files(schema_dir):
        doc = json.loads(path.read_text(encoding="utf-8"))
        raw[f"{doc['namespace']}.{doc['name']}"] = doc
    return raw


def _inline(node: Any, raw: dict[str, dict[str, Any]], seen: set[str]) -> Any:
    """Replace references to other files' named types by their definition, once each."""
    if isinstance(node, str):
        if node in raw and node not in seen:
            seen.add(node)
            return _inline(raw[node], raw, seen)
        return node
    if isinstance(node, list):
        return [_inline(n, raw, seen) for n in node]
    if isinstance(node, dict):
        if node.get("type") in ("record", "enum", "fixed") and "name" in node:
            seen.add(f"{node.get('namespace', NAMESPACE)}.{node['name']}")
        return {
            k: (
                _inline(v, raw, seen)
                if k in ("type", "fields", "items", "values")
                else v
            )
            for k, v in node.items()
        }
    return node


class SchemaCatalog:
    """Every schema in `schemas/`, parsed once, addressable by name and fingerprint."""

    def __init__(self, schema_dir: Traversable = SCHEMA_DIR) -> None:
        raw = _load_named(schema_dir)
        self._schemas: dict[str, AvroSchema] = {}
        for name, doc in raw.items():
            standalone = _inline(doc, raw, set())
            parsed = parse_schema(standalone)
            self._schemas[name] = AvroSchema(
                name, parsed, standalone, to_parsing_canonical_form(parsed)
            )
        self._by_fingerprint = {s.fingerprint: s for s in self._schemas.values()}

    def get(self, name: str) -> AvroSchema:
        full = name if "." in name else f"{NAMESPACE}.{name}"
        return self._schemas[full]

    def by_fingerprint(self, fp: bytes) -> AvroSchema | None:
        return self._by_fingerprint.get(fp)

    def names(self) -> list[str]:
        return sorted(self._schemas)


def _schema_name(parsed: Any) -> str:
    return str(parsed.get("name", "?")) if isinstance(parsed, dict) else str(parsed)


@dataclass
class Codec:
    """Encodes records of one schema and decodes either wire format into it.

    Args:
        schema: the reader/writer schema of this codec.
        catalog: resolves single-object fingerprints to writer schemas.
        registry: optional Confluent Schema Registry adapter; when set, `encode`
            writes the Confluent framing with the id it registered.
    """

    schema: AvroSchema
    catalog: SchemaCatalog
    registry: SchemaRegistryAdapter | None = None
    _writer_cache: dict[int, Any] = field(default_factory=dict)
    _fast: Writer | None = field(default=None, init=False)
    _header: bytes = field(default=b"", init=False)
    _own_single_object: bytes = field(default=b"", init=False)

    def __post_init__(self) -> None:
        self._own_single_object = SINGLE_OBJECT_MAGIC + self.schema.fingerprint
        if self.schema.name in FAST_WRITERS:
            try:
                self._fast = compile_writer(self.schema.parsed)
            except Unsupported as exc:  # the schema grew past it: fastavro alone
                log.warning("%s: encoded by fastavro only (%s)", self.schema.name, exc)

    def _framing(self) -> bytes:
        """The wire header; the registry's id for a schema never changes once given."""
        if not self._header:
            if self.registry is not None:
                schema_id = self.registry.schema_id(self.schema)
                self._header = CONFLUENT_MAGIC + struct.pack(">I", schema_id)
            else:
                self._header = SINGLE_OBJECT_MAGIC + self.schema.fingerprint
        return self._header

    def encode(self, record: Mapping[str, Any]) -> bytes:
        header = self._header or self._framing()
        if self._fast is not None:
            parts = [header]
            try:
                self._fast(parts.append, record)
                return b"".join(parts)
            except Exception:  # noqa: S110 - Slow, or any doubt: fastavro decides
                pass
        buf = BytesIO()
        buf.write(header)
        try:
            fastavro.schemaless_writer(
                buf, self.schema.parsed, record, strict_allow_default=True
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise EncodeError(f"{self.schema.name}: {exc}") from exc
        return buf.getvalue()

    def decode(self, data: bytes | None) -> dict[str, Any]:
        if not data:
            raise DecodeError("empty message")
        if data.startswith(self._own_single_object):  # the usual case: one compare
            writer, offset = self.schema.parsed, 10
        else:
            writer = self._writer_schema(data)
            offset = 10 if data[:2] == SINGLE_OBJECT_MAGIC else 5
        # Written with our own schema (the usual case): no resolution to do, and
        # fastavro's resolving reader costs about twice the plain one.
        reader = None if writer is self.schema.parsed else self.schema.parsed
        try:
            return fastavro.schemaless_reader(  # type: ignore[return-value]
                BytesIO(data[offset:]), writer, reader
            )
        except SchemaResolutionError as exc:
            raise DecodeError(
                f"writer schema {_schema_name(writer)} cannot be read as "
                f"{self.schema.name}"
            ) from exc
        except Exception as exc:  # fastavro raises many types on corrupt bodies
            raise DecodeError(
                f"undecodable {self.schema.name} body: "
                f"{type(exc).__name__}: {str(exc)[:200]}"
            ) from exc

    def _writer_schema(self, data: bytes) -> Any:
        if data[:2] == SINGLE_OBJECT_MAGIC and len(data) >= 10:
            found = self.catalog.by_fingerprint(data[2:10])
            if found is None:
                raise DecodeError(f"unknown schema fingerprint {data[2:10].hex()}")
            return found.parsed
        if data[:1] == CONFLUENT_MAGIC and len(data) >= 5:
            if self.registry is None:
                raise DecodeError(
                    "Confluent-framed message but SCHEMA_REGISTRY_URL unset"
                )
            schema_id = struct.unpack(">I", data[1:5])[0]
            if schema_id not in self._writer_cache:
                try:
                    self._writer_cache[schema_id] = self.registry.writer_schema(
                        schema_id
                    )
                except RegistryUnavailable:
                    raise  # the message may be fine: the batch is redone later
                except Exception as exc:  # unknown id: the message is unreadable
                    raise DecodeError(
                        f"schema id {schema_id} unavailable from the registry: "
                        f"{type(exc).__name__}: {str(exc)[:150]}"
                    ) from exc
            return self._writer_cache[schema_id]
        raise DecodeError(f"unknown wire format (first bytes {data[:2].hex()})")


class SchemaRegistryAdapter:
    """Confluent Schema Registry access through confluent-kafka's client."""

    def __init__(self, conf: str | dict[str, Any]) -> None:
        """`conf`: the registry URL, or a whole client config (auth, CA file)."""
        from confluent_kafka.schema_registry import SchemaRegistryClient

        self._client = SchemaRegistryClient(
            {"url": conf} if isinstance(conf, str) else dict(conf)
        )
        self._ids: dict[str, int] = {}

    def schema_id(self, schema: AvroSchema) -> int:
        if schema.name not in self._ids:
            from confluent_kafka.schema_registry import Schema

            subject = f"{schema.name}-value"
            registered = _registry_call(
                f"register {subject}",
                lambda: self._client.register_schema(
                    subject, Schema(schema.json, "AVRO")
                ),
            )
            self._ids[schema.name] = int(registered)
        return self._ids[schema.name]

    def writer_schema(self, schema_id: int) -> Any:
        found = _registry_call(
            f"schema id {schema_id}", lambda: self._client.get_schema(schema_id)
        )
        if found.schema_str is None:  # typed optional; a registered schema has text
            raise ValueError(f"schema id {schema_id} has no schema text")
        return parse_schema(json.loads(found.schema_str))


class Serde:
    """Codecs for every schema, sharing one catalog and optional registry."""

    def __init__(
        self,
        schema_registry: str | dict[str, Any] | None = None,
        schema_dir: Traversable = SCHEMA_DIR,
    ) -> None:
        """`schema_registry`: a URL or a registry client config; None = no registry
        (single-object encoding)."""
        self.catalog = SchemaCatalog(schema_dir)
        self.registry = (
            SchemaRegistryAdapter(schema_registry) if schema_registry else None
        )
        self._codecs: dict[str, Codec] = {}

    @classmethod
    def for_kafka(cls, settings: KafkaSettings) -> Serde:
        """The pipeline's codecs, with the registry (and its auth) the settings name."""
        return cls(config.schema_registry(settings))

    def codec(self, schema_name: str) -> Codec:
        if schema_name not in self._codecs:
            self._codecs[schema_name] = Codec(
                self.catalog.get(schema_name), self.catalog, self.registry
            )
        return self._codecs[schema_name]

    def encode(self, schema_name: str, record: Mapping[str, Any]) -> bytes:
        return self.codec(schema_name).encode(record)

    def decode(self, schema_name: str, data: bytes | None) -> dict[str, Any]:
        return self.codec(schema_name).decode(data)
