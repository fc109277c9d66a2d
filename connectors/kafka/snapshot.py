"""A compacted topic's state as it is now, and following it live, through a reader.

Reads are bounded by the partition ends a `TopicReader` learns from Fetch, so
nothing is written to find them. Earlier versions appended tombstone "sentinels"
(keys starting `__sentinel__:`) to every partition and read until they came back;
those still sit on existing topics (compaction removes them in time), so every
reader here, and every consumer of these topics, skips them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from confluent_kafka import Message

from connectors.kafka.ends import Ends, TopicReader

SENTINEL_PREFIX = b"__sentinel__:"


def is_sentinel(key: bytes | None) -> bool:
    """A tombstone an earlier version appended to mark a read's end: not data."""
    return bool(key) and key.startswith(SENTINEL_PREFIX)  # type: ignore[union-attr]


def read_to_end(
    reader: TopicReader, topic: str, on_record: Callable[[Message], None]
) -> None:
    """Feed every record of `topic` up to its end now to `on_record`, then return.

    Raises:
        MissingTopic: the topic does not exist (it is never created here).
        TimeoutError: a partition stalled before its end.
    """
    for msg in reader.read_to_end(topic):
        if not is_sentinel(msg.key()):
            on_record(msg)


def latest_values(reader: TopicReader, topic: str) -> dict[bytes, bytes]:
    """The latest value per key (tombstones remove keys)."""
    latest: dict[bytes, bytes] = {}

    def keep(msg: Message) -> None:
        key, value = msg.key() or b"", msg.value()
        if value is None:
            latest.pop(key, None)
        else:
            latest[key] = value

    read_to_end(reader, topic, keep)
    return latest


def follow(
    reader: TopicReader,
    topic: str,
    stop: Callable[[], bool],
    start: Ends | None = None,
) -> Iterator[Message]:
    """All of `topic` from `start` (default: the beginning), then new records as
    they come, until stop().

    The reader is this follower's own (a consumer is used by one thread at a time).
    """
    for msg in reader.follow([topic], stop, start):
        if not is_sentinel(msg.key()):
            yield msg
