"""A daily API limit that runs out mid-run: the writer waits quietly, then finishes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.reliability.checker import OrgRequests, ScenarioCounts
from tests.reliability.conftest import FULL, Sizes
from tests.reliability.pipeline import Pipeline
from tests.reliability.scenario import (
    CI_ENV,
    finish,
    reasons,
    settle,
    task_count,
    wait_for_tasks,
)
from tests.reliability.traffic import Publisher, activity_events
from tests.waiting import wait_until

EXHAUSTED_SECONDS = 30.0 if FULL else 10.0
# The governor probes an exhausted org every SALESFORCE_API_PROBE_SECONDS (default
# 60 s); a short probe keeps the test short and still tells waiting from spinning.
PROBE_SECONDS = 3
# Requests an exhausted org may see per second of waiting: probes, not a busy loop.
MAX_REQUESTS_PER_SECOND = 1.0
RAISED_LIMIT = 5_000_000


@pytest.mark.timeout(900 if FULL else 300)
def test_writer_pauses_while_the_daily_limit_is_spent_and_finishes_after_it_is_raised(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
    org_requests: OrgRequests,
    sizes: Sizes,
    report: Callable[[ScenarioCounts], None],
) -> None:
    started = time.monotonic()
    n = sizes.events // 2
    events = activity_events(people, n, seed=31)
    first, second = events[: n // 2], events[n // 2 :]
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org) | CI_ENV
    pipeline = Pipeline(
        processes, env | {"SALESFORCE_API_PROBE_SECONDS": str(PROBE_SECONDS)}
    )
    pipeline.start_all()
    publisher = Publisher(kafka_settings)
    for schema, event in first:
        publisher.send_event(schema, event)
    publisher.flush()
    assert wait_for_tasks(admin, pipeline, len(first), 180), pipeline.crash_report()

    # The org's limit runs out: it is set to what has been used so far.
    admin.set_limit(daily_api_limit=admin.api_calls())
    for schema, event in second:
        publisher.send_event(schema, event)
    publisher.flush()
    wait_until(
        lambda: pipeline.watch() and org_requests.refused > 0,
        60,
        what="the writer to run into the spent limit",
    )
    calls_before, requests_before = admin.api_calls(), org_requests.total
    tasks_before, hold_started = task_count(admin), time.monotonic()
    wait_until(
        lambda: (
            pipeline.watch() and time.monotonic() - hold_started >= EXHAUSTED_SECONDS
        ),
        EXHAUSTED_SECONDS + 30,
        what="the exhausted window to pass",
    )
    held = time.monotonic() - hold_started
    requests_while_spent = org_requests.total - requests_before
    calls_while_spent = admin.api_calls() - calls_before
    tasks_while_spent = task_count(admin) - tasks_before
    crashes_while_spent = len(pipeline.crashes)

    admin.set_limit(daily_api_limit=RAISED_LIMIT)
    raised_at = time.monotonic()
    complete = wait_for_tasks(admin, pipeline, n, 120 + PROBE_SECONDS * 10)
    resumed_after = time.monotonic() - raised_at
    if complete:
        settle(admin, pipeline)
    counts, audit, dlq, exit_codes = finish(
        admin, pipeline, kafka_settings, events, sizes.sample, started, report
    )
    counts.extra |= {
        "requests_while_spent": requests_while_spent,
        "refused_total": org_requests.refused,
        "spent_seconds": round(held, 1),
        "finished_after_raise_s": round(resumed_after, 1),
    }

    assert crashes_while_spent == 0, pipeline.crash_report()
    assert requests_while_spent <= MAX_REQUESTS_PER_SECOND * held + 5, (
        f"{requests_while_spent} requests in {held:.0f}s against a spent limit"
    )
    assert calls_while_spent <= 2 and tasks_while_spent == 0
    assert not audit.lost and not audit.duplicated, audit.summary()
    assert not audit.mismatched and not audit.unexpected, audit.summary()
    assert not dlq, f"dead letters: {reasons(dlq)}"
    assert not pipeline.crashes, pipeline.crash_report()
    assert set(exit_codes.values()) == {0}, exit_codes
