"""Finds and reads the records of a topic whose timestamps fall in a time window."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

from connectors.kafka.ends import TopicReader
from connectors.kafka.snapshot import is_sentinel

# Why every lookup is a scan, never a seek by time:
# - producer-set (CreateTime) timestamps need not grow with offsets, so even a right
#   `offsets_for_times` answer (first offset with a timestamp >= T) is only a lower
#   bound for the start and says nothing about where the window ends;
# - the embedded broker answers 0 to every time lookup and a too-small ListOffsets
#   end, so the end of a partition is only known from a fetch (`TopicReader.ends`).
# Scanning costs one read of each partition; that is what a replay costs anyway.


@dataclass(frozen=True)
class TimeWindow:
    """Record timestamps in [since_ms, until_ms); no `until_ms` = up to now."""

    since_ms: int
    until_ms: int | None = None

    def contains(self, timestamp_ms: int) -> bool:
        if timestamp_ms < self.since_ms:
            return False
        return self.until_ms is None or timestamp_ms < self.until_ms


@dataclass
class PartitionSpan:
    """Where one partition's window records are: count and first/last offsets."""

    partition: int
    count: int = 0
    first: int | None = None
    last: int | None = None
    end: int = 0  # the partition's end when the scan reached it (from a fetch)


@dataclass
class WindowPlan:
    """The window's records of one topic, found by a scan; what a replay will read."""

    topic: str
    window: TimeWindow
    spans: dict[int, PartitionSpan] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(s.count for s in self.spans.values())


def where(msg: Message) -> tuple[str, int, int]:
    """Topic, partition and offset of a consumed record or EOF event (always set)."""
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    assert topic is not None and partition is not None and offset is not None
    return topic, partition, offset


def _timestamp(msg: Message) -> int | None:
    kind, value = msg.timestamp()
    return None if kind == TIMESTAMP_NOT_AVAILABLE or value < 0 else int(value)


def _in_window(msg: Message, window: TimeWindow) -> bool:
    stamp = _timestamp(msg)
    return stamp is not None and window.contains(stamp) and not is_sentinel(msg.key())


def scan(reader: TopicReader, topic: str, window: TimeWindow) -> WindowPlan:
    """Read every partition from its low watermark to its end now; count the window.

    Nothing is committed or written: the reader is only assigned.

    Raises:
        MissingTopic: the topic does not exist (a LookupError).
        TimeoutError: a partition stalled before its end.
    """
    ends = reader.ends([topic])
    plan = WindowPlan(
        topic, window, {p: PartitionSpan(p, end=end) for (_, p), end in ends.items()}
    )
    for msg in reader.read_to(ends):
        _, partition, offset = where(msg)
        if _in_window(msg, window):
            span = plan.spans[partition]
            span.count += 1
            span.first = offset if span.first is None else span.first
            span.last = offset
    return plan


def read(
    reader: TopicReader,
    plan: WindowPlan,
    batch_size: int,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[list[Message]]:
    """Batches of at most `batch_size` of the plan's records, each partition from its
    first to its last window offset.

    Reads only the offset span the scan found, so records appended since are left
    out and a partition is finished as soon as its last window record was read.
    The caller commits (or not) between batches; stopping ends after a batch.
    """
    spans = [s for s in plan.spans.values() if s.count and s.first is not None]
    ends = {(plan.topic, s.partition): (s.last or 0) + 1 for s in spans}
    start = {(plan.topic, s.partition): s.first or 0 for s in spans}
    pending: list[Message] = []
    for batch in reader.batches(ends, start, stop):
        pending.extend(m for m in batch if _in_window(m, plan.window))
        while len(pending) >= batch_size:
            yield pending[:batch_size]
            pending = pending[batch_size:]
    if pending and not stop():
        yield pending
