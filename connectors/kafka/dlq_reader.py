"""Dead letters read back: whole-topic reads, grouping, selection and resubmission."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from connectors.kafka import clients
from connectors.kafka import dlq_headers as names
from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings

RESUBMITTED_FROM = "engage.resubmitted-from"
PREVIEW_BYTES = 64


@dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic, with its error headers parsed."""

    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    reason: str
    error_class: str
    message: str

    @property
    def from_salesforce(self) -> bool:
        """Salesforce refused the write: its status code is the reason (upper-snake,
        as the writer files it), or it kept failing transiently until we gave up.
        Our own reasons (undecodable, invalid-event, policy-refused…) are kebab-case."""
        return self.reason.isupper() or self.reason == "retries-exhausted"


@dataclass
class Group:
    """Dead letters of one reason from one source topic (a Sync Health card)."""

    reason: str
    source_topic: str
    count: int = 0
    first_ms: int = 0
    last_ms: int = 0


@dataclass
class Resubmission:
    """What a resubmit sent, or would send on a dry run, and what it skipped."""

    sent: list[tuple[DeadLetter, str]] = field(default_factory=list)  # (letter, from)
    duplicates: int = 0  # same source topic, key and value as one already selected
    missing_topic: list[DeadLetter] = field(default_factory=list)
    # (a duplicate letter, the `from` of the letter sent in its stead)
    twins: list[tuple[DeadLetter, str]] = field(default_factory=list)
    # `from` -> (partition, offset) where the record landed in its source topic
    landed: dict[str, tuple[int, int]] = field(default_factory=dict)


def _header(headers: dict[str, bytes], name: str) -> str:
    return headers.get(name, b"").decode("utf-8", "replace")


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def from_message(msg: Message) -> DeadLetter:
    """A dead letter from a consumed record; headers it lacks become "" or None."""
    raw = msg.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    h = {k: v if isinstance(v, bytes) else (v or "").encode() for k, v in pairs}
    return DeadLetter(
        msg.partition() or 0,
        msg.offset() or 0,
        msg.timestamp()[1],
        msg.key(),
        msg.value(),
        source_topic=_header(h, names.TOPIC),
        source_partition=_int_or_none(_header(h, names.PARTITION)),
        source_offset=_int_or_none(_header(h, names.OFFSET)),
        # A letter without our reason header still groups, by its exception class.
        reason=_header(h, names.REASON)
        or _header(h, names.EXCEPTION_CLASS)
        or "unknown",
        error_class=_header(h, names.EXCEPTION_CLASS),
        message=_header(h, names.EXCEPTION_MESSAGE),
    )


def read_dead_letters(reader: TopicReader, topic: str) -> Iterator[DeadLetter]:
    """Every record of the dead-letter topic as it is now, oldest first per partition.

    Bounded by the ends the reader learns from Fetch (right on both brokers), so
    letters written meanwhile are left out; nothing is written or committed.

    Raises:
        MissingTopic: the topic does not exist (a LookupError).
        TimeoutError: a partition stalled before its end.
    """
    for msg in reader.read_to_end(topic):
        yield from_message(msg)


def summarize(letters: Iterable[DeadLetter]) -> list[Group]:
    """Counts and first/last seen per (reason, source topic), biggest first."""
    groups: dict[tuple[str, str], Group] = {}
    for dl in letters:
        g = groups.setdefault(
            (dl.reason, dl.source_topic),
            Group(dl.reason, dl.source_topic, 0, dl.timestamp_ms, dl.timestamp_ms),
        )
        g.count += 1
        g.first_ms = min(g.first_ms, dl.timestamp_ms)
        g.last_ms = max(g.last_ms, dl.timestamp_ms)
    return sorted(groups.values(), key=lambda g: (-g.count, g.reason, g.source_topic))


def parse_offsets(text: str) -> list[tuple[int, int]]:
    """`12,15,20-30` as inclusive ranges (kept as ranges: `0-9999999` is fine).

    Raises:
        ValueError: a part is not N or N-M with N <= M.
    """
    ranges = []
    for part in (p.strip() for p in text.split(",")):
        lo, sep, hi = part.partition("-")
        if not lo.strip().isdigit() or (sep and not hi.strip().isdigit()):
            raise ValueError(f"bad offset {part!r}: use N or N-M, comma separated")
        start, end = int(lo), int(hi) if sep else int(lo)
        if end < start:
            raise ValueError(f"bad offset range {part!r}: {start} > {end}")
        ranges.append((start, end))
    return ranges


def resolve_topic(topics: Topics, name: str) -> str:
    """A documented name (`salesforce.commands`) under this prefix, or `name` as is."""
    try:
        return topics.by_name(name).name
    except KeyError:
        return name


def select(
    letters: Iterable[DeadLetter],
    reason: str | None = None,
    topic: str | None = None,
    partition: int | None = None,
    offsets: list[tuple[int, int]] | None = None,
) -> Iterator[DeadLetter]:
    """The letters matching every given filter; offsets are SOURCE offsets."""
    for dl in letters:
        if reason is not None and dl.reason != reason:
            continue
        if topic is not None and dl.source_topic != topic:
            continue
        if partition is not None and dl.source_partition != partition:
            continue
        if offsets is not None and not (
            dl.source_offset is not None
            and any(lo <= dl.source_offset <= hi for lo, hi in offsets)
        ):
            continue
        yield dl


def preview(dl: DeadLetter, serde: Serde, topics: Topics) -> dict[str, Any]:
    """The value decoded with its source topic's schema, else its bytes described."""
    raw = dl.value or b""
    try:
        schema = topics.by_name(dl.source_topic).value_schema
    except KeyError:
        schema = None
    error = "no schema for this topic" if raw else "empty value"
    if schema is not None and raw:
        try:
            return {"schema": schema, "decoded": serde.decode(schema, raw)}
        except Exception as exc:  # any failure to decode is a preview, never a crash
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
    head = raw[:PREVIEW_BYTES]
    return {
        "bytes": len(raw),
        "hex": head.hex(),
        "text": head.decode("utf-8", "replace"),
        "not_decoded": error,
    }


def locator(dlq_topic: str, dl: DeadLetter) -> str:
    """The `engage.resubmitted-from` header value: `<dlq>/<partition>/<offset>`."""
    return f"{dlq_topic}/{dl.partition}/{dl.offset}"


def _identity(dl: DeadLetter) -> bytes:
    """Equal for the same record dead-lettered twice (same source topic, key, value)."""
    h = hashlib.sha256()
    for part in (dl.source_topic.encode(), dl.key or b"", dl.value or b""):
        h.update(b"%d:" % len(part) + part)
    return h.digest()


def _produce(
    producer: Producer,
    dl: DeadLetter,
    partitions: set[int],
    origin: str,
    on_delivery: Any,
) -> None:
    # The original partition keeps it behind the records of the same key; if that
    # partition is gone, the partitioner (-1) picks one by key.
    partition = dl.source_partition
    if partition is None or partition not in partitions:
        partition = -1
    while True:
        try:
            producer.produce(
                dl.source_topic,
                value=dl.value,
                key=dl.key,
                timestamp=max(dl.timestamp_ms, 0),
                headers=[(RESUBMITTED_FROM, origin.encode())],
                partition=partition,
                on_delivery=on_delivery,
            )
            break
        except BufferError:  # the local queue is full: let deliveries drain
            producer.poll(0.05)
    producer.poll(0)


def resubmit(
    settings: KafkaSettings,
    dlq_topic: str,
    letters: Iterable[DeadLetter],
    dry_run: bool = False,
) -> Resubmission:
    """Publish the letters' original key, value and timestamp to their source topic.

    Each goes to its original partition with the header `engage.resubmitted-from`.
    Letters with the same source topic, key and value as one already in this
    selection are sent once: they are one record dead-lettered twice (a redelivered
    batch, an earlier resubmit that failed again).

    Raises:
        clients.DeliveryFailed: Kafka did not acknowledge every record.
    """
    report, seen = Resubmission(), dict[bytes, str]()
    existing = {
        name: set(meta.partitions)
        for name, meta in clients.admin(settings).list_topics(timeout=10).topics.items()
        if meta.error is None
    }
    producer = None if dry_run else clients.producer(settings)
    failures: list[str] = []

    def delivered(origin: str) -> Any:
        # Per record: a delivery report carries no headers to tell them apart.
        def report_of(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                failures.append(f"{msg.topic()}: {err}")
                return
            report.landed[origin] = (msg.partition() or 0, msg.offset() or 0)

        return report_of

    for dl in letters:
        identity = _identity(dl)
        if identity in seen:
            report.duplicates += 1
            report.twins.append((dl, seen[identity]))
            continue
        origin = locator(dlq_topic, dl)
        seen[identity] = origin
        partitions = existing.get(dl.source_topic)
        if not partitions:
            report.missing_topic.append(dl)
            continue
        report.sent.append((dl, origin))
        if producer is not None:
            _produce(producer, dl, partitions, origin, delivered(origin))
    if producer is not None:
        remaining = producer.flush(60)
        if remaining or failures:
            raise clients.DeliveryFailed(
                f"{remaining} record(s) unacknowledged, errors: {failures[:3]}"
            )
    return report
