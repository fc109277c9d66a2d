"""Finds and reads the records of a topic whose timestamps fall in a time window."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    Message,
    TopicPartition,
)

from connectors.kafka import clients
from connectors.kafka.snapshot import is_sentinel
from engage_sync.settings import KafkaSettings

# Why every lookup is a scan, never a seek by time:
# - producer-set (CreateTime) timestamps need not grow with offsets, so even a right
#   `offsets_for_times` answer (first offset with a timestamp >= T) is only a lower
#   bound for the start and says nothing about where the window ends;
# - the embedded broker answers 0 to every time lookup and a too-small ListOffsets
#   end, so the end of a partition is only known from a fetch (`_PARTITION_EOF`).
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


def window_consumer(settings: KafkaSettings, group_id: str) -> Consumer:
    """An assign()-only consumer that reports each partition's end as it fetches it."""
    return clients.consumer(
        settings,
        group_id,
        **{"enable.partition.eof": True, "fetch.wait.max.ms": 100},
    )


def where(msg: Message) -> tuple[str, int, int]:
    """Topic, partition and offset of a consumed record or EOF event (always set)."""
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    assert topic is not None and partition is not None and offset is not None
    return topic, partition, offset


def _timestamp(msg: Message) -> int | None:
    kind, value = msg.timestamp()
    return None if kind == TIMESTAMP_NOT_AVAILABLE or value < 0 else int(value)


def _is_eof(msg: Message) -> bool:
    err = msg.error()
    return err is not None and err.code() == KafkaError._PARTITION_EOF


def _in_window(msg: Message, window: TimeWindow) -> bool:
    stamp = _timestamp(msg)
    return stamp is not None and window.contains(stamp) and not is_sentinel(msg.key())


def partitions_of(consumer: Consumer, topic: str) -> list[int]:
    """The topic's partitions.

    Raises:
        LookupError: the topic does not exist.
    """
    meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if meta is None or meta.error is not None or not meta.partitions:
        raise LookupError(f"topic {topic} does not exist")
    return sorted(meta.partitions)


def scan(
    consumer: Consumer,
    topic: str,
    window: TimeWindow,
    timeout: float = 600.0,
) -> WindowPlan:
    """Read every partition from its low watermark to its end; count the window.

    Nothing is committed: the consumer is only assigned.

    Raises:
        LookupError: the topic does not exist.
        TimeoutError: a partition did not reach its end within `timeout` seconds.
    """
    parts = partitions_of(consumer, topic)
    plan = WindowPlan(topic, window, {p: PartitionSpan(p) for p in parts})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    waiting = set(parts)
    deadline = time.monotonic() + timeout
    try:
        while waiting:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: partitions {sorted(waiting)} never ended")
            for msg in consumer.consume(1000, 0.5):
                _, partition, offset = where(msg)
                span = plan.spans[partition]
                if _is_eof(msg):
                    span.end = max(span.end, offset)
                    waiting.discard(partition)
                elif msg.error() is None and _in_window(msg, window):
                    span.count += 1
                    span.first = offset if span.first is None else span.first
                    span.last = offset
    finally:
        consumer.unassign()
    return plan


def read(
    consumer: Consumer,
    plan: WindowPlan,
    batch_size: int,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[list[Message]]:
    """Batches of the plan's records, each partition from its first to last offset.

    Reads only the offset span the scan found, so records appended since are left
    out and a partition is finished as soon as its last window record was read.
    The caller commits (or not) between batches; stopping ends after a batch.
    """
    last = {
        p: s.last
        for p, s in plan.spans.items()
        if s.count and s.first is not None and s.last is not None
    }
    # Incremental (un)assign: finished partitions leave while the others go on.
    consumer.incremental_assign(
        [TopicPartition(plan.topic, p, plan.spans[p].first or 0) for p in last]
    )
    try:
        while last and not stop():
            batch: list[Message] = []
            finished: set[int] = set()
            for msg in consumer.consume(batch_size, 0.5):
                _, partition, offset = where(msg)
                end = last.get(partition)
                if end is None:
                    continue
                if _is_eof(msg):
                    finished.add(partition)  # records gone (retention)
                    continue
                if msg.error() is not None or offset > end:
                    continue
                if _in_window(msg, plan.window):
                    batch.append(msg)
                if offset >= end:
                    finished.add(partition)
            if batch:
                yield batch
            if finished:
                consumer.incremental_unassign(
                    [TopicPartition(plan.topic, p) for p in finished]
                )
                for p in finished:
                    del last[p]
    finally:
        consumer.unassign()
