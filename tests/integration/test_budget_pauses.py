"""A spent API share pauses the writer, visibly; a raised limit resumes it."""

from __future__ import annotations

import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from connectors.kafka.clients import AckingProducer
from connectors.kafka.embedded import free_port
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from connectors.salesforce.usage import UsageLedger
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import Processes, healthz, kafka_env, salesforce_env
from tests.factories import call_event, contact_ref
from tests.waiting import wait_until


def _metric(port: int, name: str, **labels: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as r:
        text = r.read().decode()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                return float(s.value)
    return None


def test_a_spent_share_pauses_the_writer_visibly_and_a_raised_limit_resumes_it(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    (person,) = admin.put_records("Contact", [{"LastName": "Budget"}])["ids"]
    # 200 calls a day, 5% ours: 10 calls, then Task writes must wait.
    admin.set_limit(daily_api_limit=200)
    port = free_port()
    env = (
        kafka_env(kafka_settings)
        | salesforce_env(sandbox_org)
        | {
            "SALESFORCE_API_BUDGET_SHARE": "0.05",
            "SALESFORCE_API_PROBE_SECONDS": "1",
            "WRITER_BATCH_SIZE": "5",
            "WRITER_LINGER_MS": "10",
            "METRICS_PORT": str(port),
        }
    )
    processes.start("worker", env | {"METRICS_PORT": "0"})
    processes.start("writer", env)
    producer, serde = AckingProducer(kafka_settings), Serde()
    n = 200
    for i in range(n):
        ev = call_event(
            event_id=f"b-{i}",
            contact=contact_ref(engage_contact_id="ec-b", salesforce_id=person),
        )
        producer.produce(
            Topics(kafka_settings).calls.name, serde.encode("CallLogged", ev), b"ec-b"
        )
    producer.flush()

    wait_until(
        lambda: healthz(port).get("budget_paused") == "share",
        90,
        what="the writer to pause for its share",
    )
    assert _metric(port, "engage_sync_budget_paused", process="writer") == 1
    held = admin.stats()["records"].get("Task", 0)
    assert 0 < held < n

    # Paused: nothing more is written while the writer re-checks its budget 3 times
    # (the rechecks prove it got past the point where it would have written).
    def rechecks() -> float:
        found = _metric(port, "engage_sync_budget_rechecks_total", process="writer")
        return found or 0.0

    checks = rechecks()
    wait_until(
        lambda: rechecks() >= checks + 3,
        30,
        what="three budget rechecks while paused",
    )
    assert admin.stats()["records"].get("Task", 0) == held

    admin.set_limit(daily_api_limit=1_000_000)
    wait_until(
        lambda: admin.stats()["records"].get("Task", 0) == n,
        90,
        what="every Task after the limit was raised",
    )
    wait_until(
        lambda: _metric(port, "engage_sync_budget_paused", process="writer") == 0,
        30,
        what="the pause gauge back at 0",
    )
    assert (
        _metric(
            port, "engage_sync_budget_pauses_total", process="writer", reason="share"
        )
        == 1
    )
    assert healthz(port)["budget_paused"] is None


def test_every_process_sees_the_calls_of_the_others(
    kafka_settings: KafkaSettings,
) -> None:
    writer = UsageLedger(kafka_settings, "writer").start()
    poller = UsageLedger(kafka_settings, "poller").start()
    try:
        writer.add(7)
        writer.publish(wait=True)
        poller.add(3)
        poller.publish(wait=True)
        wait_until(lambda: poller.total() == 10, 30, what="the poller to see 7 + 3")
        wait_until(lambda: writer.total() == 10, 30, what="the writer to see 3 + 7")
        late = UsageLedger(kafka_settings, "backfill").start()
        try:
            assert late.total() == 10  # a new process starts from everyone's count
        finally:
            late.stop()
    finally:
        writer.stop()
        poller.stop()
