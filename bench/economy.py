"""API economy figures: calls per 1,000 Tasks steady and under faults, governor cost."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench import activity, pipeline
from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from sandbox.admin import SandboxAdmin

# The fault plan of issue 5's suite: per-record lock errors, per-request 503s, drops.
FAULT_PLAN = {
    "seed": 7,
    "rates": {
        "UNABLE_TO_LOCK_ROW": 0.10,
        "SERVER_UNAVAILABLE": 0.05,
        "DROP_AFTER_WRITE": 0.01,
    },
}
# The governor can never block: it is consulted, but with the whole limit ours.
GOVERNOR_IDLE = {
    "SALESFORCE_API_BUDGET_SHARE": "1.0",
    "SALESFORCE_API_ORG_RESERVE": "0",
}


def _tasks(admin: SandboxAdmin) -> int:
    return int(admin.stats()["records"].get("Task", 0))


WARM_UP = 500


def publish(ns: Any, people: list[str], count: int, tag: str) -> None:
    serde, producer, topic = Serde(), AckingProducer(ns), Topics(ns).calls.name
    for ev in pipeline.calls(people, count, tag):
        producer.produce(
            topic,
            serde.encode("CallLogged", ev),
            ev["contact"]["engage_contact_id"].encode(),
        )
    producer.flush()


def warm_up(ns: Any, admin: SandboxAdmin, people: list[str]) -> None:
    """Past group joins and first copies of contacts: the first activity of a contact
    Engage has not copied yet also asks for its copy (one read per batch)."""
    target = _tasks(admin) + WARM_UP
    publish(ns, people, WARM_UP, f"warm{time.monotonic_ns()}")
    _settle(admin, target)


def _settle(admin: SandboxAdmin, tasks: int, quiet: float = 2.0) -> None:
    """Until `tasks` exist and the org saw no API call for `quiet` seconds."""
    deadline = time.monotonic() + 300
    last, since = admin.api_calls(), time.monotonic()
    while _tasks(admin) < tasks or time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise RuntimeError("warm-up did not settle")
        time.sleep(0.2)
        now = admin.api_calls()
        if now != last:
            last, since = now, time.monotonic()


def _steady(samples: list[tuple[int, int]], n: int) -> float:
    """Calls per 1,000 Tasks between 20% and 80% written: no ramp-up, no tail."""
    lo = next(s for s in samples if s[0] >= 0.2 * n)
    hi = [s for s in samples if s[0] <= 0.8 * n][-1]
    if hi[0] <= lo[0]:
        return float("nan")
    return (hi[1] - lo[1]) * 1000 / (hi[0] - lo[0])


def run(
    bootstrap: str,
    org: Any,
    admin: SandboxAdmin,
    people: list[str],
    logs: Path,
    n: int,
    env: dict[str, str] | None = None,
    faults: dict[str, Any] | None = None,
) -> dict[str, float]:
    """A fresh worker+writer; n events at once; API calls and time until all written."""
    ns = activity.namespace(bootstrap)
    pipe = pipeline.Pipeline(ns, org, logs, extra_env=env).start()
    try:
        deadline = time.monotonic() + 120
        calls_at_start = admin.api_calls()
        while admin.api_calls() <= calls_at_start and time.monotonic() < deadline:
            time.sleep(0.2)  # the writer's start-up describe
        warm_up(ns, admin, people)
        admin.set_faults(faults or {})
        before_calls, before_tasks = admin.api_calls(), _tasks(admin)
        started = time.monotonic()
        publish(ns, people, n, f"eco{time.monotonic_ns()}")
        deadline = time.monotonic() + 900
        samples: list[tuple[int, int]] = []  # (Tasks written, API calls) over time
        while not samples or samples[-1][0] < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{samples[-1][0]}/{n} Tasks in time")
            stats = admin.stats()
            samples.append(
                (
                    stats["records"].get("Task", 0) - before_tasks,
                    stats["api_calls"] - before_calls,
                )
            )
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        used = samples[-1][1]
        injected = admin.stats()["faults_injected"]
    finally:
        admin.clear_faults()
        pipe.stop()
    return {
        "tasks": n,
        "api_calls": used,
        "per_1000": used * 1000 / n,
        "steady_per_1000": _steady(samples, n),
        "tasks_per_s": n / elapsed,
        "injected": sum(injected.values()),
    }


def idle_poll(bootstrap: str, org: Any, settings_file: str) -> dict[str, int]:
    """API calls of a poll that finds no changes, per object, by the org's counter.

    Two polls come first: one sets the cursor at now, one reads the describe.
    """
    from connectors.salesforce.client import SalesforceClient
    from connectors.salesforce.cursor import CursorStore
    from connectors.salesforce.poller import IncrementalPoller
    from engage_sync.settings import SalesforceSettings
    from streams.settings.document import parse_document
    from tests.conftest import salesforce_env

    ns = activity.namespace(bootstrap)
    client = SalesforceClient(SalesforceSettings(**salesforce_env(org))).connect()
    poller = IncrementalPoller(ns, client, CursorStore(ns).load())
    crm = parse_document(Path(settings_file).read_text())
    calls: dict[str, int] = {}
    for obj in crm.objects:
        poller.poll(obj, crm)
        poller.poll(obj, crm)
        before = org.api_calls_used()
        poller.poll(obj, crm)
        calls[obj] = org.api_calls_used() - before
    return calls
