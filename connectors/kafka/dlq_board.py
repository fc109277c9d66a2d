"""Every dead letter with its resubmission, and resubmits that never send one twice.

Shared by `engage-sync dlq` and the console's Sync health page, so both show the
same state and refuse the same second resubmit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import ConsumerGroupTopicPartitions

from connectors.kafka import clients
from connectors.kafka.dlq_reader import (
    DeadLetter,
    Resubmission,
    locator,
    read_dead_letters,
    resubmit,
)
from connectors.kafka.ends import TopicReader
from connectors.kafka.resubmissions import Key, Resubmitted, read_all, settle, write
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings

# Which of our groups consumes a source topic (its commits settle outcomes).
WRITER_ROLE, WORKER_ROLE = "writer", "worker"


@dataclass
class Board:
    """The dead-letter topic as it is now, each letter with its resubmission."""

    dlq_topic: str
    letters: list[DeadLetter]
    records: dict[str, Resubmitted]

    def record_of(self, dl: DeadLetter) -> Resubmitted | None:
        return self.records.get(locator(self.dlq_topic, dl))


@dataclass
class Guarded:
    """A resubmit's report, and the letters refused as already resubmitted."""

    report: Resubmission = field(default_factory=Resubmission)
    refused: list[tuple[DeadLetter, Resubmitted]] = field(default_factory=list)


def committed_offsets(
    settings: KafkaSettings, topics: Topics, timeout: float = 10.0
) -> dict[Key, int]:
    """Per source partition, the committed offset of the group that consumes it."""
    admin = clients.admin(settings)
    groups = {role: settings.group(role) for role in (WRITER_ROLE, WORKER_ROLE)}
    asked = {
        role: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(gid)], request_timeout=timeout
        )[gid]
        for role, gid in groups.items()
    }
    out: dict[Key, int] = {}
    for role, future in asked.items():
        try:
            result = future.result()
        except Exception:  # a group that never ran has committed nothing
            continue
        for tp in result.topic_partitions or []:
            writes = tp.topic == topics.commands.name
            if tp.error is None and tp.offset >= 0 and writes == (role == WRITER_ROLE):
                out[(tp.topic, tp.partition)] = tp.offset
    return out


def load(settings: KafkaSettings, reader: TopicReader) -> Board:
    """Read the letters and their resubmissions; outcomes now known are recorded.

    Raises:
        MissingTopic: the dead-letter topic does not exist (a LookupError).
        TimeoutError: a partition stalled before its end.
    """
    topics = Topics(settings)
    records = read_all(reader, topics.resubmissions.name)
    pending = any(r.outcome == "pending" for r in records.values())
    # Commits first, letters second: see `settle`.
    committed = committed_offsets(settings, topics) if pending else {}
    letters = list(read_dead_letters(reader, topics.dlq.name))
    settled = settle(records, letters, topics.dlq.name, committed)
    if settled:
        # The outcome is durable once seen, so a later read needs no group offsets.
        write(settings, topics.resubmissions.name, settled)
        records.update({r.letter: r for r in settled})
    return Board(topics.dlq.name, letters, records)


def resubmit_guarded(
    settings: KafkaSettings,
    board: Board,
    chosen: Iterable[DeadLetter],
    by: str,
    force: bool = False,
    dry_run: bool = False,
) -> Guarded:
    """Resubmit the letters never resubmitted before, and record who and when.

    A letter is sent back once: written, it needs nothing more; failed again, its
    new dead letter is the one to resubmit. `force` sends them anyway (the
    Salesforce writes are keyed, so a resend writes nothing twice).

    Raises:
        clients.DeliveryFailed: Kafka did not acknowledge a record.
    """
    out = Guarded()
    fresh = []
    for dl in chosen:
        rec = board.record_of(dl)
        if rec is not None and not force:
            out.refused.append((dl, rec))
        else:
            fresh.append(dl)
    out.report = resubmit(settings, board.dlq_topic, fresh, dry_run=dry_run)
    if dry_run:
        return out
    now = int(time.time() * 1000)
    sent = [*out.report.sent, *((dl, first) for dl, first in out.report.twins)]
    records = []
    for dl, origin in sent:
        landed = out.report.landed.get(origin)
        if landed is None:
            continue  # its source topic is gone: nothing was sent for it
        rec = Resubmitted(
            locator(board.dlq_topic, dl), by, now, dl.source_topic, *landed
        )
        records.append(rec)
    spec = Topics(settings).resubmissions
    clients.ensure_topics(settings, [spec])  # deployments older than the record
    write(settings, spec.name, records)
    board.records.update({r.letter: r for r in records})
    return out
