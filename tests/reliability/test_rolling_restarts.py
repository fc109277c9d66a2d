"""Rolling restarts: worker and writer SIGTERM-restarted under steady calls lose and
double nothing, and each stops within its deadline."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.factories import call_event, contact_ref
from tests.reliability.checker import ScenarioCounts
from tests.reliability.pipeline import Pipeline
from tests.reliability.scenario import (
    CI_ENV,
    finish,
    reasons,
    settle,
    task_count,
    wait_for_tasks,
)
from tests.reliability.traffic import Event, PacedPublisher
from tests.waiting import wait_until

SECONDS, RATE = 60, 40.0  # steady calls for about a minute
WORKER_EVERY = 5  # seconds of traffic between worker restarts
WRITER_AT = (0.35, 0.7)  # fractions of the traffic at which the writer restarts
# Kubernetes' default terminationGracePeriodSeconds: SIGKILL follows after it.
STOP_DEADLINE = 30.0


def _calls(people: list[str], n: int) -> list[Event]:
    return [
        (
            "CallLogged",
            call_event(
                event_id=f"roll-{i}",
                contact=contact_ref(
                    engage_contact_id=f"ec-{i % 60}",
                    salesforce_id=people[i % len(people)],
                ),
                comments=f"call {i}",
            ),
        )
        for i in range(n)
    ]


@pytest.mark.timeout(420)
def test_rolling_sigterm_restarts_of_worker_and_writer_write_each_call_once(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    admin: SandboxAdmin,
    people: list[str],
    processes: Processes,
    report: Callable[[ScenarioCounts], None],
) -> None:
    started = time.monotonic()
    n = int(SECONDS * RATE)
    events = _calls(people, n)
    pipeline = Pipeline(
        processes, kafka_env(kafka_settings) | salesforce_env(sandbox_org) | CI_ENV
    )
    pipeline.start_all()
    publisher = PacedPublisher(kafka_settings, events, RATE)
    publisher.start()

    # Restart points, as counts of calls published: time-paced by the publisher.
    moments = range(WORKER_EVERY, SECONDS, WORKER_EVERY)
    plan = [(int(RATE * s), "worker") for s in moments]
    plan += [(int(n * f), "writer") for f in WRITER_AT]
    written = 0
    for mark, role in sorted(plan):
        # ...and only once Tasks were written since the last restart (or all calls
        # sent so far are): each process is stopped working, not while starting.
        wait_until(
            lambda m=mark, w=written: (
                pipeline.watch()
                and publisher.sent >= m
                and task_count(admin) > min(w, publisher.sent - 1)
            ),
            SECONDS * 3,
            interval=0.1,
            what=f"{mark} calls published and Tasks written past {written}",
        )
        pipeline.sigterm_and_restart(role, within=STOP_DEADLINE)
        written = task_count(admin)
    wait_until(publisher.finished, 120, what="the publisher to finish")
    if wait_for_tasks(admin, pipeline, n, 180):
        settle(admin, pipeline)
    counts, audit, dlq, exit_codes = finish(
        admin, pipeline, kafka_settings, events, n, started, report
    )
    counts.extra["restarts_by_role"] = dict(pipeline.restarts)

    assert not audit.lost and not audit.duplicated, audit.summary()
    assert not audit.mismatched and not audit.unexpected, audit.summary()
    assert not dlq, f"dead letters in a run without bad input: {reasons(dlq)}"
    assert dict(pipeline.restarts) == {"worker": 11, "writer": 2}, pipeline.restarts
    assert not pipeline.crashes, pipeline.crash_report()
    # Stopped on SIGTERM within the deadline (Pipeline.stop SIGKILLs after 30 s: -9),
    # cleanly (0), or, for a process still starting, before it had installed its
    # handler (-15: it had done nothing yet).
    stopped = {0, -signal.SIGTERM}
    assert set(exit_codes.values()) <= stopped, exit_codes
    assert set(pipeline.exit_codes.values()) <= stopped, pipeline.exit_codes
