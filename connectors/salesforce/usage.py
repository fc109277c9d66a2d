"""API calls counted across all our processes, via the compacted `api-usage` topic."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from connectors.kafka.clients import AckingProducer
from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import DecodeError, RegistryUnavailable, Serde
from connectors.kafka.snapshot import follow, latest_values
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings

if TYPE_CHECKING:
    from connectors.salesforce.client import SalesforceClient

log = logging.getLogger(__name__)

PUBLISH_EVERY_SECONDS = 2.0


def _hour(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H")


def _window(now: datetime) -> set[str]:
    """The 24 UTC hours Salesforce's rolling daily limit covers (approximately)."""
    return {_hour(now - timedelta(hours=h)) for h in range(24)}


class UsageLedger:
    """Our calls per hour, published for the other processes; their calls, followed.

    Salesforce counts calls per org, across every integration; to keep engage-sync as
    a whole under its share, each process publishes its own count and sums everyone's.
    """

    def __init__(self, kafka: KafkaSettings, role: str) -> None:
        self.kafka, self.role = kafka, role
        self.topic = Topics(kafka).api_usage.name
        self.key = f"{role}:{uuid.uuid4().hex[:12]}".encode()
        self._serde = Serde.for_kafka(kafka)
        self._own: Counter[str] = Counter()
        self._others: dict[bytes, dict[str, int]] = {}
        self._lock = threading.Lock()
        self._producer: AckingProducer | None = None
        self._published_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> UsageLedger:
        """Read everyone's counts, then follow the topic in the background."""
        self._producer = AckingProducer(self.kafka)
        with TopicReader.open(self.kafka) as reader:
            self.read(reader)
        self._thread = threading.Thread(
            target=self._follow, name="api-usage-follower", daemon=True
        )
        self._thread.start()
        return self

    def read(self, reader: TopicReader) -> UsageLedger:
        """Everyone's counts as they are now; publishes nothing (read-only callers
        such as `engage-sync status` use this without `start`)."""
        for key, value in latest_values(reader, self.topic).items():
            self._take(key, value)
        return self

    def _follow(self) -> None:
        try:
            with TopicReader.open(self.kafka) as reader:
                for msg in follow(reader, self.topic, self._stop.is_set):
                    self._take(msg.key() or b"", msg.value())
        except Exception as exc:  # noqa: BLE001 - counting is advisory; keep working
            log.warning("stopped following API usage of other processes: %s", exc)

    def _take(self, key: bytes, value: bytes | None) -> None:
        if key == self.key:
            return
        with self._lock:
            if value is None:
                self._others.pop(key, None)
                return
            try:
                record = self._serde.decode("ApiUsage", value)
            except (DecodeError, RegistryUnavailable):
                return
            self._others[key] = dict(record["hours"])

    def add(self, calls: int = 1) -> None:
        with self._lock:
            self._own[_hour(datetime.now(UTC))] += calls
        if time.monotonic() - self._published_at >= PUBLISH_EVERY_SECONDS:
            self.publish()

    def publish(self, wait: bool = False) -> None:
        if self._producer is None:
            return
        now = datetime.now(UTC)
        window = _window(now)
        with self._lock:
            for hour in [h for h in self._own if h not in window]:
                del self._own[hour]
            hours = dict(self._own)
        self._published_at = time.monotonic()
        self._producer.produce(
            self.topic,
            self._serde.encode(
                "ApiUsage", {"process": self.role, "hours": hours, "updated_at": now}
            ),
            key=self.key,
        )
        if wait:
            self._producer.flush()

    def total(self) -> int:
        """Calls by every engage-sync process in the last 24 hours."""
        window = _window(datetime.now(UTC))
        with self._lock:
            ours = sum(n for h, n in self._own.items() if h in window)
            theirs = sum(
                n for hours in self._others.values() for h, n in hours.items()
                if h in window
            )
        return ours + theirs

    def stop(self) -> None:
        self._stop.set()
        try:
            self.publish(wait=True)
        except Exception as exc:  # noqa: BLE001 - shutting down anyway
            log.debug("final API usage publish failed: %s", exc)
        if self._thread is not None:
            self._thread.join(timeout=5)


class ClientUsage:
    """The governor's view: the org's usage from Salesforce, ours from the ledger."""

    def __init__(
        self, client: SalesforceClient, ledger: UsageLedger | None = None
    ) -> None:
        self.client, self.ledger = client, ledger

    def org_usage(self) -> tuple[int, int] | None:
        return self.client.api_usage

    def our_calls(self) -> int:
        return self.ledger.total() if self.ledger is not None else self.client.calls

    def refresh(self) -> None:
        self.client.refresh_usage()
