"""Every long-running process serves /metrics and /healthz with plausible values."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from connectors.kafka.clients import AckingProducer
from connectors.kafka.embedded import free_port
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import REPO, Processes, kafka_env, salesforce_env
from tests.factories import call_event, contact_ref
from tests.waiting import wait_until

SETTINGS = """
objects:
  Lead:
    sync: true
    poll_interval: 10s
    rules: {any: [{field: Title, op: contains, value: Sales}]}
"""
CONTRACT = REPO / "deploy" / "metrics-contract.txt"


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def _samples(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, text = _get(port, "/metrics")
    assert status == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    want = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and want <= set(ls)]
    return sum(found) if found else None


def poller_used(samples: dict[Any, float]) -> float:
    return _value(samples, "engage_sync_salesforce_api_used") or 0.0


def _names(samples: dict[Any, float]) -> set[str]:
    return {name for name, _ in samples}


def _contract() -> set[str]:
    return {
        line.split()[0].split("{")[0]
        for line in CONTRACT.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }


def test_worker_writer_and_poller_export_the_contract_metrics_with_real_values(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes,
    tmp_path: Path,
) -> None:
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    settings_file = tmp_path / "crm.yaml"
    settings_file.write_text(SETTINGS)
    applied = subprocess.run(
        cli_argv("settings", "apply", str(settings_file)),
        env=os.environ | env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert applied.returncode == 0, applied.stderr
    ports = {role: free_port() for role in ("worker", "writer", "poller")}
    for role, port in ports.items():
        processes.start(role, env | {"METRICS_PORT": str(port)}, name=role)
    for role, port in ports.items():
        wait_until(lambda p=port: _get(p, "/healthz")[0] == 200, 90,
                   what=f"{role} /healthz")
    health = json.loads(_get(ports["writer"], "/healthz")[1])
    assert health["status"] == "ok" and health["budget_paused"] is None

    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.put_records("Lead", [{"LastName": "Seller", "Company": "A",
                                "Title": "Sales Lead"}])
    people = [r["Id"] for r in admin.records("Lead")]
    topics, serde = Topics(kafka_settings), Serde()
    producer = AckingProducer(kafka_settings)
    n = 30
    for i in range(n):
        ev = call_event(event_id=f"m-{i}", contact=contact_ref(
            engage_contact_id="ec-1", salesforce_id=people[0]))
        producer.produce(topics.calls.name, serde.encode("CallLogged", ev), b"k")
    producer.produce(topics.calls.name, b"\x00not avro", b"bad")
    producer.flush()

    wait_until(
        lambda: (_value(_samples(ports["writer"]), "engage_sync_tasks_written_total")
                 or 0) >= n,
        120, what="30 Tasks counted by the writer",
    )
    # A batch's Tasks are counted as its results are published; its size and time
    # only once it is committed, a moment later: wait for that too.
    wait_until(
        lambda: _value(_samples(ports["writer"]), "engage_sync_writer_batch_size_sum")
        == n + 1,
        60, what="the writer's batches to be committed and measured",
    )
    writer = _samples(ports["writer"])
    assert _value(writer, "engage_sync_tasks_written_total") == n
    assert admin.stats()["records"]["Task"] == n
    assert (_value(writer, "engage_sync_salesforce_api_calls_total",
                   process="writer") or 0) >= 2  # describe + at least one write
    used = _value(writer, "engage_sync_salesforce_api_used")
    limit = _value(writer, "engage_sync_salesforce_api_limit")
    remaining = _value(writer, "engage_sync_salesforce_api_remaining")
    assert used and limit and remaining is not None
    assert used + remaining == limit and used <= admin.api_calls()
    assert (_value(writer, "engage_sync_writer_batch_size_count") or 0) >= 1
    # 30 Task upserts + 1 request to copy the (uncopied) contact into Engage.
    assert _value(writer, "engage_sync_writer_batch_size_sum") == n + 1
    assert (_value(writer, "engage_sync_writer_batch_seconds_count") or 0) >= 1
    group = f"{kafka_settings.group_prefix}.writer"
    wait_until(
        lambda: _value(_samples(ports["writer"]), "kafka_consumergroup_lag_sum",
                       consumergroup=group) == 0,
        60, what="the writer's lag to read 0",
    )

    worker = _samples(ports["worker"])
    assert _value(worker, "engage_sync_events_in_total",
                  topic=topics.calls.name) == n + 1
    assert _value(worker, "engage_sync_commands_out_total") == n
    assert _value(worker, "engage_sync_dead_letters_total",
                  reason="undecodable") == 1

    # The first poll only places the cursor; the next one (10 s later) queries.
    wait_until(
        lambda: (_value(_samples(ports["poller"]),
                        "engage_sync_salesforce_api_calls_total",
                        process="poller") or 0) >= 1,
        60, what="the poller's first query",
    )
    poller = _samples(ports["poller"])
    age = _value(poller, "engage_sync_poll_cursor_age_seconds", object="Lead")
    assert age is not None and 0 <= age < 3600
    assert poller_used(poller) > 0

    exported = _names(writer) | _names(worker) | _names(poller)
    families = {
        n.removesuffix("_total").removesuffix("_count").removesuffix("_sum")
        .removesuffix("_bucket")
        for n in exported
    }
    missing = {
        m for m in _contract()
        if m not in exported and m.removesuffix("_total") not in families
    }
    # Counters of events that did not happen here (a pause, a refusal, a retry)
    # appear with their first event; everything else must be there.
    assert missing <= {"engage_sync_budget_pauses_total",
                       "engage_sync_budget_rechecks_total",
                       "engage_sync_salesforce_rejected_total",
                       "engage_sync_writer_retries_total"}, missing
    assert _value(writer, "engage_sync_budget_paused", process="writer") == 0


def test_the_sandbox_process_serves_its_org_figures(
    processes: Processes, tmp_path: Path
) -> None:
    port, org_port = free_port(), free_port()
    processes.start("sandbox", {
        "METRICS_PORT": str(port), "SANDBOX_PORT": str(org_port),
        "SANDBOX_DATA_DIR": str(tmp_path / "org"),
        "SANDBOX_DAILY_API_LIMIT": "12345",
    })
    wait_until(lambda: _get(port, "/healthz")[0] == 200, 60, what="sandbox /healthz")
    samples = _samples(port)
    assert _value(samples, "engage_sync_sandbox_api_limit") == 12345
    assert _value(samples, "engage_sync_sandbox_api_used") == 0
    assert _value(samples, "engage_sync_sandbox_records", object="Task") == 0
    assert _get(port, "/nope")[0] == 404
