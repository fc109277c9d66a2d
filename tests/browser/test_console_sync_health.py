"""Sync health in a real browser: a Task the org's validation rule refused shows
with Salesforce's message; the admin fixes the rule in the sandbox, resubmits it,
and the page shows "resubmitted, written"; the Task is in the org once."""

from __future__ import annotations

from typing import Any

from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.browser import drive_sync_health as health
from tests.browser.test_console_connection import (  # noqa: F401 - the fixture
    TIMEOUT_MS,
    _log_in,
    console_url,
)
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.integration.test_console_sync_health import _send
from tests.integration.test_dlq_cli import BLOCKED, REASON, RULE, _task_command


def test_a_refused_task_is_fixed_resubmitted_and_shown_written(
    page: Any,
    console_url: tuple[str, str],  # noqa: F811 - the imported fixture
    sandbox_org: Any,
    kafka_settings: KafkaSettings,
    processes: Processes,
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    who = admin.put_records("Contact", [{"LastName": "Browser"}])["ids"][0]
    admin.set_rules(validation_rules=[RULE])
    processes.start("writer", kafka_env(kafka_settings) | salesforce_env(sandbox_org))
    command = _task_command(BLOCKED, who)
    _send(
        kafka_settings, Topics(kafka_settings).commands.name, "SalesforceCommand",
        [(who, command)],
    )  # fmt: skip
    url, password = console_url
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}/sync-health")
    _log_in(page, url, password)
    page.wait_for_url(f"{url}/sync-health")

    letter = health.wait_for_letter(page, url, REASON, command["command_id"])
    assert "This subject is blocked" in health.message_of(page, letter)
    admin.set_rules()  # the admin fixes the rule in the org
    assert "Resubmitted 1 dead letter(s)" in health.resubmit_letter(page, letter)
    state = health.wait_for_outcome(page, url, REASON, letter)
    assert "resubmitted, written" in state and "by admin" in state
    tasks = [t for t in admin.records("Task")
             if t["Engage_Activity_Id__c"] == command["command_id"]]  # fmt: skip
    assert len(tasks) == 1
