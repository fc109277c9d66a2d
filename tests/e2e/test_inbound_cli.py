"""Inbound CLI: poll-history's dry run, refusal and backfill, and `contacts show`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import REPO, kafka_env, salesforce_env

RULES = """
objects:
  Lead:
    sync: true
    rules: {any: [{field: Title, op: contains, value: Sales}]}
  Contact: {sync: true}
"""


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_argv(*args),
        env=os.environ | env, cwd=REPO, capture_output=True, text=True, timeout=180,
    )


def test_poll_history_prices_refuses_and_backfills_then_contacts_show_finds_one(
    kafka_settings: KafkaSettings, sandbox_org: Any, tmp_path: Path
) -> None:
    from tests.inbound_harness import InboundHarness

    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.put_records(
        "Lead",
        [
            {
                "LastName": "Vance",
                "FirstName": "Ada",
                "Company": "Acme",
                "Title": "Sales VP",
                "Email": "Ada.Vance@Example.org",
            },
            {"LastName": "Other", "Company": "Acme", "Title": "CTO"},
        ],
    )
    settings = tmp_path / "crm.yaml"
    settings.write_text(RULES)
    assert _cli(env, "settings", "apply", str(settings)).returncode == 0

    dry = _cli(env, "poll-history", "--object", "Lead", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "1 Lead record(s) match the sync rules" in dry.stdout
    assert "API call" in dry.stdout
    refused = _cli(env, "poll-history", "--object", "Contact")
    assert refused.returncode == 1 and "--all" in refused.stderr

    done = _cli(env, "poll-history", "--object", "Lead")
    assert done.returncode == 0, done.stderr
    assert "published 1 Lead record(s)" in done.stdout

    harness = InboundHarness(kafka_settings, sandbox_org, RULES)
    try:
        harness.pump(1)
    finally:
        harness.close()
    shown = _cli(env, "contacts", "show", "ada.vance@example.org")
    assert shown.returncode == 0, shown.stderr
    contact = json.loads(shown.stdout)
    assert (contact["first_name"], contact["last_name"]) == ("Ada", "Vance")
    assert contact["salesforce_object"] == "Lead"
    missing = _cli(env, "contacts", "show", "nobody@example.org")
    assert missing.returncode == 1
