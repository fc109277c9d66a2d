"""Shared steps of the activity scenarios: the fault plan, waits, the final audit."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.kafka_helpers import Record, read_topic
from tests.reliability.checker import (
    ScenarioCounts,
    TaskAudit,
    audit_tasks,
    count_log_lines,
    expected_task,
)
from tests.reliability.conftest import FULL
from tests.reliability.pipeline import Pipeline
from tests.reliability.traffic import Event
from tests.waiting import wait_until

# The plan: 10% UNABLE_TO_LOCK_ROW (per record), 5% 503 and 1% dropped
# connections (per request; half before the org did anything, half after it wrote).
FAULT_RATES = {
    "UNABLE_TO_LOCK_ROW": 0.10,
    "SERVER_UNAVAILABLE": 0.05,
    "DROP_CONNECTION": 0.005,
    "DROP_AFTER_WRITE": 0.005,
}
# Batching leaves few requests at CI sizes, so rates alone may never fire the request
# faults: these fire once each on the next requests, whatever the batch size.
ONE_OF_EACH = [
    {"fault": "SERVER_UNAVAILABLE", "count": 1},
    {"fault": "DROP_AFTER_WRITE", "count": 1},
    {"fault": "DROP_CONNECTION", "count": 1},
]
PEOPLE_OBJECTS = ("Lead", "Contact", "Account")
# At CI sizes a capped backoff of 30 s can stall a small run for half its budget; the
# full run keeps the writer's default.
CI_ENV: dict[str, str] = {} if FULL else {"WRITER_MAX_BACKOFF_SECONDS": "5"}


def fault_plan(seed: int, guaranteed: bool = False) -> dict[str, Any]:
    return {
        "seed": seed,
        "rates": dict(FAULT_RATES),
        "next": [dict(e) for e in ONE_OF_EACH] if guaranteed else [],
    }


def task_count(admin: SandboxAdmin) -> int:
    return int(admin.stats()["records"].get("Task", 0))


def record_counts(admin: SandboxAdmin) -> dict[str, int]:
    records = admin.stats()["records"]
    return {name: int(records.get(name, 0)) for name in PEOPLE_OBJECTS}


def wait_for_tasks(
    admin: SandboxAdmin,
    pipeline: Pipeline,
    n: int,
    timeout: float,
    stall: float | None = None,
) -> bool:
    """True once the org holds `n` Tasks; False at the deadline (the audit says why).

    Args:
        stall: give up early once the count has not moved for this many seconds.
    """
    seen = {"count": -1, "since": time.monotonic()}

    def done() -> bool | None:
        pipeline.watch()
        count = task_count(admin)
        if count >= n:
            return True
        if count != seen["count"]:
            seen.update(count=count, since=time.monotonic())
        if stall is not None and time.monotonic() - seen["since"] > stall:
            return None  # stalled: stop waiting
        return False

    result: list[bool | None] = []
    try:
        wait_until(
            lambda: result.append(done()) or result[-1] is not False,
            timeout,
            interval=0.5,
            what=f"{n} Tasks",
        )
    except AssertionError:
        return False
    return bool(result[-1])


def settle(admin: SandboxAdmin, pipeline: Pipeline, quiet: float = 3.0) -> None:
    """Wait until the Task count has not moved for `quiet` seconds (late duplicates)."""
    seen = {"count": -1, "since": time.monotonic()}

    def still() -> bool:
        pipeline.watch()
        count = task_count(admin)
        if count != seen["count"]:
            seen.update(count=count, since=time.monotonic())
        return time.monotonic() - seen["since"] >= quiet

    wait_until(still, 60, interval=0.5, what="the Task count to settle")


def expected(events: Sequence[Event]) -> dict[str, dict[str, Any] | None]:
    return {ev["event_id"]: expected_task(schema, ev) for schema, ev in events}


def dead_letters(settings: KafkaSettings) -> list[Record]:
    return read_topic(settings, Topics(settings).dlq.name, idle=1.5)


def reasons(records: Sequence[Record]) -> Counter[str]:
    return Counter(
        r.headers.get("engage.errors.reason", b"?").decode(errors="replace")
        for r in records
    )


def finish(
    admin: SandboxAdmin,
    pipeline: Pipeline,
    settings: KafkaSettings,
    events: Sequence[Event],
    sample: int,
    started: float,
    report: Callable[[ScenarioCounts], None],
) -> tuple[ScenarioCounts, TaskAudit, list[Record], dict[str, int]]:
    """Stop the processes, audit the org and record the scenario's counts."""
    exit_codes = pipeline.stop()
    audit = audit_tasks(admin.records("Task"), expected(events), sample)
    dlq = dead_letters(settings)
    stats = admin.stats()
    counts = ScenarioCounts(
        kills=sum(pipeline.kills.values()),
        crashes=len(pipeline.crashes),
        dead_letters=len(dlq),
        api_calls=int(stats["api_calls"]),
        seconds=time.monotonic() - started,
        faults_injected=dict(stats["faults_injected"]),
    )
    counts.take_audit(audit)
    counts.take_logs(count_log_lines(pipeline.logs("writer")))
    if pipeline.kills:
        counts.extra["kills_by_role"] = dict(pipeline.kills)
    if dlq:
        counts.extra["dlq_reasons"] = dict(reasons(dlq))
    report(counts)
    return counts, audit, dlq, exit_codes
