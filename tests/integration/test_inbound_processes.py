"""Inbound processes for real: live settings; a killed worker keeps Engage's copy."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from connectors.salesforce.cursor import CursorStore
from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import REPO, Processes, kafka_env, salesforce_env
from tests.inbound_harness import by_salesforce_id, engage_copy
from tests.waiting import wait_until

V1 = """
objects:
  Lead:
    sync: true
    poll_interval: 10s
    rules: {any: [{field: Title, op: contains, value: Sales}]}
"""
V2 = V1.replace("value: Sales", "value: Engineer")
INVALID = V1.replace("op: contains", "op: bigger")


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_argv(*args),
        env=os.environ | env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )


def _linked(kafka: KafkaSettings) -> dict[str, dict[str, Any]]:
    return by_salesforce_id(engage_copy(kafka))


@pytest.mark.tansu  # a restarted worker rebuilds state from compacted topics
def test_settings_follow_live_and_a_restarted_worker_keeps_engage_copy(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    processes: Processes,
    tmp_path: Path,
) -> None:
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    v1 = tmp_path / "v1.yaml"
    v1.write_text(V1)
    applied = _cli(env, "settings", "apply", str(v1))
    assert applied.returncode == 0, applied.stderr
    processes.start("poller", env)
    worker = processes.start("worker", env, name="worker-1")

    def cursor_exists() -> bool:
        return CursorStore(kafka_settings).load().get("incremental", "Lead") is not None

    wait_until(cursor_exists, 60, what="the poller's first cursor")
    sales, eng = admin.put_records(
        "Lead",
        [{"LastName": "Seller", "Company": "A", "Title": "Sales Manager"},
         {"LastName": "Builder", "Company": "B", "Title": "Engineer"}],
    )["ids"]
    wait_until(
        lambda: sales in _linked(kafka_settings), 90, what="the Sales lead in Engage"
    )
    assert eng not in _linked(kafka_settings)

    v2 = tmp_path / "v2.yaml"
    v2.write_text(V2)
    assert _cli(env, "settings", "apply", str(v2)).returncode == 0
    sales2, eng2, eng3 = admin.put_records(
        "Lead",
        [{"LastName": "Seller2", "Company": "A", "Title": "Sales Rep"},
         {"LastName": "Builder2", "Company": "B", "Title": "Engineer II"},
         {"LastName": "Builder3", "Company": "C", "Title": "Engineer III"}],
    )["ids"]
    wait_until(
        lambda: {eng2, eng3} <= set(_linked(kafka_settings)),
        90,
        what="the new rule to apply",
    )
    assert sales2 not in _linked(kafka_settings)

    bad = tmp_path / "bad.yaml"
    bad.write_text(INVALID)
    refused = _cli(env, "settings", "apply", str(bad))
    assert refused.returncode == 1
    assert "objects.Lead.rules.any[0].op" in refused.stderr
    shown = _cli(env, "settings", "show")
    assert shown.returncode == 0 and "Engineer" in shown.stdout

    before = engage_copy(kafka_settings)
    processes.kill9(worker)
    processes.start("worker", env, name="worker-2")
    # Our Task writes bump SystemModstamp: a worker that lost its state would re-create
    # these contacts; one that rebuilt it emits nothing.
    client_env = salesforce_env(sandbox_org)
    from connectors.salesforce.client import SalesforceClient
    from ground.settings import SalesforceSettings

    client = SalesforceClient(SalesforceSettings(**client_env)).connect()
    client.upsert_collection(
        "Task", "Engage_Activity_Id__c",
        [
            {"Subject": "x", "WhoId": sid, "Engage_Activity_Id__c": f"r-{sid}"}
            for sid in (eng2, eng3)
        ],
    )
    admin.put_records("Lead", [{"Id": eng2, "LastName": "Builder2-renamed"}])
    wait_until(
        lambda: _linked(kafka_settings)[eng2]["last_name"] == "Builder2-renamed",
        90, what="the rename after restart",
    )
    after = engage_copy(kafka_settings)
    assert set(after) == set(before)
    for ecid, contact in before.items():
        assert after[ecid]["salesforce_id"] == contact["salesforce_id"]
    # Bumped by our Task but unchanged: not re-emitted (same updated_at); state kept.
    assert after[f"sf-{eng3}"] == before[f"sf-{eng3}"]
