"""Where each partition ends now (learnt from Fetch), and reading a topic up to there.

One assign-only consumer answers both questions for every reader of the pipeline
(snapshots, time windows, dead letters, lag). Ends come from Fetch responses, never
from ListOffsets: the embedded Tansu broker answers ListOffsets(latest) with the last
batch's base offset + 1, while its Fetch high watermark is right; on Apache Kafka
both agree. Nothing is ever written: no sentinel, no commit, no group join, so a
read leaves every topic's record count and the broker's group list as they were.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Literal

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaError,
    Message,
    TopicPartition,
)

from connectors.kafka import config as kafka_config
from ground.settings import KafkaSettings

Key = tuple[str, int]  # (topic, partition)
Ends = dict[Key, int]  # the offset after the last record, per partition
Isolation = Literal["read_committed", "read_uncommitted"]


class MissingTopic(LookupError):
    """A topic asked for does not exist (read-only callers report it, never create)."""


def key_of(msg: Message) -> Key:
    """(topic, partition) of a consumed record or EOF event (always set there)."""
    topic, partition = msg.topic(), msg.partition()
    assert topic is not None and partition is not None
    return topic, partition


def _is_eof(msg: Message) -> bool:
    err = msg.error()
    return err is not None and err.code() == KafkaError._PARTITION_EOF


class TopicReader:
    """An assign()-only consumer: partition ends from Fetch, reads bounded by them.

    `group_id` is only a label librdkafka requires: the reader never joins the group
    and never commits, so the broker keeps no trace of it. A caller that must commit
    (a replay) passes its group and commits through `consumer` itself.
    """

    def __init__(self, consumer: Consumer, stall_timeout: float = 60.0) -> None:
        self.consumer = consumer
        self.stall_timeout = stall_timeout

    @classmethod
    def open(
        cls,
        settings: KafkaSettings,
        group_id: str | None = None,
        isolation: Isolation = "read_committed",
        stall_timeout: float = 60.0,
        **overrides: Any,
    ) -> TopicReader:
        """A reader built from settings; the default label lies outside the group
        prefix, so even a broker that listed it would not show it under `lag`."""
        conf = kafka_config.librdkafka(
            settings,
            **{
                "group.id": group_id
                or f"{settings.group_prefix}-reader-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                # Uncommitted transactional records count for lag (Kafka's log end).
                "isolation.level": isolation,
                "fetch.wait.max.ms": 50,
            }
            | overrides,
        )
        return cls(Consumer(conf), stall_timeout)

    def close(self) -> None:
        self.consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- metadata --------------------------------------------------------------------
    def topics(self, timeout: float = 10.0) -> dict[str, list[int]]:
        """Every topic the brokers know, with its partitions."""
        meta = self.consumer.list_topics(timeout=timeout).topics
        return {
            name: sorted(t.partitions) for name, t in meta.items() if t.error is None
        }

    def partitions(self, topic: str, timeout: float = 10.0) -> list[int]:
        """The topic's partitions, asked without creating the topic.

        Raises:
            MissingTopic: the topic does not exist.
        """
        meta = self.consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise MissingTopic(
                f"topic {topic} does not exist (`engage-sync topics` creates the "
                "pipeline's topics; reading commands create none)"
            )
        return sorted(meta.partitions)

    # -- ends ------------------------------------------------------------------------
    def ends(self, topics: Iterable[str]) -> Ends:
        """Where every partition of `topics` ends now, from Fetch responses.

        Each partition is fetched at the end ListOffsets names; Apache Kafka answers
        that fetch with end-of-partition at the true end. Where ListOffsets is too
        small (Tansu), the fetch returns records instead, and its high watermark (the
        cached watermark librdkafka took from that response) is the end. An empty
        partition ends at 0 at once.

        Raises:
            MissingTopic: one of the topics does not exist.
            TimeoutError: a partition answered no fetch within `stall_timeout`.
        """
        keys = [(t, p) for t in dict.fromkeys(topics) for p in self.partitions(t)]
        ends: Ends = {}
        self.consumer.assign([TopicPartition(t, p, OFFSET_END) for t, p in keys])
        waiting = set(keys)
        deadline = time.monotonic() + self.stall_timeout
        try:
            while waiting:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no fetch answered for {sorted(waiting)}")
                for msg in self.consumer.consume(500, 0.1):
                    key = key_of(msg)
                    if key not in waiting:
                        continue
                    if _is_eof(msg):
                        ends[key] = msg.offset() or 0
                    elif msg.error() is None:
                        high = self.consumer.get_watermark_offsets(
                            TopicPartition(*key), cached=True
                        )[1]
                        ends[key] = max(high, (msg.offset() or 0) + 1)
                    else:
                        continue
                    waiting.discard(key)
        finally:
            self.consumer.unassign()
        return ends

    # -- reads -----------------------------------------------------------------------
    def batches(
        self,
        ends: Ends,
        start: dict[Key, int] | None = None,
        stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[list[Message]]:
        """Every record from `start` (default: the beginning) up to `ends`, in batches.

        Records appended after `ends` was taken are left out, so nothing is waited
        for. A partition is finished at its end offset, at end-of-partition (its tail
        was compacted away or is an open transaction) or when a record past the end
        shows up; it then leaves the assignment while the others go on.

        Raises:
            TimeoutError: nothing arrived for `stall_timeout` seconds before every end.
        """
        start = start or {}
        todo = {
            key: end for key, end in ends.items() if end > max(start.get(key, 0), 0)
        }
        if not todo:
            return
        # Incremental (un)assign: finished partitions leave while the others go on.
        self.consumer.incremental_assign(
            [TopicPartition(t, p, start.get((t, p), OFFSET_BEGINNING)) for t, p in todo]
        )
        progress = time.monotonic()
        try:
            while todo and not stop():
                if time.monotonic() - progress > self.stall_timeout:
                    raise TimeoutError(f"partitions {sorted(todo)} stalled")
                batch, finished = [], []
                for msg in self.consumer.consume(1000, 0.2):
                    progress = time.monotonic()
                    key = key_of(msg)
                    end = todo.get(key)
                    if end is None:
                        continue
                    if _is_eof(msg):
                        finished.append(key)
                        continue
                    offset = msg.offset() or 0
                    if msg.error() is not None:
                        continue
                    if offset < end:
                        batch.append(msg)
                    if offset >= end - 1:
                        finished.append(key)
                done = {key for key in finished if key in todo}
                if done:
                    self.consumer.incremental_unassign(
                        [TopicPartition(t, p) for t, p in done]
                    )
                    for key in done:
                        del todo[key]
                if batch:
                    yield batch
        finally:
            self.consumer.unassign()

    def read_to(
        self, ends: Ends, start: dict[Key, int] | None = None
    ) -> Iterator[Message]:
        """The records of `batches`, one by one."""
        for batch in self.batches(ends, start):
            yield from batch

    def read_to_end(self, topic: str) -> Iterator[Message]:
        """Every record of `topic` as it is now: `read_to(ends([topic]))`."""
        return self.read_to(self.ends([topic]))

    def first_at(self, starts: dict[Key, int]) -> dict[Key, Message | None]:
        """The first record at or after each start offset, None where that is the end.

        Partitions that answered no fetch within `stall_timeout` are left out.
        """
        found: dict[Key, Message | None] = {}
        if not starts:
            return found
        self.consumer.assign([TopicPartition(t, p, o) for (t, p), o in starts.items()])
        waiting = set(starts)
        deadline = time.monotonic() + self.stall_timeout
        try:
            while waiting and time.monotonic() < deadline:
                for msg in self.consumer.consume(500, 0.1):
                    key = key_of(msg)
                    if key not in waiting:
                        continue
                    if _is_eof(msg):
                        found[key] = None
                    elif msg.error() is None:
                        found[key] = msg
                    else:
                        continue
                    waiting.discard(key)
        finally:
            self.consumer.unassign()
        return found

    def follow(
        self,
        topics: Iterable[str],
        stop: Callable[[], bool],
        start: dict[Key, int] | None = None,
    ) -> Iterator[Message]:
        """All of `topics` from `start` (default: the beginning), then new records
        as they come, until stop()."""
        start = start or {}
        keys = [(t, p) for t in topics for p in self.partitions(t)]
        self.consumer.assign(
            [TopicPartition(t, p, start.get((t, p), OFFSET_BEGINNING)) for t, p in keys]
        )
        try:
            while not stop():
                for msg in self.consumer.consume(100, 0.5):
                    if msg.error() is None:
                        yield msg
        finally:
            self.consumer.unassign()
