"""Consumer-group lag per partition, in messages and seconds, from fetched offsets."""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    KafkaError,
    TopicPartition,
)
from confluent_kafka import Consumer as _Consumer

from connectors.kafka import clients
from connectors.kafka import config as kafka_config
from engage_sync.settings import KafkaSettings

log = logging.getLogger(__name__)

Key = tuple[str, int]
Start = tuple[str, int, int]
First = tuple[int, int | None] | None


@dataclass(frozen=True)
class PartitionLag:
    """One partition of one group.

    `committed` is None where the group never committed: its consumers start at the
    earliest offset, so the lag counts from the start of the log. `end`, `lag` and
    `lag_seconds` are None when the partition did not answer the fetch in time.
    """

    topic: str
    partition: int
    committed: int | None
    end: int | None
    lag: int | None
    lag_seconds: float | None


@dataclass(frozen=True)
class GroupLag:
    """A consumer group: its state, member count (None if unknown) and partitions."""

    group: str
    state: str
    members: int | None
    partitions: list[PartitionLag] = field(default_factory=list)

    @property
    def total_lag(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)

    @property
    def max_lag_seconds(self) -> float:
        return max((p.lag_seconds or 0.0 for p in self.partitions), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {
            "total_lag": self.total_lag,
            "max_lag_seconds": self.max_lag_seconds,
        }


# Kafka's own names (kafka-consumer-groups), not librdkafka's enum names.
_STATE_NAMES = {
    ConsumerGroupState.UNKNOWN: "Unknown",
    ConsumerGroupState.PREPARING_REBALANCING: "PreparingRebalance",
    ConsumerGroupState.COMPLETING_REBALANCING: "CompletingRebalance",
    ConsumerGroupState.STABLE: "Stable",
    ConsumerGroupState.DEAD: "Dead",
    ConsumerGroupState.EMPTY: "Empty",
}


class UnknownGroupError(LookupError):
    """`--group` names no consumer group of this pipeline."""


def resolve_group(settings: KafkaSettings, group: str) -> str:
    """Full group id of `group`, given as a full id or as a role (`writer`)."""
    prefix = f"{settings.group_prefix}."
    return group if group.startswith(prefix) else settings.group(group)


def group_lag(
    kafka_settings: KafkaSettings, group: str | None = None, timeout: float = 10.0
) -> list[GroupLag]:
    """Lag of every consumer group of the pipeline (or of `group` only).

    End offsets come from Fetch responses, not ListOffsets: the embedded broker
    answers ListOffsets with the last batch's base offset + 1, which hides the lag of
    a multi-record batch. A throwaway consumer (never committing, outside the group
    prefix) fetches each partition at the group's committed offset; the message found
    there is the oldest unconsumed one and gives the lag in seconds.

    Raises:
        UnknownGroupError: `group` is not a consumer group of the pipeline.
        KafkaException: the brokers did not answer the admin requests.
    """
    admin = clients.admin(kafka_settings)
    prefix = f"{kafka_settings.group_prefix}."
    listed = {
        g.group_id: g
        for g in admin.list_consumer_groups(request_timeout=timeout).result().valid
        if g.group_id.startswith(prefix)
    }
    ids = sorted(listed)
    if group is not None:
        wanted = resolve_group(kafka_settings, group)
        if wanted not in listed:
            raise UnknownGroupError(
                f"no consumer group {wanted!r}; groups: {', '.join(ids) or 'none'}"
            )
        ids = [wanted]
    if not ids:
        return []
    described = {
        gid: future.result()
        for gid, future in admin.describe_consumer_groups(
            ids, request_timeout=timeout
        ).items()
    }
    # One group per request (the API's limit), all in flight at once.
    asked = {
        gid: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(gid)], request_timeout=timeout
        )[gid]
        for gid in ids
    }
    committed = {gid: _committed(future.result()) for gid, future in asked.items()}
    members: dict[str, int | None] = {
        # Tansu answers the KIP-848 describe (which librdkafka prefers) for a classic
        # group with a stub: type CONSUMER, no members. Its DescribeGroups answers do
        # not decode reliably either, so the count is unknown there unless the state
        # (Empty, Dead) says 0.
        gid: None
        if listed[gid].type == ConsumerGroupType.CLASSIC
        and d.type == ConsumerGroupType.CONSUMER
        and d.state not in (ConsumerGroupState.EMPTY, ConsumerGroupState.DEAD)
        else len(d.members)
        for gid, d in described.items()
    }
    topics = {
        gid: {t for t, _ in committed[gid]}
        | {
            tp.topic
            for m in described[gid].members
            for tp in (m.assignment.topic_partitions if m.assignment else [])
        }
        for gid in ids
    }
    return _measure(kafka_settings, ids, described, members, committed, topics, timeout)


def _committed(result: ConsumerGroupTopicPartitions) -> dict[Key, int]:
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in result.topic_partitions or []
        if tp.error is None and tp.offset >= 0
    }


def _measure(
    settings: KafkaSettings,
    ids: list[str],
    described: dict[str, Any],
    members: dict[str, int | None],
    committed: dict[str, dict[Key, int]],
    topics: dict[str, set[str]],
    timeout: float,
) -> list[GroupLag]:
    probe = _probe_consumer(settings)
    try:
        parts = _partitions(probe, set().union(*topics.values()), timeout)
        starts: dict[Key, set[int]] = defaultdict(set)
        for gid in ids:
            for topic in topics[gid]:
                for p in parts.get(topic, []):
                    starts[(topic, p)].add(
                        committed[gid].get((topic, p), OFFSET_BEGINNING)
                    )
        ends, first = _fetch(probe, starts, timeout)
    finally:
        probe.close()
    now = time.time()
    out = []
    for gid in ids:
        rows = []
        for topic in sorted(topics[gid]):
            for p in parts.get(topic, []):
                done = committed[gid].get((topic, p))
                start = OFFSET_BEGINNING if done is None else done
                fetched = (topic, p, start) in first
                rows.append(
                    _row(
                        topic,
                        p,
                        done,
                        ends.get((topic, p)) if fetched else None,
                        first.get((topic, p, start)),
                        now,
                    )
                )
        state = _STATE_NAMES.get(described[gid].state, described[gid].state.name)
        out.append(GroupLag(gid, state, members.get(gid), rows))
    return out


def _row(
    topic: str,
    partition: int,
    committed: int | None,
    end: int | None,
    first: First,
    now: float,
) -> PartitionLag:
    """`first`: (offset, timestamp ms) of the message fetched at the start, or None
    when the fetch found the end of the partition there."""
    if end is None:
        return PartitionLag(topic, partition, committed, None, None, None)
    if committed is not None:
        lag = max(0, end - committed)
    else:
        lag = end - first[0] if first is not None else 0
    seconds: float | None = 0.0
    if lag:
        ts = first[1] if first is not None else None
        seconds = max(0.0, now - ts / 1000) if ts is not None else None
    return PartitionLag(topic, partition, committed, end, lag, seconds)


def _probe_consumer(settings: KafkaSettings) -> _Consumer:
    return _Consumer(
        {
            **kafka_config.librdkafka(settings),
            # Outside `<prefix>.` so it is never listed; assign() only, never commits.
            "group.id": f"{settings.group_prefix}-lag-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            # A committed offset below the log start: the oldest message left.
            "auto.offset.reset": "earliest",
            # The log end offset counts uncommitted transactional records too.
            "isolation.level": "read_uncommitted",
            "fetch.wait.max.ms": 50,
            "max.partition.fetch.bytes": 65536,
            "queued.max.messages.kbytes": 1024,
        }
    )


def _partitions(
    consumer: _Consumer, topics: set[str], timeout: float
) -> dict[str, list[int]]:
    if not topics:
        return {}
    meta = consumer.list_topics(timeout=timeout).topics
    return {
        t: sorted(meta[t].partitions)
        for t in topics
        if t in meta and meta[t].error is None
    }


def _fetch(
    consumer: _Consumer, starts: dict[Key, set[int]], timeout: float
) -> tuple[dict[Key, int], dict[Start, First]]:
    """Fetch every partition at each of its start offsets; one round per start.

    Returns the high watermark of each partition (from the Fetch responses) and, per
    (topic, partition, start) that answered, the (offset, timestamp) of the first
    message at or after the start, or None if the start was the end.
    """
    ends: dict[Key, int] = {}
    first: dict[Start, First] = {}
    todo = {key: sorted(offsets) for key, offsets in starts.items()}
    deadline = time.monotonic() + timeout
    while todo and time.monotonic() < deadline:
        wave = {key: offsets.pop(0) for key, offsets in todo.items()}
        todo = {key: offsets for key, offsets in todo.items() if offsets}
        consumer.assign([TopicPartition(t, p, o) for (t, p), o in wave.items()])
        waiting = set(wave)
        while waiting and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.1):
                key = (msg.topic(), msg.partition())
                if key not in waiting:
                    continue
                err = msg.error()
                if err is None:
                    kind, ts = msg.timestamp()
                    offset = msg.offset() or 0  # always set on a message
                    first[(*key, wave[key])] = (offset, ts if kind else None)
                elif err.code() == KafkaError._PARTITION_EOF:
                    first[(*key, wave[key])] = None
                else:
                    log.warning("lag fetch %s[%d]: %s", *key, err)
                    continue
                waiting.discard(key)
        for t, p in set(wave) - waiting:
            high = consumer.get_watermark_offsets(TopicPartition(t, p), cached=True)[1]
            if high >= 0:
                ends[(t, p)] = max(high, ends.get((t, p), high))
        if waiting:
            log.warning(
                "lag fetch: no answer in %.0fs from %s", timeout, sorted(waiting)
            )
    consumer.unassign()
    return ends, first
