"""The checker: every Task in the org against every event sent (lost, duplicated)."""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.activity.formatting import call_to_task, email_to_task
from streams.activity.models import TASK_EXTERNAL_ID_FIELD

FORMATTERS = {"CallLogged": call_to_task, "EmailEvent": email_to_task}


def expected_task(schema: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """The Task fields the guide's format gives an event (owner: integration user)."""
    return FORMATTERS[schema](event).draft.to_sobject()


@dataclass
class TaskAudit:
    """What the org holds compared with what was sent, by `Engage_Activity_Id__c`."""

    sent: int
    tasks: int
    lost: list[str]  # sent, and no Task has its id
    duplicated: dict[str, int]  # id -> how many Tasks carry it (more than one)
    unexpected: list[str]  # Tasks whose id was never sent
    mismatched: dict[str, dict[str, tuple[Any, Any]]]  # id -> field: (want, got)
    sampled: int

    def summary(self) -> str:
        return (
            f"sent {self.sent}, Tasks {self.tasks}, lost {len(self.lost)} "
            f"(e.g. {self.lost[:3]}), duplicated {len(self.duplicated)} "
            f"(e.g. {list(self.duplicated.items())[:3]}), unexpected "
            f"{len(self.unexpected)}, misformatted {len(self.mismatched)} of "
            f"{self.sampled} sampled (e.g. {list(self.mismatched.items())[:1]!r:.600})"
        )


def audit_tasks(
    tasks: Iterable[Mapping[str, Any]],
    expected: Mapping[str, Mapping[str, Any] | None],
    sample: int,
    seed: int = 0,
) -> TaskAudit:
    """Count lost and duplicated Tasks; compare a sample's fields with `expected`.

    Args:
        tasks: every Task in the org (the sandbox admin's view, deleted ones left out).
        expected: event id -> the Task fields it must have (None: existence only).
        sample: how many present Tasks to compare field by field (all if larger).
        seed: picks the sample, so a failing run names the same records again.
    """
    by_id: dict[str, list[Mapping[str, Any]]] = {}
    total = 0
    for task in tasks:
        total += 1
        by_id.setdefault(str(task.get(TASK_EXTERNAL_ID_FIELD)), []).append(task)
    lost = [eid for eid in expected if eid not in by_id]
    duplicated = {eid: len(ts) for eid, ts in by_id.items() if len(ts) > 1}
    unexpected = [eid for eid in by_id if eid not in expected]
    present = sorted(eid for eid in expected if eid in by_id)
    chosen = random.Random(seed).sample(present, min(sample, len(present)))
    mismatched: dict[str, dict[str, tuple[Any, Any]]] = {}
    for eid in chosen:
        want = expected[eid]
        if want is None:
            continue
        got = by_id[eid][0]
        diff = {k: (v, got.get(k)) for k, v in want.items() if got.get(k) != v}
        if got.get("Status") != "Completed":
            diff["Status"] = ("Completed", got.get("Status"))
        if diff:
            mismatched[eid] = diff
    return TaskAudit(
        len(expected), total, lost, duplicated, unexpected, mismatched, len(chosen)
    )


# What the writer's log says about its work. The lines are the writer's own words and
# may change with it; the org's counts (faults injected, requests) are the truth.
_LOG_PATTERNS = {
    "retries": re.compile(r"retrying in", re.IGNORECASE),
    "pauses": re.compile(r"paused salesforce work|budget pause", re.IGNORECASE),
    "reauth": re.compile(r"re-?authenticat", re.IGNORECASE),
}


def count_log_lines(paths: Iterable[Path]) -> dict[str, int]:
    """How many retry, pause and re-authentication lines the given logs hold."""
    counts: Counter[str] = Counter({name: 0 for name in _LOG_PATTERNS})
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            for name, pattern in _LOG_PATTERNS.items():
                counts[name] += bool(pattern.search(line))
    return dict(counts)


class OrgRequests:
    """Counts every REST request the in-process sandbox org admits or refuses.

    The org counts only the calls it allows, so a writer hammering an exhausted limit
    would leave its usage unchanged; this wraps the org's own check to see the rest.
    """

    def __init__(self) -> None:
        self.allowed = 0
        self.refused = 0
        self._lock = threading.Lock()

    @classmethod
    def install(cls, org: Any) -> OrgRequests:
        counter = cls()
        store = org.store
        original = store.try_consume_api_call

        def counting(limit: int) -> tuple[bool, int]:
            allowed, used = original(limit)
            with counter._lock:
                if allowed:
                    counter.allowed += 1
                else:
                    counter.refused += 1
            return allowed, used

        store.try_consume_api_call = counting
        return counter

    @property
    def total(self) -> int:
        with self._lock:
            return self.allowed + self.refused


@dataclass
class ScenarioCounts:
    """One scenario's line in the printed table and the JSON report."""

    scenario: str = ""
    events_sent: int = 0
    tasks_written: int = 0
    lost: int = 0
    duplicated: int = 0
    misformatted: int = 0
    dead_letters: int = 0
    retries: int | None = None  # from the writer's logs
    pauses: int | None = None  # from the writer's logs
    kills: int = 0
    crashes: int = 0
    api_calls: int = 0
    seconds: float = 0.0
    faults_injected: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def take_audit(self, audit: TaskAudit) -> None:
        self.events_sent = audit.sent
        self.tasks_written = audit.tasks
        self.lost = len(audit.lost)
        self.duplicated = len(audit.duplicated)
        self.misformatted = len(audit.mismatched)

    def take_logs(self, counts: Mapping[str, int]) -> None:
        self.retries = counts.get("retries")
        self.pauses = counts.get("pauses")
        if counts.get("reauth"):
            self.extra["token_refreshes_logged"] = counts["reauth"]

    _COLUMNS = (
        ("scenario", 44),
        ("sent", 6),
        ("tasks", 6),
        ("lost", 4),
        ("dup", 4),
        ("fmt!", 4),
        ("dlq", 5),
        ("retry", 5),
        ("pause", 5),
        ("kills", 5),
        ("crash", 5),
        ("calls", 6),
        ("secs", 5),
    )

    def _cells(self) -> list[str]:
        def opt(value: int | None) -> str:
            return "-" if value is None else str(value)

        return [
            self.scenario.removeprefix("test_")[:44],
            str(self.events_sent),
            str(self.tasks_written),
            str(self.lost),
            str(self.duplicated),
            str(self.misformatted),
            str(self.dead_letters),
            opt(self.retries),
            opt(self.pauses),
            str(self.kills),
            str(self.crashes),
            str(self.api_calls),
            f"{self.seconds:.0f}",
        ]

    @staticmethod
    def table(rows: Iterable[ScenarioCounts]) -> list[str]:
        cols = ScenarioCounts._COLUMNS
        lines = [
            " ".join(
                name.rjust(w) if i else name.ljust(w)
                for i, (name, w) in enumerate(cols)
            )
        ]
        for row in rows:
            cells = row._cells()
            lines.append(
                " ".join(
                    c.rjust(w) if i else c.ljust(w)
                    for i, (c, (_, w)) in enumerate(zip(cells, cols, strict=True))
                )
            )
            injected = sorted(row.faults_injected.items())
            faults = ", ".join(f"{k} {v}" for k, v in injected)
            lines.append(f"    faults injected: {faults or 'none'}")
            if row.extra:
                extra = ", ".join(f"{k}={v}" for k, v in row.extra.items())
                lines.append(f"    {extra}")
        return lines
