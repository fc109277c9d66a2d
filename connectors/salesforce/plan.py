"""The writer's decisions, free of I/O: what a batch sends, what each answer means."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from connectors.salesforce import policy
from connectors.salesforce.client import COMPOSITE_LIMIT
from connectors.salesforce.contract import TaskContract
from connectors.salesforce.errors import ErrorKind, Problem, classify_record_error
from connectors.salesforce.outcomes import Pending

LINK_OPERATIONS = frozenset({"MATCH", "MATCH_OR_CREATE", "CREATE"})
Verdict = Literal["written", "resend", "retry", "give_up", "rejected"]


@dataclass(frozen=True)
class Refusal:
    """A command the write policy refuses: never sent."""

    item: Pending
    error: policy.PolicyRefusal


@dataclass(frozen=True)
class UpsertChunk:
    """Up to 1,000 upserts of one object by one key: one Composite call."""

    sobject: str
    external_id_field: str
    items: tuple[Pending, ...]


@dataclass(frozen=True)
class Twin:
    """A command whose key another command of the batch also upserts; only the
    later one is sent (Salesforce refuses a key twice: DUPLICATE_EXTERNAL_ID), and
    this one takes its result."""

    item: Pending
    sent: Pending


@dataclass
class BatchPlan:
    """What one batch asks of Salesforce, by kind of write."""

    refused: list[Refusal] = field(default_factory=list)
    upserts: list[UpsertChunk] = field(default_factory=list)
    twins: list[Twin] = field(default_factory=list)
    links: list[Pending] = field(default_factory=list)
    updates: list[Pending] = field(default_factory=list)


def plan_batch(
    items: Sequence[Pending],
    chunk_size: int = COMPOSITE_LIMIT,
    create_fields: Mapping[str, frozenset[str]] | None = None,
) -> BatchPlan:
    """Sort decoded commands into refusals, upsert chunks, twins, links and updates.

    Args:
        items: the batch's decoded commands, in offset order.
        chunk_size: records per upsert request.
        create_fields: per object, the fields the mapping sends on a create
            (`policy.check`'s `create_fields`; None: the default set).

    Returns:
        The plan; upserts are grouped by object and key field, one command per key
        value (the last), sorted by parent (`WhoId`) so siblings share a request
        and are serialized there instead of racing for the parent's lock.
    """
    plan = BatchPlan()
    groups: dict[tuple[str, str], list[Pending]] = defaultdict(list)
    for item in items:
        cmd = item.command
        try:
            policy.check(cmd, create_fields)
        except policy.PolicyRefusal as exc:
            plan.refused.append(Refusal(item, exc))
            continue
        if cmd["operation"] == "UPSERT":
            groups[(cmd["sobject"], cmd["external_id_field"])].append(item)
        elif cmd["operation"] in LINK_OPERATIONS:
            plan.links.append(item)
        elif cmd["operation"] == "UPDATE":
            plan.updates.append(item)
    for (sobject, ext_field), group in groups.items():
        by_key: dict[str, list[Pending]] = defaultdict(list)
        for item in group:
            by_key[str(item.command["fields"][ext_field])].append(item)
        plan.twins += [
            Twin(twin, same[-1]) for same in by_key.values() for twin in same[:-1]
        ]
        todo = sorted(
            (same[-1] for same in by_key.values()),
            key=lambda i: str(i.command["fields"].get("WhoId") or ""),
        )
        plan.upserts += [
            UpsertChunk(sobject, ext_field, tuple(todo[start : start + chunk_size]))
            for start in range(0, len(todo), chunk_size)
        ]
    return plan


@dataclass(frozen=True)
class Decision:
    """What one record's answer means for it."""

    item: Pending
    verdict: Verdict
    answer: Mapping[str, Any] = field(default_factory=dict)
    problem: Problem | None = None
    body: dict[str, Any] | None = None  # resend: the body without create-only fields
    attempts: int = 0  # retry, give_up: transient failures so far, this one included


def judge_answers(
    sent: Sequence[tuple[Pending, dict[str, Any]]],
    answers: Sequence[Mapping[str, Any]],
    contract: TaskContract,
    max_attempts: int,
) -> list[Decision]:
    """Decide, per record, from Salesforce's answers to one upsert request.

    Args:
        sent: each record with the body it was sent with, in request order.
        answers: Salesforce's per-record answers, in the same order.
        contract: the org's Task contract (which fields are create-only).
        max_attempts: transient failures a record may have before it is given up.

    Returns:
        One decision per record: written; resend at once without create-only
        fields (a replay hit the update branch); retry after a wait (row lock);
        give up (still transient after `max_attempts`); or rejected (Salesforce
        will not save it as sent: validation, duplicate rule, bad value).
    """
    decisions = []
    for (item, body), answer in zip(sent, answers, strict=True):
        if answer.get("success"):
            decisions.append(Decision(item, "written", answer))
            continue
        problem = classify_record_error((answer.get("errors") or [{}])[0])
        if contract.is_create_only_refusal(problem):
            trimmed = {k: v for k, v in body.items() if k not in contract.create_only}
            decisions.append(Decision(item, "resend", answer, problem, trimmed))
        elif problem.kind in (ErrorKind.RETRIABLE, ErrorKind.THROTTLED):
            attempts = item.attempts + 1
            verdict: Verdict = "give_up" if attempts >= max_attempts else "retry"
            decisions.append(
                Decision(item, verdict, answer, problem, attempts=attempts)
            )
        else:
            decisions.append(Decision(item, "rejected", answer, problem))
    return decisions
