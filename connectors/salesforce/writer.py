"""Salesforce writer: the Kafka loop around `batch.BatchWriter`; commits offsets
only after Salesforce answered and every outcome was acknowledged."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from connectors.kafka import clients
from connectors.kafka.deadletter import DeadLetters, Origin
from connectors.kafka.ports import Producer
from connectors.kafka.serde import DecodeError, RegistryUnavailable, Serde
from connectors.kafka.topics import Topics
from connectors.kafka.window import where
from connectors.salesforce.batch import BatchWriter
from connectors.salesforce.budget import Governor
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.outcomes import Pending, WriterStats, is_link_report
from connectors.salesforce.pacing import Pacer, Stopping
from connectors.salesforce.usage import ClientUsage, UsageLedger
from ground import metrics
from ground.settings import BudgetSettings, KafkaSettings, WriterSettings

log = logging.getLogger(__name__)


class SalesforceWriter:
    """Consumes `salesforce.commands` and writes them at least once, idempotently."""

    def __init__(
        self,
        kafka: KafkaSettings,
        settings: WriterSettings,
        client: SalesforceClient,
        on_batch: Callable[[WriterStats], None] | None = None,
        settings_provider: Callable[[], Any] | None = None,
        budget: BudgetSettings | None = None,
    ) -> None:
        self.kafka, self.settings, self.client = kafka, settings, client
        self.ledger: UsageLedger | None = None
        self._usage = ClientUsage(client)
        self.governor = Governor(budget or BudgetSettings(), self._usage)
        self.last_tick = time.monotonic()
        self.topics = Topics(kafka)
        self.serde = Serde.for_kafka(kafka)
        self.stats = WriterStats()
        self.stop_event = threading.Event()
        self.pace = Pacer(
            self.governor, self.stats, self.stop_event,
            settings.max_retry_seconds, lambda: self._consumer,
        )
        self._on_batch = on_batch
        self._consumer: Consumer | None = None
        self._assigned: frozenset[int] = frozenset()
        self.publisher = KafkaPublisher(kafka, self.serde, self.topics)
        self.batches = BatchWriter(
            client, self.publisher, self.pace, settings_provider or (lambda: None),
            settings.max_record_attempts, self.stats,
        )

    def assignment(self) -> frozenset[int]:
        """The partitions of `salesforce.commands` this writer holds now.

        Kept from the rebalance callbacks: `Consumer.assignment()` would wait for a
        `consume()` running on another thread.
        """
        return self._assigned

    def _on_assign(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        # cooperative-sticky: each callback names only the partitions that change.
        self._assigned = self._assigned | {tp.partition for tp in partitions}

    def _on_revoke(self, _: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = self._assigned - {tp.partition for tp in partitions}

    def start(self) -> None:
        clients.ensure_topics(self.kafka, self.topics.all())
        self._count_calls("writer")
        self.pace.startup(self.batches.load_contract)
        self._consumer = clients.consumer(
            self.kafka,
            self.kafka.group("writer"),
            **{"fetch.wait.max.ms": self.settings.fetch_max_wait_ms},
        )
        self._consumer.subscribe(
            [self.topics.commands.name],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )

    def prepare(self, consumer: Consumer) -> None:
        """Connect and load the Task contract like `start`, but subscribe to nothing.

        For `engage-sync replay`: it assigns `consumer` itself and calls `process`,
        which then commits to that consumer's group (the replay group).
        """
        self._count_calls("replay")
        self.pace.startup(self.batches.load_contract)
        self._consumer = consumer

    def _count_calls(self, role: str) -> None:
        """Every call counts against the budget shared by all our processes."""
        self.client.process = role
        if self.ledger is None:
            self.ledger = self._usage.ledger = UsageLedger(self.kafka, role).start()
            self.client.on_call = self.ledger.add

    def run(self) -> None:
        """Process batches until `stop_event` is set; then leave the group cleanly."""
        if self._consumer is None:
            self.start()
        assert self._consumer is not None
        try:
            while not self.stop_event.is_set():
                self.last_tick = time.monotonic()
                batch = self._collect()
                if batch:
                    try:
                        self.process(batch)
                    except Stopping:
                        log.info(
                            "stopping during a retry; "
                            "the open batch will be redelivered"
                        )
                        break
        finally:
            self._consumer.close()
            if self.ledger is not None:
                self.ledger.stop()

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Alive while the loop turns or waits (a budget pause or retry backoff)."""
        idle = time.monotonic() - max(self.last_tick, self.pace.last_tick)
        ok = idle < max(120.0, 4 * self.settings.max_retry_seconds)
        return ok, {
            "seconds_since_loop": round(idle, 1),
            "budget_paused": self.governor.paused,
            "batches": self.stats.batches,
        }

    def _collect(self) -> list[Message]:
        assert self._consumer is not None
        batch: list[Message] = []
        deadline: float | None = None
        while len(batch) < self.settings.batch_size and not self.stop_event.is_set():
            timeout = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
            msgs = self._consumer.consume(
                self.settings.batch_size - len(batch), timeout
            )
            for msg in msgs:
                if msg.error():
                    log.warning("consumer error: %s", msg.error())
                    continue
                batch.append(msg)
            if batch and deadline is None:
                deadline = time.monotonic() + self.settings.linger_ms / 1000
            if deadline is not None and time.monotonic() >= deadline:
                break
        return batch

    def process(self, messages: Sequence[Message]) -> None:
        """Write one batch, publish every outcome, then commit its offsets."""
        started = time.monotonic()
        pending, undecodable = self._decode(messages)
        for origin, exc in undecodable:
            self.batches.dead_letter(origin, exc, "undecodable-command")
        self.stats.commands += len(messages)
        self.batches.write(pending)
        self.publisher.flush()
        self._commit(messages)
        self.stats.batches += 1
        self.stats.batch_sizes.append(len(messages))
        metrics.BATCH_SIZE.observe(len(messages))
        metrics.BATCH_SECONDS.observe(time.monotonic() - started)
        if self._on_batch:
            self._on_batch(self.stats)

    def _decode(
        self, messages: Sequence[Message]
    ) -> tuple[list[Pending], list[tuple[Origin, DecodeError]]]:
        """The batch's commands, and the messages that are no command at all.

        A Schema Registry outage is no fault of the messages: the whole batch is
        decoded again after a backoff (fetching paused, the group kept), never
        dead-lettered; a SIGTERM meanwhile leaves it uncommitted, for redelivery.
        """
        backoff = self.pace.backoff()
        while True:
            pending: list[Pending] = []
            undecodable: list[tuple[Origin, DecodeError]] = []
            try:
                for msg in messages:
                    origin = Origin(
                        *where(msg), msg.key(), msg.value(), msg.timestamp()[1]
                    )
                    try:
                        command = self.serde.decode("SalesforceCommand", msg.value())
                    except DecodeError as exc:
                        undecodable.append((origin, exc))
                        continue
                    pending.append(Pending(origin, command))
                return pending, undecodable
            except RegistryUnavailable as exc:
                delay = backoff.next()
                log.warning("%s; decoding the batch again in %.1fs", exc, delay)
                self.pace.wait(delay, None)

    def _commit(self, messages: Sequence[Message]) -> None:
        assert self._consumer is not None
        last: dict[tuple[str, int], int] = {}
        for msg in messages:
            topic, partition, offset = where(msg)
            last[(topic, partition)] = max(last.get((topic, partition), -1), offset)
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except (
            Exception
        ) as exc:  # partitions revoked mid-batch: the new owner redoes them
            log.warning("offset commit failed (%s); the batch will be redelivered", exc)


class KafkaPublisher:
    """The publisher port on Kafka: results keyed by event id (link reports also on
    `salesforce.links`), Connect-style DLQ."""

    def __init__(
        self,
        kafka: KafkaSettings,
        serde: Serde,
        topics: Topics,
        producer: Producer | None = None,
    ) -> None:
        self._producer = producer or clients.AckingProducer(kafka)
        self._dlq = DeadLetters(self._producer, topics.dlq.name)
        self._serde, self._results = serde, topics.results.name
        self._links = topics.links.name

    def result(self, result: dict[str, Any]) -> None:
        value = self._serde.encode("WriteResult", result)
        key = result["event_id"].encode()
        self._producer.produce(self._results, value, key=key)
        if is_link_report(result):
            self._producer.produce(self._links, value, key=key)

    def dead_letter(
        self, origin: Origin, error: BaseException | str, reason: str
    ) -> None:
        self._dlq.send(origin, error, reason)

    def flush(self) -> None:
        self._producer.flush()

