"""Writer and worker kill -9'd at random moments under faults: none lost or doubled."""

from __future__ import annotations

import random
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
    fault_plan,
    finish,
    reasons,
    record_counts,
    settle,
    task_count,
    wait_for_tasks,
)
from tests.reliability.traffic import PacedPublisher, activity_events
from tests.waiting import wait_until

# Roughly how long one kill holds work up here: the dead member's session (6 s) for
# the writer, a Faust start for the worker (its partitions wait for the session too).
WRITER_KILL_SECONDS, WORKER_KILL_SECONDS = 5, 10


@pytest.mark.timeout(2400 if FULL else 420)
def test_writer_and_worker_killed_at_random_moments_lose_and_double_nothing(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
    sizes: Sizes,
    report: Callable[[ScenarioCounts], None],
) -> None:
    started = time.monotonic()
    n, rng = sizes.events, random.Random(21)
    events = activity_events(people, n, seed=21)
    people_before = record_counts(admin)
    admin.set_faults(fault_plan(seed=21))
    roles = ["writer"] * sizes.writer_kills + ["worker"] * sizes.worker_kills
    rng.shuffle(roles)
    # Random moments, as Task counts: the pipeline is mid-run at each of them.
    moments = sorted(rng.sample(range(n // 10, n * 85 // 100), len(roles)))
    # Publish slowly enough that events are still arriving at the last kill, so the
    # worker always has input in flight when it dies.
    span = 5 + WRITER_KILL_SECONDS * sizes.writer_kills
    span += WORKER_KILL_SECONDS * sizes.worker_kills
    pipeline = Pipeline(
        processes, kafka_env(kafka_settings) | salesforce_env(sandbox_org) | CI_ENV
    )
    pipeline.start_all()
    publisher = PacedPublisher(kafka_settings, events, max(20.0, n / span))
    publisher.start()
    deadline = 120 + n / 20
    kill_points: list[str] = []

    # Each request fault once for sure, queued just before the writer restart nearest
    # mid-run: a writer starting into a flaky org.
    writer_kills = [i for i, role in enumerate(roles) if role == "writer"]
    flaky_start = min(writer_kills, key=lambda i: abs(i - len(roles) // 2))

    def flaky_org() -> None:
        admin.set_faults(fault_plan(seed=22, guaranteed=True))

    last = 0
    for i, (role, moment) in enumerate(zip(roles, moments, strict=True)):
        # After some progress since the last kill, so a new process is never killed
        # before it did anything.
        target = min(n, max(moment, last + 1))
        assert wait_for_tasks(admin, pipeline, target, deadline), (
            f"stuck before kill {i + 1}: {pipeline.crash_report()}"
        )
        pipeline.kill9_and_restart(role, flaky_org if i == flaky_start else None)
        last = task_count(admin)
        kill_points.append(f"{role}@{last}/{publisher.sent}")
    # The plan's one token expiry, while the last writer is running, before the end.
    wait_for_tasks(admin, pipeline, (moments[-1] + n) // 2, deadline)
    counts_extra = {"tokens_expired": admin.expire_tokens()}
    complete = wait_for_tasks(admin, pipeline, n, deadline)
    wait_until(publisher.finished, 60, what="the publisher to finish")
    if complete:
        settle(admin, pipeline)
    counts, audit, dlq, exit_codes = finish(
        admin, pipeline, kafka_settings, events, sizes.sample, started, report
    )
    counts.extra["kills_at_tasks/published"] = " ".join(kill_points)
    counts.extra |= counts_extra

    assert not audit.lost and not audit.duplicated, audit.summary()
    assert not audit.mismatched and not audit.unexpected, audit.summary()
    assert not dlq, f"dead letters in a run without bad input: {reasons(dlq)}"
    assert record_counts(admin) == people_before, "a Lead/Contact/Account was created"
    assert dict(pipeline.kills) == {r: roles.count(r) for r in set(roles)}, (
        pipeline.kills
    )
    assert not pipeline.crashes, pipeline.crash_report()
    assert set(exit_codes.values()) == {0}, exit_codes
