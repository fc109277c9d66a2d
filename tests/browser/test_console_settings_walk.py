"""The settings pages in a real browser: write the guide's rule on Lead, preview
its count, save it, give a mapping default, turn Lead on; the `engage.settings`
topic's newest document then has all three."""

from __future__ import annotations

import re
from typing import Any

from connectors.kafka.settings_topic import current
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.browser.test_console_connection import (  # noqa: F401 - the fixture
    TIMEOUT_MS,
    _log_in,
    console_url,
)
from tests.integration.test_console_settings import guide_rule_matches


def _pick(page: Any, selector: str, value: str) -> None:
    """Choose a rule's field: the page redraws so the operators fit its type."""
    with page.expect_navigation():
        page.select_option(selector, value)


def _save(page: Any, button: str = "button[value=save]") -> None:
    with page.expect_navigation():
        page.click(button)
    assert page.locator("[data-field=saved]").count() == 1, page.content()[-2000:]


def test_write_the_guides_rule_preview_map_a_default_and_turn_lead_on(
    page: Any,
    console_url: tuple[str, str],  # noqa: F811 - the imported fixture
    sandbox_org: Any,
    kafka_settings: KafkaSettings,
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.seed(leads=200, contacts=0, seed=13)
    expected = guide_rule_matches(admin)
    url, password = console_url
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}/sync-rules?object=Lead")
    _log_in(page, url, password)
    page.wait_for_url(f"{url}/sync-rules?object=Lead")

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
    assert current(kafka_settings) is None  # the preview saved nothing
    _save(page)

    page.click("nav a[href='/field-mapping']")
    page.wait_for_url(f"{url}/field-mapping")
    page.fill("tr[data-engage=title] input[name$='.default']", "Prospect")
    _save(page)

    page.click("nav a[href='/sync']")
    page.wait_for_url(f"{url}/sync")
    page.check("#sync-Lead")
    _save(page, "form[action='/sync'] button[type=submit]")

    found = current(kafka_settings)
    assert found is not None
    lead = found[0].objects["Lead"]
    assert lead.sync is True
    assert lead.rules is not None and lead.rules.combinator == "any"
    assert [(c.field, c.op, c.value) for c in lead.rules.children] == [  # type: ignore[union-attr]
        ("Title", "contains", "Sales"),
        ("AnnualRevenue", "greater_than", 1_000_000),
    ]
    assert {r.engage: r.default for r in lead.mapping}["title"] == "Prospect"
    assert found[1]["by"] == "admin"
    assert re.fullmatch(r"[0-9a-f]{64}", str(found[1]["sha256"]))
