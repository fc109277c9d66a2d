"""Activities under Salesforce faults and a token expiry: none lost, none doubled."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.reliability.checker import ScenarioCounts
from tests.reliability.conftest import FULL, Sizes
from tests.reliability.pipeline import Pipeline
from tests.reliability.scenario import (
    CI_ENV,
    FAULT_RATES,
    fault_plan,
    finish,
    reasons,
    record_counts,
    settle,
    wait_for_tasks,
)
from tests.reliability.traffic import PacedPublisher, activity_events
from tests.waiting import wait_until


@pytest.mark.timeout(1500 if FULL else 300)
def test_activities_under_lock_503_dropped_connections_and_token_expiry_are_each_written_once(  # noqa: E501
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
    sizes: Sizes,
    report: Callable[[ScenarioCounts], None],
) -> None:
    started = time.monotonic()
    n = sizes.events
    events = activity_events(people, n, seed=11)
    people_before = record_counts(admin)
    admin.set_faults(fault_plan(seed=11))  # in force before anything connects
    pipeline = Pipeline(
        processes, kafka_env(kafka_settings) | salesforce_env(sandbox_org) | CI_ENV
    )
    pipeline.start_all()
    publisher = PacedPublisher(kafka_settings, events, sizes.rate)
    publisher.start()
    deadline = 120 + n / 20

    assert wait_for_tasks(admin, pipeline, n // 3, deadline), pipeline.crash_report()
    # Mid-run: each request fault once for sure, and every access token expires.
    admin.set_faults(fault_plan(seed=12, guaranteed=True))
    expired = admin.expire_tokens()
    complete = wait_for_tasks(admin, pipeline, n, deadline)
    wait_until(publisher.finished, 60, what="the publisher to finish")
    if complete:
        settle(admin, pipeline)
    counts, audit, dlq, exit_codes = finish(
        admin, pipeline, kafka_settings, events, sizes.sample, started, report
    )
    counts.extra["tokens_expired"] = expired

    assert not audit.lost and not audit.duplicated, audit.summary()
    assert not audit.mismatched and not audit.unexpected, audit.summary()
    assert not dlq, f"retriable faults were dead-lettered: {reasons(dlq)}"
    assert record_counts(admin) == people_before, "a Lead/Contact/Account was created"
    assert not pipeline.crashes, pipeline.crash_report()
    assert set(exit_codes.values()) == {0}, exit_codes
    # The run really went through every fault the plan names.
    assert expired >= 1
    injected = counts.faults_injected
    assert all(injected.get(name, 0) >= 1 for name in FAULT_RATES), injected
