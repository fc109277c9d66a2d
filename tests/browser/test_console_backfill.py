"""Poll Historical Data in a real browser: the rules in force, count and price,
start, the live progress moving, a reload keeping it, then done."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engage_sync.console.backfills import history_progress
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.browser.drive_backfill import (
    open_backfill,
    preview_backfill,
    read_progress,
    rules_shown,
    start_backfill,
    wait_backfill_done,
    wait_backfill_read,
)
from tests.browser.test_console_connection import (  # noqa: F401 - the fixture
    TIMEOUT_MS,
    _log_in,
    console_url,
)
from tests.integration.test_console_backfill import apply_settings
from tests.integration.test_inbound_sync import SETTINGS, lead_matches

PAGE = 100


@pytest.fixture
def sandbox_org(tmp_path: Path) -> Iterator[object]:
    """This module's org answers queries in pages of 100, so progress moves."""
    from sandbox.org import SandboxOrg

    with SandboxOrg(tmp_path / "paged-org", page_size=PAGE) as org:
        yield org


def test_start_a_backfill_watch_it_move_reload_and_see_it_done(
    page: Any,
    console_url: tuple[str, str],  # noqa: F811 - the imported fixture
    sandbox_org: Any,
    kafka_settings: KafkaSettings,
) -> None:
    url, password = console_url
    apply_settings(kafka_settings, sandbox_org, SETTINGS)
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.seed(leads=600, contacts=0, seed=9)
    want = sum(lead_matches(r) for r in admin.records("Lead"))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}/poll-historical-data")  # sent to log in, then back
    _log_in(page, url, password)
    page.wait_for_url(f"{url}/poll-historical-data")

    open_backfill(page, url, "Lead")
    assert rules_shown(page) == (
        "Title contains Sales OR AnnualRevenue greater than 1000000"
    )
    matching, calls = preview_backfill(page)
    assert matching == want and calls == 2 + -(-want // 2000)
    admin.set_faults(latency_ms=400)  # pages a little apart, to watch them come
    start_backfill(page)
    shown = wait_backfill_read(page, PAGE)  # the page's script moved the numbers
    assert read_progress(page)["state"] == "running"

    page.reload()
    again = read_progress(page)
    # Still running (it may just have finished): the numbers come from the cursor.
    assert again["state"] in ("running", "done"), again
    assert again["read"] is not None and again["read"] >= shown
    assert again["total"] == want
    admin.clear_faults()

    done = wait_backfill_done(page)
    assert (done["read"], done["total"], done["percent"]) == (want, want, 100)
    cursor = history_progress(kafka_settings, "Lead")
    assert cursor is not None and cursor.done and cursor.read == want
