"""confluent-kafka clients with the settings every role shares, and topic creation."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, cast

from confluent_kafka import Consumer as _Consumer
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.kafka import config as kafka_config
from connectors.kafka.topics import TopicSpec
from ground.settings import ConfigError, KafkaSettings

log = logging.getLogger(__name__)

# Header list as confluent-kafka's stub types it (values may also be str or None).
_KafkaHeaders = list[tuple[str, str | bytes | None]]


def _base(settings: KafkaSettings) -> dict[str, Any]:
    return {**kafka_config.librdkafka(settings)}


def producer(settings: KafkaSettings, **overrides: Any) -> Producer:
    conf = _base(settings) | {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "none",
        "message.timeout.ms": settings.message_timeout_ms,
    }
    return Producer(conf | overrides)


def consumer(settings: KafkaSettings, group_id: str, **overrides: Any) -> _Consumer:
    conf = _base(settings) | {
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": settings.session_timeout_ms,
        "heartbeat.interval.ms": max(500, settings.session_timeout_ms // 6),
        "partition.assignment.strategy": "cooperative-sticky",
    }
    return _Consumer(conf | overrides)


def admin(settings: KafkaSettings) -> AdminClient:
    return AdminClient(_base(settings))


def ensure_topics(
    settings: KafkaSettings, specs: Iterable[TopicSpec], timeout: float = 30.0
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created.

    Raises:
        ConfigError: the brokers cannot be reached or refuse the topics.
    """
    client = admin(settings)
    try:
        existing = set(client.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise ConfigError(
            f"cannot reach Kafka at {settings.bootstrap_servers} ({exc.args[0]}): "
            "check KAFKA_BOOTSTRAP_SERVERS"
        ) from None
    new = [
        NewTopic(
            s.name,
            num_partitions=s.partitions,
            replication_factor=settings.replication_factor,
            config=dict(s.config),
        )
        for s in specs
        if s.name not in existing
    ]
    if not new:
        return []
    created = []
    for name, future in client.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
            created.append(name)
        except KafkaException as exc:
            err = exc.args[0]
            if (
                isinstance(err, KafkaError)
                and err.code() == KafkaError.TOPIC_ALREADY_EXISTS
            ):
                continue
            raise ConfigError(f"cannot create topic {name}: {err}") from None
    return created


class DeliveryFailed(RuntimeError):
    """Kafka did not acknowledge a produced record."""


class _Scope:
    """Deliveries of one caller: records produced and the reports come back.

    No lock per record: only the owning task or thread counts `produced`, and a
    delivery report (run in whichever thread polls librdkafka) only appends to a
    deque, which is atomic. Two threads taking one lock per record (the event
    loop producing while another thread flushes) made them hand the GIL back
    and forth.
    """

    def __init__(self) -> None:
        self.produced = 0
        self.reports: deque[str | None] = deque()  # None, or what failed

    @property
    def pending(self) -> int:
        return self.produced - len(self.reports)

    def report(self, err: KafkaError | None, msg: Message) -> None:
        """The delivery report of one record (one bound method per caller, not a
        closure per record: produce is on every event's path)."""
        self.reports.append(None if err is None else f"{msg.topic()}: {err}")

    def settle(self) -> tuple[int, list[str]]:
        """Forget the records reported so far: (still pending, their errors)."""
        taken = len(self.reports)
        errors = [r for r in (self.reports.popleft() for _ in range(taken)) if r]
        self.produced -= taken
        return max(0, self.produced), errors


def _caller() -> tuple[str, int]:
    """Who is producing: the running asyncio task, else the thread.

    Agents share a producer: each agent's task in the event loop, start-up's
    release of held activities in an executor thread. Each one's flush must
    prove its own records, not another's.
    """
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running event loop in this thread
        task = None
    if task is not None:
        return ("task", id(task))
    return ("thread", threading.get_ident())


class AckingProducer:
    """A producer whose `flush` proves that every record the caller (this asyncio
    task, or this thread) produced since its last flush was acknowledged.

    Delivery reports run in whichever thread polls librdkafka; each record's report
    is booked to the caller that produced it, so one agent's flush neither takes
    nor hides another agent's failures.
    """

    def __init__(self, settings: KafkaSettings, **overrides: Any) -> None:
        self._producer = producer(settings, **overrides)
        self._scopes: dict[tuple[str, int], _Scope] = {}
        self._lock = threading.Lock()  # for the scopes' table, not per record

    @property
    def pending(self) -> int:
        """Records in flight, of every caller."""
        with self._lock:
            scopes = list(self._scopes.values())
        return sum(s.pending for s in scopes)

    def _scope(self, caller: tuple[str, int]) -> _Scope:
        scope = self._scopes.get(caller)
        if scope is None:
            with self._lock:
                scope = self._scopes.setdefault(caller, _Scope())
        return scope

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        timestamp_ms: int = 0,
        partition: int | None = None,
    ) -> None:
        scope = self._scope(_caller())
        scope.produced += 1  # counted before it can be reported
        try:
            while True:
                try:
                    self._producer.produce(
                        topic,
                        value=value,
                        key=key,
                        # -1: librdkafka's "the partitioner decides".
                        partition=-1 if partition is None else partition,
                        # list is invariant, but produce only reads the headers.
                        headers=cast("_KafkaHeaders | None", headers),
                        timestamp=timestamp_ms,
                        on_delivery=scope.report,
                    )
                    break
                except BufferError:
                    self._producer.poll(0.05)
        except BaseException:
            scope.produced -= 1  # never queued: nothing will report it
            raise
        self._producer.poll(0)

    def flush(self, timeout: float = 60.0) -> None:
        """Block until every record this caller produced is acknowledged.

        Raises:
            DeliveryFailed: one of them was refused or timed out; the caller may
                commit nothing that depends on them.
        """
        self._flush_scope(_caller(), timeout)

    def _flush_scope(self, caller: tuple[str, int], timeout: float) -> None:
        scope = self._scope(caller)
        deadline = time.monotonic() + timeout
        # flush() sends what lingers and serves delivery reports (anyone's). Short
        # calls: another task may keep the queue from emptying (the pipelined
        # activity agent producing its next batch) while this scope is done.
        while scope.pending > 0 and time.monotonic() < deadline:
            self._producer.flush(min(0.02, max(0.0, deadline - time.monotonic())))
        self._settle(caller, scope)

    def _settle(self, caller: tuple[str, int], scope: _Scope) -> None:
        remaining, errors = scope.settle()
        if remaining == 0:
            with self._lock:
                if self._scopes.get(caller) is scope:
                    del self._scopes[caller]  # tasks and threads come and go
        if remaining or errors:
            raise DeliveryFailed(
                f"{remaining} record(s) unacknowledged, errors: {errors[:3]}"
            )

    async def flush_async(self, wait_seconds: float = 60.0) -> None:
        """`flush` for the calling task, waited on in the event loop.

        Delivery reports are served here (and by every `produce`) in the loop's own
        thread: an executor thread serving them while the loop works on the next
        batch made the two threads trade the GIL for every report.
        """
        caller = _caller()
        scope = self._scope(caller)
        deadline = time.monotonic() + wait_seconds
        pause = 0.001
        while scope.pending > 0 and time.monotonic() < deadline:
            self._producer.poll(0)
            if scope.pending <= 0:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.01)
        self._settle(caller, scope)
