"""Salesforce writer: batch upserts; commits offsets only after Salesforce answered."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from connectors.kafka import clients
from connectors.kafka.deadletter import DeadLetters, Origin
from connectors.kafka.serde import DecodeError, Serde
from connectors.kafka.topics import Topics
from connectors.kafka.window import where
from connectors.salesforce import access, outcomes, policy
from connectors.salesforce.budget import Governor, Priority
from connectors.salesforce.client import COMPOSITE_LIMIT, SalesforceClient
from connectors.salesforce.contract import TaskContract
from connectors.salesforce.errors import (
    ErrorKind,
    Problem,
    RetriableError,
    ThrottledError,
    classify_record_error,
)
from connectors.salesforce.linker import Linker
from connectors.salesforce.outcomes import Pending, WriterStats
from connectors.salesforce.pacing import Pacer, Stopping
from connectors.salesforce.usage import ClientUsage, UsageLedger
from connectors.salesforce.writebacks import WriteBacks
from engage_sync import metrics
from engage_sync.settings import BudgetSettings, KafkaSettings, WriterSettings

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
        self._producer = clients.AckingProducer(kafka)
        self._dlq = DeadLetters(self._producer, self.topics.dlq.name)
        self.contract: TaskContract | None = None
        self._crm = settings_provider or (lambda: None)
        self._linker = Linker(client, self._crm)
        self._writebacks = WriteBacks(client, self._result_for, self._dead_letter)

    def start(self) -> None:
        clients.ensure_topics(self.kafka, self.topics.all())
        self._count_calls("writer")
        self.pace.startup(self._read_contract)
        self._consumer = clients.consumer(
            self.kafka,
            self.kafka.group("writer"),
            **{"fetch.wait.max.ms": self.settings.fetch_max_wait_ms},
        )
        self._consumer.subscribe([self.topics.commands.name])

    def prepare(self, consumer: Consumer) -> None:
        """Connect and load the Task contract like `start`, but subscribe to nothing.

        For `engage-sync replay`: it assigns `consumer` itself and calls `process`,
        which then commits to that consumer's group (the replay group).
        """
        self._count_calls("replay")
        self.pace.startup(self._read_contract)
        self._consumer = consumer

    def _read_contract(self) -> None:
        self.client.connect()
        # The grants the guide requires, checked once; its Task describe is reused.
        found = access.require_access(self.client, self._crm(), self.client.user)
        self.contract = TaskContract.from_describe(found["Task"])

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
        pending: list[Pending] = []
        sent_fields = self._linker.sent_fields()  # the mapping in force, per batch
        for msg in messages:
            origin = Origin(*where(msg), msg.key(), msg.value(), msg.timestamp()[1])
            try:
                command = self.serde.decode("SalesforceCommand", msg.value())
                policy.check(command, sent_fields)
            except DecodeError as exc:
                self._dead_letter(origin, exc, "undecodable-command")
                continue
            except policy.PolicyRefusal as exc:
                self._dead_letter(origin, exc, "policy-refused")
                item = Pending(origin, command)
                item.result = outcomes.result(
                    command, False, "policy-refused", str(exc)
                )
                self._publish(item)
                continue
            pending.append(Pending(origin, command))
        self.stats.commands += len(messages)
        groups: dict[tuple[str, str], list[Pending]] = defaultdict(list)
        links = [i for i in pending if i.command["operation"] in LINK_OPERATIONS]
        updates = [i for i in pending if i.command["operation"] == "UPDATE"]
        for item in pending:
            cmd = item.command
            if cmd["operation"] == "UPSERT":
                groups[(cmd["sobject"], cmd["external_id_field"])].append(item)
        for (sobject, ext_field), items in groups.items():
            self._upsert_all(sobject, ext_field, items)
        if links:
            self.pace.retrying(lambda: self._link(links), Priority.LINKS)
        if updates:
            self.pace.retrying(lambda: self._writebacks.apply(updates), Priority.LINKS)
        for item in pending:
            self._publish(item)
        self._producer.flush()
        self._commit(messages)
        self.stats.batches += 1
        self.stats.batch_sizes.append(len(messages))
        metrics.BATCH_SIZE.observe(len(messages))
        metrics.BATCH_SECONDS.observe(time.monotonic() - started)
        if self._on_batch:
            self._on_batch(self.stats)

    def _link(self, items: list[Pending]) -> None:
        # CREATE goes through matching too: Engage never creates without re-matching.
        found = self._linker.link([i.command for i in items])
        for item, outcome in zip(items, found, strict=True):
            cmd = item.command
            item.result = outcomes.result(
                cmd, outcome.success, outcome.status, outcome.message,
                outcome.salesforce_id, outcome.status == "CREATED", outcome.fields,
            ) | {
                "object": outcome.sobject or cmd["sobject"],
                "engage_contact_id": cmd.get("engage_contact_id"),
                "record": outcomes.avro_values(outcome.record or {}),
                "candidates": list(outcome.candidates),
            }
            if not outcome.success:
                if outcome.status.isupper():  # Salesforce's code, not our own reason
                    metrics.REJECTED.labels(
                        outcome.sobject or cmd["sobject"], outcome.status
                    ).inc()
                self._dead_letter(
                    item.origin, f"{outcome.status}: {outcome.message}", outcome.status
                )

    def _upsert_all(self, sobject: str, ext_field: str, items: list[Pending]) -> None:
        # A key twice in one call is refused (DUPLICATE_EXTERNAL_ID): send the last one.
        by_key: dict[str, list[Pending]] = defaultdict(list)
        for item in items:
            by_key[str(item.command["fields"][ext_field])].append(item)
        # Siblings of one parent side by side: Salesforce locks the parent for each
        # child insert, and one request serializes them instead of racing for it.
        todo = sorted(
            (group[-1] for group in by_key.values()),
            key=lambda i: str(i.command["fields"].get("WhoId") or ""),
        )
        for start in range(0, len(todo), COMPOSITE_LIMIT):
            self._upsert_chunk(
                sobject, ext_field, todo[start : start + COMPOSITE_LIMIT]
            )
        for group in by_key.values():
            for twin in group[:-1]:
                twin.result = dict(group[-1].result or {}) | {
                    "event_id": twin.command["command_id"]
                }

    def _upsert_chunk(self, sobject: str, ext_field: str, chunk: list[Pending]) -> None:
        """Upsert up to 1,000 records in one Composite call; redo only what failed."""
        assert self.contract is not None
        bodies = {
            id(item): self.contract.prepare(item.command["fields"]) for item in chunk
        }
        backoff = self.pace.backoff()
        todo = list(chunk)
        while todo:
            self.pace.acquire(Priority.TASKS)
            try:
                answers = self.client.upsert_many(
                    sobject, ext_field, [bodies[id(item)] for item in todo]
                )
            except ThrottledError as exc:
                self.pace.throttled(exc.problem)
                continue
            except RetriableError as exc:
                self.pace.retry_wait(backoff, exc.problem)
                continue
            retry: list[Pending] = []
            transient: Problem | None = None
            if any(a.get("success") for a in answers):
                # Progress: the org is fine, only some rows were locked. Start the
                # backoff over instead of compounding waits across the whole chunk.
                backoff = self.pace.backoff()
            for item, answer in zip(todo, answers, strict=True):
                if answer.get("success"):
                    item.result = outcomes.result(
                        item.command, True, "OK", None,
                        answer.get("id"), answer.get("created"),
                    )
                    continue
                problem = classify_record_error((answer.get("errors") or [{}])[0])
                if self.contract.is_create_only_refusal(problem):
                    bodies[id(item)] = {
                        k: v
                        for k, v in bodies[id(item)].items()
                        if k not in self.contract.create_only
                    }
                    retry.append(item)
                elif problem.kind in (ErrorKind.RETRIABLE, ErrorKind.THROTTLED):
                    item.attempts += 1
                    if item.attempts >= self.settings.max_record_attempts:
                        self._give_up(item, problem)
                        continue
                    transient = problem
                    retry.append(item)
                else:
                    self._reject(item, problem)
            if transient is not None:
                # One jittered wait for the whole remainder, then one request: retried
                # siblings never race each other for their parent's lock.
                self.pace.retry_wait(backoff, transient)
            todo = retry

    def _reject(self, item: Pending, problem: Problem) -> None:
        """Salesforce will not save this record as sent: report it, never force it."""
        item.result = outcomes.result(
            item.command, False, problem.code, problem.message, fields=problem.fields
        )
        metrics.REJECTED.labels(item.command["sobject"], problem.code).inc()
        self._dead_letter(
            item.origin, f"{problem.code}: {problem.message}", problem.code
        )

    def _give_up(self, item: Pending, problem: Problem) -> None:
        """Still failing transiently after many tries: dead letter (resubmittable)."""
        self.stats.gave_up += 1
        item.result = outcomes.result(
            item.command, False, "RETRIES_EXHAUSTED",
            f"{problem.code} after {item.attempts} attempts: {problem.message}",
        )
        self._dead_letter(
            item.origin,
            f"{problem.code} after {item.attempts} attempts: {problem.message}",
            "retries-exhausted",
        )

    def _result_for(
        self, item: Pending, success: bool, status: str, message: str | None,
        salesforce_id: str | None = None,
    ) -> None:
        item.result = outcomes.result(
            item.command, success, status, message, salesforce_id
        ) | {"engage_contact_id": item.command.get("engage_contact_id")}

    def _publish(self, item: Pending) -> None:
        result = item.result
        if result is None:
            return
        if result["success"]:
            self.stats.written += 1
            self.stats.created += bool(result.get("created"))
            metrics.RECORDS_WRITTEN.labels(result["object"], result["operation"]).inc()
            if result["object"] == "Task":
                metrics.TASKS_WRITTEN.inc()
        else:
            self.stats.failed += 1
        self._producer.produce(
            self.topics.results.name,
            self.serde.encode("WriteResult", result),
            key=result["event_id"].encode(),
        )

    def _dead_letter(
        self, origin: Origin, error: BaseException | str, reason: str
    ) -> None:
        self.stats.dead_letters += 1
        self._dlq.send(origin, error, reason)

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


LINK_OPERATIONS = frozenset({"MATCH", "MATCH_OR_CREATE", "CREATE"})

