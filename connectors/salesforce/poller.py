"""Incremental poller: changed Leads, Contacts and Accounts to `salesforce.records`."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.kafka import clients
from connectors.kafka.serde import Serde
from connectors.kafka.settings_topic import SettingsFollower
from connectors.kafka.topics import Topics
from connectors.salesforce import soql
from connectors.salesforce.budget import Governor, Priority
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.cursor import Cursor, CursorStore
from connectors.salesforce.errors import RetriableError, ThrottledError
from connectors.salesforce.records import query_fields, to_record
from domain.crm_settings.describe_check import field_types
from domain.crm_settings.models import CrmSettings, ObjectName
from domain.rules.evaluate import predicate
from ground import metrics
from ground.settings import KafkaSettings

log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class PollResult:
    object: str
    published: int = 0
    already_seen: int = 0
    api_calls: int = 0


class RecordPublisher:
    """Sends shaped records keyed by Salesforce id; `flush` proves Kafka has them."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.topic = Topics(kafka).records.name
        self.serde = Serde.for_kafka(kafka)
        self.producer = clients.AckingProducer(kafka)

    def publish(self, record: dict[str, Any]) -> None:
        self.producer.produce(
            self.topic,
            self.serde.encode("SalesforceRecord", record),
            record["salesforce_id"].encode(),
        )

    def flush(self) -> None:
        self.producer.flush()


class Describes:
    """Field types per object, from describe, read once per process."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self._types: dict[str, dict[str, str]] = {}

    def types(self, obj: str) -> dict[str, str]:
        if obj not in self._types:
            self._types[obj] = field_types(self.client.describe(obj))
        return self._types[obj]


class IncrementalPoller:
    """Reads what changed since each object's cursor, in `(SystemModstamp, Id)` order.

    Every poll re-reads an overlap window before the cursor, because a Salesforce
    transaction can commit with a SystemModstamp slightly in the past; pairs
    `(Id, SystemModstamp)` already published in that window are dropped.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        client: SalesforceClient,
        cursors: CursorStore,
        overlap_seconds: float = 60.0,
    ) -> None:
        self.client, self.cursors = client, cursors
        self.publisher = RecordPublisher(kafka)
        self.describes = Describes(client)
        self.overlap_ms = int(overlap_seconds * 1000)
        # When a poll last read a row: a poll of a big burst runs long, but alive.
        self.last_progress = time.monotonic()

    def poll(self, obj: ObjectName, crm: CrmSettings) -> PollResult:
        result = PollResult(obj)
        cursor = self.cursors.get("incremental", obj)
        if cursor is None:
            # No cursor and no finished backfill: start from now (the guide's "Poll
            # Historical Data" is how existing records come over).
            self.cursors.save(Cursor(obj, "incremental", now_ms()))
            return result
        wanted = query_fields(obj, crm)
        types = self.describes.types(obj)
        in_scope = predicate(crm.objects[obj].rules, types)
        since = datetime.fromtimestamp((cursor.stamp_ms - self.overlap_ms) / 1000, UTC)
        query = soql.select(
            obj,
            wanted,
            where=f"SystemModstamp >= {soql.datetime_literal(since)}",
            order_by=["SystemModstamp", "Id"],
        )
        calls_before = self.client.calls
        stamp_ms, last_id = cursor.stamp_ms, cursor.last_id
        fresh: set[str] = set()
        for row in self.client.query_all(query, include_deleted=True):
            self.last_progress = time.monotonic()
            record = to_record(
                obj,
                row,
                wanted,
                in_scope,
                "incremental",
            )
            row_ms = int(record["system_modstamp"].timestamp() * 1000)
            pair = f"{record['salesforce_id']}@{row_ms}"
            if pair in cursor.seen or pair in fresh:
                result.already_seen += 1
                continue
            fresh.add(pair)
            self.publisher.publish(record)
            result.published += 1
            if row_ms >= stamp_ms:
                stamp_ms, last_id = row_ms, record["salesforce_id"]
        self.publisher.flush()
        horizon = stamp_ms - self.overlap_ms
        keep = frozenset(
            p for p in cursor.seen | fresh if int(p.rsplit("@", 1)[1]) >= horizon
        )
        self.cursors.save(cursor.advanced(stamp_ms, last_id, keep))
        result.api_calls = self.client.calls - calls_before
        return result


class PollerLoop:
    """Polls every synced object at its interval, following settings changes live."""

    def __init__(
        self,
        poller: IncrementalPoller,
        follower: SettingsFollower,
        governor: Governor | None = None,
    ) -> None:
        self.poller, self.follower, self.governor = poller, follower, governor
        self.stop_event = threading.Event()
        self.polls = 0
        self.skipped_for_budget = 0
        self.last_tick = time.monotonic()

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Alive while the loop turns or a poll reads rows (a long poll is no stall)."""
        idle = time.monotonic() - max(self.last_tick, self.poller.last_progress)
        return idle < 600, {"seconds_since_loop": round(idle, 1), "polls": self.polls}

    def run(self) -> None:
        due: dict[str, float] = {}
        while not self.stop_event.is_set():
            self.last_tick = time.monotonic()
            crm = self.follower.settings
            if crm is not None:
                for obj in crm.synced():
                    if time.monotonic() >= due.get(obj, 0.0):
                        due[obj] = time.monotonic() + self._poll(obj, crm)
            self.stop_event.wait(0.5)

    def _poll(self, obj: ObjectName, crm: CrmSettings) -> float:
        interval = float(crm.objects[obj].poll_interval)
        blocked = self.governor.blocked(Priority.POLL) if self.governor else None
        if blocked is not None:
            # Skipped, not lost: the cursor stays put and the next poll reads it all.
            self.skipped_for_budget += 1
            metrics.BUDGET_PAUSES.labels("poller", blocked.reason).inc()
            log.warning("%s poll skipped: %s", obj, blocked.detail)
            return interval
        try:
            result = self.poller.poll(obj, crm)
        except ThrottledError as exc:
            if self.governor is not None:
                self.governor.limit_exceeded()
            log.warning("%s poll skipped: %s", obj, exc.problem.message)
            return interval
        except RetriableError as exc:
            log.warning("%s poll failed (%s); retrying in 10s", obj, exc.problem.code)
            return min(interval, 10.0)
        self.polls += 1
        cursor = self.poller.cursors.get("incremental", obj)
        if cursor is not None:
            metrics.CURSOR_AGE.labels(obj).set(
                max(0.0, time.time() - cursor.stamp_ms / 1000)
            )
        log.info(
            "%s: %d published, %d already seen, %d API call(s)",
            obj,
            result.published,
            result.already_seen,
            result.api_calls,
        )
        return interval
