"""Consumer-group lag per partition, in messages and seconds, from fetched offsets."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
)

from connectors.kafka import clients
from connectors.kafka.ends import TopicReader
from ground.settings import KafkaSettings

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
    # The member the partition is assigned to (kafka-consumer-groups' columns).
    consumer_id: str | None = None
    host: str | None = None
    client_id: str | None = None


@dataclass(frozen=True)
class Member:
    """One member of a group, as DescribeGroups names it."""

    consumer_id: str
    host: str
    client_id: str
    partitions: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class GroupLag:
    """A consumer group: its state, member count (None if unknown), its members as
    the broker describes them and its partitions."""

    group: str
    state: str
    members: int | None
    partitions: list[PartitionLag] = field(default_factory=list)
    consumers: list[Member] = field(default_factory=list)

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
    kafka_settings: KafkaSettings,
    group: str | None = None,
    timeout: float = 10.0,
    reader: TopicReader | None = None,
) -> list[GroupLag]:
    """Lag of every consumer group of the pipeline (or of `group` only).

    End offsets come from Fetch responses (`TopicReader.ends`), not ListOffsets: the
    embedded broker answers ListOffsets with the last batch's base offset + 1, which
    hides the lag of a multi-record batch; on Apache Kafka both agree. The reader
    (never committing, never joining) then fetches each partition at the group's
    committed offset; the message found there is the oldest unconsumed one and gives
    the lag in seconds. Without `reader`, one is opened for this call.

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
    consumers = {gid: _members(d) for gid, d in described.items()}
    own = reader or TopicReader.open(
        kafka_settings, isolation="read_uncommitted", stall_timeout=timeout
    )
    try:
        return _measure(own, ids, described, members, consumers, committed, topics)
    finally:
        if reader is None:
            own.close()


def _members(described: Any) -> list[Member]:
    return [
        Member(
            m.member_id,
            m.host,
            m.client_id,
            sorted(
                (tp.topic, tp.partition)
                for tp in (m.assignment.topic_partitions if m.assignment else [])
            ),
        )
        for m in described.members
    ]


def _committed(result: ConsumerGroupTopicPartitions) -> dict[Key, int]:
    return {
        (tp.topic, tp.partition): tp.offset
        for tp in result.topic_partitions or []
        if tp.error is None and tp.offset >= 0
    }


def _measure(
    reader: TopicReader,
    ids: list[str],
    described: dict[str, Any],
    members: dict[str, int | None],
    consumers: dict[str, list[Member]],
    committed: dict[str, dict[Key, int]],
    topics: dict[str, set[str]],
) -> list[GroupLag]:
    existing = reader.topics()
    parts = {t: existing[t] for t in set().union(*topics.values()) if t in existing}
    ends = reader.ends(parts)
    starts: dict[Key, set[int]] = defaultdict(set)
    for gid in ids:
        for topic in topics[gid]:
            for p in parts.get(topic, []):
                starts[(topic, p)].add(committed[gid].get((topic, p), OFFSET_BEGINNING))
    first = _first(reader, starts)
    now = time.time()
    out = []
    for gid in ids:
        owner = {tp: m for m in consumers[gid] for tp in m.partitions}
        rows = []
        for topic in sorted(topics[gid]):
            for p in parts.get(topic, []):
                done = committed[gid].get((topic, p))
                start = OFFSET_BEGINNING if done is None else done
                fetched = (topic, p, start) in first
                row = _row(
                    topic,
                    p,
                    done,
                    ends.get((topic, p)) if fetched else None,
                    first.get((topic, p, start)),
                    now,
                )
                m = owner.get((topic, p))
                if m is not None:
                    row = replace(
                        row,
                        consumer_id=m.consumer_id,
                        host=m.host,
                        client_id=m.client_id,
                    )
                rows.append(row)
        state = _STATE_NAMES.get(described[gid].state, described[gid].state.name)
        out.append(GroupLag(gid, state, members.get(gid), rows, consumers[gid]))
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


def _first(reader: TopicReader, starts: dict[Key, set[int]]) -> dict[Start, First]:
    """Per (topic, partition, start) that answered: the (offset, timestamp) of the
    first message at or after the start, or None if the start was the end. One
    round of fetches per distinct start of a partition."""
    first: dict[Start, First] = {}
    todo = {key: sorted(offsets) for key, offsets in starts.items()}
    while todo:
        wave = {key: offsets.pop(0) for key, offsets in todo.items()}
        todo = {key: offsets for key, offsets in todo.items() if offsets}
        found = reader.first_at(wave)
        for key, msg in found.items():
            if msg is None:
                first[(*key, wave[key])] = None
            else:
                kind, ts = msg.timestamp()
                first[(*key, wave[key])] = (msg.offset() or 0, ts if kind else None)
        if len(found) < len(wave):
            log.warning("lag fetch: no answer from %s", sorted(set(wave) - set(found)))
    return first
