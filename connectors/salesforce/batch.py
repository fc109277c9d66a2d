"""One batch of decoded commands, written to Salesforce; every outcome published.

No Kafka here: the Salesforce client, the publisher and the waits are ports
(`connectors/salesforce/ports.py`), so unit tests run it with in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from connectors.kafka.deadletter import Origin
from connectors.salesforce import access, outcomes
from connectors.salesforce.budget import Priority
from connectors.salesforce.contract import TaskContract
from connectors.salesforce.errors import Problem, RetriableError, ThrottledError
from connectors.salesforce.linker import Linker, Outcome
from connectors.salesforce.outcomes import Pending, WriterStats
from connectors.salesforce.plan import UpsertChunk, judge_answers, plan_batch
from connectors.salesforce.ports import Pacing, Publisher, SalesforceApi
from connectors.salesforce.writebacks import WriteBacks
from domain.crm_settings.models import CrmSettings
from ground import metrics


class BatchWriter:
    """Carries out a batch's plan and publishes one result per command.

    Args:
        client: the Salesforce calls.
        publisher: where results and dead letters go (flushed by the caller).
        pace: backoffs, throttling and the API budget.
        settings: the CRM settings in force (None before any were applied).
        max_record_attempts: transient failures of one record before it is given up.
        stats: counters shared with the Kafka loop.
    """

    def __init__(
        self,
        client: SalesforceApi,
        publisher: Publisher,
        pace: Pacing,
        settings: Callable[[], CrmSettings | None],
        max_record_attempts: int,
        stats: WriterStats | None = None,
    ) -> None:
        self.client, self.publisher, self.pace = client, publisher, pace
        self.max_record_attempts = max_record_attempts
        self.stats = stats or WriterStats()
        self.contract: TaskContract | None = None
        self._settings = settings
        self._linker = Linker(client, settings)
        self._writebacks = WriteBacks(client, self)

    def load_contract(self) -> None:
        """Log in, check the grants the guide requires, and read what the org's Task
        object accepts (at start; the access check's Task describe is reused)."""
        self.client.connect()
        user = getattr(self.client, "user", None)
        found = access.require_access(self.client, self._settings(), user)
        self.contract = TaskContract.from_describe(found["Task"])

    def write(self, items: Sequence[Pending]) -> None:
        """Write every command of the batch and publish its outcome."""
        plan = plan_batch(items, create_fields=self._linker.sent_fields())
        for refusal in plan.refused:
            self.dead_letter(refusal.item.origin, refusal.error, "policy-refused")
            refusal.item.result = outcomes.result(
                refusal.item.command, False, "policy-refused", str(refusal.error)
            )
        for chunk in plan.upserts:
            self._upsert(chunk)
        for twin in plan.twins:
            twin.item.result = dict(twin.sent.result or {}) | {
                "event_id": twin.item.command["command_id"]
            }
        if plan.links:
            self.pace.retrying(lambda: self._link(plan.links), Priority.LINKS)
        if plan.updates:
            updates = plan.updates
            self.pace.retrying(lambda: self._writebacks.apply(updates), Priority.LINKS)
        for item in items:
            self._publish(item)

    def _upsert(self, chunk: UpsertChunk) -> None:
        """Upsert up to 1,000 records in one Composite call; redo only what failed."""
        assert self.contract is not None
        bodies = {
            id(i): self.contract.prepare(i.command["fields"]) for i in chunk.items
        }
        backoff = self.pace.backoff()
        todo = list(chunk.items)
        while todo:
            self.pace.acquire(Priority.TASKS)
            try:
                answers = self.client.upsert_many(
                    chunk.sobject,
                    chunk.external_id_field,
                    [bodies[id(item)] for item in todo],
                )
            except ThrottledError as exc:
                self.pace.throttled(exc.problem)
                continue
            except RetriableError as exc:
                self.pace.retry_wait(backoff, exc.problem)
                continue
            if any(a.get("success") for a in answers):
                # Progress: the org is fine, only some rows were locked. Start the
                # backoff over instead of compounding waits across the whole chunk.
                backoff = self.pace.backoff()
            sent = [(item, bodies[id(item)]) for item in todo]
            todo, transient = [], None
            for d in judge_answers(
                sent, answers, self.contract, self.max_record_attempts
            ):
                if d.verdict == "written":
                    d.item.result = outcomes.result(
                        d.item.command,
                        True,
                        "OK",
                        None,
                        d.answer.get("id"),
                        d.answer.get("created"),
                    )
                elif d.verdict == "resend":
                    bodies[id(d.item)] = d.body or {}
                    todo.append(d.item)
                elif d.verdict == "retry":
                    d.item.attempts, transient = d.attempts, d.problem
                    todo.append(d.item)
                elif d.verdict == "give_up":
                    d.item.attempts = d.attempts
                    self._give_up(d.item, d.problem)  # type: ignore[arg-type]
                else:
                    self._reject(d.item, d.problem)  # type: ignore[arg-type]
            if transient is not None:
                # One jittered wait for the whole remainder, then one request: retried
                # siblings never race each other for their parent's lock.
                self.pace.retry_wait(backoff, transient)

    def _link(self, items: list[Pending]) -> None:
        # CREATE goes through matching too: Engage never creates without re-matching.
        found = self._linker.link([i.command for i in items])
        for item, outcome in zip(items, found, strict=True):
            cmd = item.command
            item.result = outcomes.result(
                cmd,
                outcome.success,
                outcome.status,
                outcome.message,
                outcome.salesforce_id,
                outcome.status == "CREATED",
                outcome.fields,
            ) | {
                "object": outcome.sobject or cmd["sobject"],
                "engage_contact_id": cmd.get("engage_contact_id"),
                "record": outcomes.avro_values(outcome.record or {}),
                "candidates": list(outcome.candidates),
            }
            if outcome.account_refused is not None:
                self._account_refused(item, outcome.account_refused)
            if not outcome.success:
                self._link_failed(item, outcome)

    def _account_refused(self, item: Pending, problem: Problem) -> None:
        """The org refused the Account; the Contact was still created without it."""
        cmd = item.command
        item.also.append(
            outcomes.result(
                cmd | {"sobject": "Account", "operation": "CREATE"},
                False,
                problem.code,
                problem.message,
                fields=problem.fields,
            )
            | {"engage_contact_id": cmd.get("engage_contact_id")}
        )
        metrics.REJECTED.labels("Account", problem.code).inc()
        self.dead_letter(
            item.origin,
            f"{problem.code}: Account refused: {problem.message}",
            problem.code,
        )

    def _link_failed(self, item: Pending, outcome: Outcome) -> None:
        sobject = outcome.sobject or item.command["sobject"]
        if outcome.status.isupper():  # Salesforce's code, not our own reason
            metrics.REJECTED.labels(sobject, outcome.status).inc()
        refused = "Account refused: " if sobject == "Account" else ""
        self.dead_letter(
            item.origin, f"{outcome.status}: {refused}{outcome.message}", outcome.status
        )

    def _reject(self, item: Pending, problem: Problem) -> None:
        """Salesforce will not save this record as sent: report it, never force it."""
        item.result = outcomes.result(
            item.command, False, problem.code, problem.message, fields=problem.fields
        )
        metrics.REJECTED.labels(item.command["sobject"], problem.code).inc()
        self.dead_letter(
            item.origin, f"{problem.code}: {problem.message}", problem.code
        )

    def _give_up(self, item: Pending, problem: Problem) -> None:
        """Still failing transiently after many tries: dead letter (resubmittable)."""
        self.stats.gave_up += 1
        message = f"{problem.code} after {item.attempts} attempts: {problem.message}"
        item.result = outcomes.result(item.command, False, "RETRIES_EXHAUSTED", message)
        self.dead_letter(item.origin, message, "retries-exhausted")

    def result_for(
        self,
        item: Pending,
        success: bool,
        status: str,
        message: str | None,
        salesforce_id: str | None = None,
    ) -> None:
        """Set the item's result (the write-backs' `Outcomes` port)."""
        item.result = outcomes.result(
            item.command, success, status, message, salesforce_id
        ) | {"engage_contact_id": item.command.get("engage_contact_id")}

    def _publish(self, item: Pending) -> None:
        for result in [*item.also, *([item.result] if item.result else [])]:
            self._count(result)
            self.publisher.result(result)

    def _count(self, result: dict[str, Any]) -> None:
        if result["success"]:
            self.stats.written += 1
            self.stats.created += bool(result.get("created"))
            metrics.RECORDS_WRITTEN.labels(result["object"], result["operation"]).inc()
            if result["object"] == "Task":
                metrics.TASKS_WRITTEN.inc()
        else:
            self.stats.failed += 1

    def dead_letter(
        self, origin: Origin, error: BaseException | str, reason: str
    ) -> None:
        """Send the original command to the dead-letter topic with the reason."""
        self.stats.dead_letters += 1
        self.publisher.dead_letter(origin, error, reason)
