"""The issue's one walk through the console, in a real browser, against the
sandbox org and a real broker with a worker and a writer running:

log in → write the guide's rule (Title contains Sales OR Annual Revenue >
1,000,000) → preview the count → map a field with a default → turn Lead sync
on → new contacts become Leads → Poll Historical Data to completion → the
matching Leads are in Engage's copy → a Task refused by a validation rule
appears in Sync health with Salesforce's message → the admin fixes the rule in
the sandbox → resubmits → written → import a 1,000-row CSV with 5 bad rows →
the report has 995 outcomes and the 5 rows' reasons.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from connectors.kafka.settings_topic import current
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.browser import drive_backfill as backfill
from tests.browser import drive_import as csv_import
from tests.browser import drive_sync_health as health
from tests.browser.test_console_connection import (  # noqa: F401 - the fixture
    TIMEOUT_MS,
    _log_in,
    console_url,
)
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.inbound_harness import by_salesforce_id, engage_copy
from tests.integration.test_console_settings import guide_rule_matches
from tests.integration.test_console_sync_health import _send
from tests.integration.test_dlq_cli import BLOCKED, REASON, RULE, _task_command
from tests.integration.test_inbound_sync import lead_matches
from tests.waiting import wait_until


def _pick(page: Any, selector: str, value: str) -> None:
    """Choose a rule's field: the page redraws so the operators fit its type."""
    with page.expect_navigation():
        page.select_option(selector, value)


def _save(page: Any, button: str = "button[value=save]") -> None:
    with page.expect_navigation():
        page.click(button)
    assert page.locator("[data-field=saved]").count() == 1, page.content()[-2000:]


def _write_the_guides_rule_and_preview(page: Any, url: str, expected: int) -> None:
    page.goto(f"{url}/sync-rules?object=Lead")
    # Title contains Sales OR Annual Revenue > 1,000,000
    with page.expect_navigation():
        page.click("[data-add-condition=r]")
    page.select_option("select[name='r.comb']", "any")
    _pick(page, "select[name='r.0.field']", "Title")
    page.select_option("select[name='r.0.op']", "contains")
    page.fill("input[name='r.0.value']", "Sales")
    with page.expect_navigation():
        page.click("[data-add-condition=r]")
    _pick(page, "select[name='r.1.field']", "AnnualRevenue")
    ops = page.locator("select[name='r.1.op'] option").all_inner_texts()
    assert "greater than" in ops and "contains" not in ops  # a currency field
    page.select_option("select[name='r.1.op']", "greater_than")
    page.fill("input[name='r.1.value']", "1,000,000")
    with page.expect_navigation():
        page.click("button[value=preview]")
    shown = page.text_content("[data-field=matching]") or ""
    assert int(shown.replace(",", "")) == expected, page.content()[-2000:]


def test_the_admins_walk_from_the_guides_rule_to_backfill_resubmit_and_import(
    page: Any,
    console_url: tuple[str, str],  # noqa: F811 - the imported fixture
    sandbox_org: Any,
    kafka_settings: KafkaSettings,
    processes: Processes,
    tmp_path: Path,
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.seed(leads=200, contacts=0, seed=13)
    expected = guide_rule_matches(admin)
    want = {r["Id"] for r in admin.records("Lead") if lead_matches(r)}
    assert len(want) == expected > 0
    url, password = console_url
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}/sync-rules?object=Lead")
    _log_in(page, url, password)
    page.wait_for_url(f"{url}/sync-rules?object=Lead")

    # Sync rules, previewed before anything is saved.
    _write_the_guides_rule_and_preview(page, url, expected)
    assert current(kafka_settings) is None  # the preview saved nothing
    _save(page)
    # Field mapping: a default for Title.
    page.click("nav a[href='/field-mapping']")
    page.wait_for_url(f"{url}/field-mapping")
    page.fill("tr[data-engage=title] input[name$='.default']", "Prospect")
    _save(page)
    # Sync: Lead on.
    page.click("nav a[href='/sync']")
    page.wait_for_url(f"{url}/sync")
    page.check("#sync-Lead")
    _save(page, "form[action='/sync'] button[type=submit]")
    # Sync settings: a contact added in Engage and found nowhere becomes a Lead.
    page.click("nav a[href='/sync-settings']")
    page.wait_for_url(f"{url}/sync-settings")
    page.check("input[name=engage_created_contacts][value=create_lead]")
    _save(page, "form[action='/sync-settings'] button[type=submit]")
    saved = current(kafka_settings)
    assert saved is not None and saved[0].objects["Lead"].sync is True
    assert saved[0].sync_settings.engage_created_contacts == "create_lead"
    assert {r.engage: r.default for r in saved[0].objects["Lead"].mapping}[
        "title"
    ] == "Prospect"
    assert saved[1]["by"] == "admin" and re.fullmatch(
        r"[0-9a-f]{64}", str(saved[1]["sha256"])
    )

    # The pipeline, started once the settings are in force.
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    processes.start("worker", env)
    processes.start("writer", env)

    # Poll Historical Data to completion; the matching Leads reach Engage's copy.
    page.click("nav a[href='/poll-historical-data']")
    backfill.open_backfill(page, url, "Lead")
    assert "Sales" in backfill.rules_shown(page)
    matching, calls = backfill.preview_backfill(page)
    assert matching == expected and calls >= 1
    backfill.start_backfill(page)
    page.reload()  # progress is the backfill's own, not the page's
    done = backfill.wait_backfill_done(page)
    assert (done["read"], done["total"]) == (expected, expected)
    wait_until(
        lambda: want <= set(by_salesforce_id(engage_copy(kafka_settings))),
        timeout=120,
        what="every matching Lead in Engage's copy",
    )
    copied = by_salesforce_id(engage_copy(kafka_settings))
    assert not set(copied) - want  # only the rule's records were synced

    # Sync health: a validation rule refuses a Task; fixed, resubmitted, written.
    who = sorted(want)[0]
    admin.set_rules(validation_rules=[RULE])
    command = _task_command(BLOCKED, who)
    _send(
        kafka_settings, Topics(kafka_settings).commands.name, "SalesforceCommand",
        [(who, command)],
    )  # fmt: skip
    page.click("nav a[href='/sync-health']")
    letter = health.wait_for_letter(page, url, REASON, command["command_id"])
    assert "This subject is blocked" in health.message_of(page, letter)
    admin.set_rules()  # the admin fixes the rule in the org
    assert "Resubmitted 1 dead letter(s)" in health.resubmit_letter(page, letter)
    state = health.wait_for_outcome(page, url, REASON, letter)
    assert "resubmitted, written" in state and "by admin" in state
    tasks = [t for t in admin.records("Task")
             if t["Engage_Activity_Id__c"] == command["command_id"]]  # fmt: skip
    assert len(tasks) == 1 and tasks[0]["WhoId"] == who

    # Import contacts: 1,000 rows, 5 of them bad.
    known = sorted(
        r["Email"] for r in admin.records("Lead") if r.get("Email")
    )[:40]
    upload, bad = csv_import.contacts_csv(tmp_path / "people.csv", known, 955)
    page.click("nav a[href='/import-contacts']")
    csv_import.upload_csv(page, url, upload)
    csv_import.map_columns(page, {})
    csv_import.start_import(page)
    counts = csv_import.wait_import_done(page)
    assert sum(counts.values()) == 1000
    assert counts["failed"] == 5 and sum(counts.values()) - counts["failed"] == 995
    assert (counts["matched"], counts["created"]) == (len(known), 955)
    assert csv_import.failed_reasons(page) == bad
