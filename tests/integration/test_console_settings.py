"""The console's settings pages against a real broker and the sandbox org: every
save goes through `settings apply`'s check and the guarded save, a save based on
a replaced document is refused, and every saved document is kept as YAML."""

from __future__ import annotations

import getpass
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from connectors.kafka.settings_history import history
from connectors.kafka.settings_topic import current
from connectors.salesforce.cursor import Cursor, CursorStore
from domain.crm_settings.document import dump_document
from engage_sync.console.app import create_app
from engage_sync.console.crm import Crm
from ground.settings import KafkaSettings, SalesforceSettings, load
from sandbox.admin import SandboxAdmin
from tests.cli import run_verb
from tests.conftest import kafka_env, salesforce_env
from tests.unit.test_console_security import _csrf, _login, _settings, _status

GUIDE_RULE = {
    "action": "preview",
    "object": "Lead",
    "r.kind": "group",
    "r.comb": "any",
    "r.0.kind": "cond",
    "r.0.field": "Title",
    "r.0.op": "contains",
    "r.0.value": "Sales",
    "r.1.kind": "cond",
    "r.1.field": "AnnualRevenue",
    "r.1.op": "greater_than",
    "r.1.value": "1,000,000",
}


def guide_rule_matches(admin: SandboxAdmin) -> int:
    """The sandbox's Leads the guide's rule selects, counted from the records."""
    return sum(
        "Sales" in (r.get("Title") or "") or (r.get("AnnualRevenue") or 0) > 1_000_000
        for r in admin.records("Lead")
    )


@pytest.fixture
def app(kafka_settings: KafkaSettings, sandbox_org: Any) -> FastAPI:
    salesforce = load(SalesforceSettings, **salesforce_env(sandbox_org))
    return create_app(_settings(), _status, Crm(kafka_settings, salesforce))


def _session(app: FastAPI) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    assert _login(client).status_code == 303  # type: ignore[attr-defined]
    return client


def _form(client: TestClient, path: str) -> dict[str, str]:
    """The hidden fields a page's form carries: its CSRF token and base sha256."""
    html = client.get(path).text
    base = re.search(r'name="base_sha256" value="([^"]*)"', html)
    assert base, html[-2000:]
    return {"csrf_token": _csrf(html), "base_sha256": base.group(1)}


def _sync_form(client: TestClient, **on: bool) -> dict[str, str]:
    form = _form(client, "/sync")
    return form | {f"sync.{obj}": "on" for obj, yes in on.items() if yes}


def test_a_save_based_on_a_document_another_admin_replaced_is_refused(
    app: FastAPI, kafka_settings: KafkaSettings
) -> None:
    CursorStore(kafka_settings).save(
        Cursor("Lead", "incremental", 1_700_000_000_000, "00Q5e000000LAST")
    )
    first, second = _session(app), _session(app)
    page = first.get("/sync").text
    assert "up to 2023-11-14 22:13:20 UTC (last record 00Q5e000000LAST)" in page
    form_a, form_b = _sync_form(first, Lead=True), _sync_form(second, Contact=True)

    saved = first.post("/sync", data=form_a)
    refused = second.post("/sync", data=form_b)

    assert saved.status_code == 303, saved.text[-1500:]
    assert refused.status_code == 409
    assert "the settings changed since you read them" in refused.text
    found = current(kafka_settings)
    assert found is not None
    settings, meta = found
    assert settings.synced() == ["Lead"] and meta["by"] == "admin"
    # The refused page shows the document in force, so a retry starts from it.
    retry = second.post("/sync", data=_sync_form(second, Lead=True, Contact=True))
    assert retry.status_code == 303, retry.text[-1500:]
    assert current(kafka_settings)[0].synced() == ["Lead", "Contact"]  # type: ignore[index]


def test_rules_preview_counts_the_matching_records_and_values_are_checked(
    app: FastAPI, kafka_settings: KafkaSettings, sandbox_org: Any
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.seed(leads=300, contacts=0, seed=5)
    expected = guide_rule_matches(admin)
    client = _session(app)
    form = _form(client, "/sync-rules?object=Lead")

    shown = client.post("/sync-rules", data=form | GUIDE_RULE)

    assert shown.status_code == 200, shown.text[-1500:]
    matching = re.search(r'data-field="matching">([\d,]+)<', shown.text)
    assert matching and int(matching.group(1).replace(",", "")) == expected
    assert 0 < expected < 300
    assert 'data-field="calls">3<' in shown.text  # count + describe + one page
    assert current(kafka_settings) is None  # a preview saves nothing

    bad = client.post(
        "/sync-rules", data=form | GUIDE_RULE | {"action": "save", "r.1.value": "lots"}
    )
    assert bad.status_code == 422
    assert "objects.Lead.rules.any[1].value: &#39;lots&#39; is not a number" in bad.text
    saved = client.post("/sync-rules", data=form | GUIDE_RULE | {"action": "save"})
    assert saved.status_code == 303, saved.text[-1500:]
    rules = current(kafka_settings)[0].objects["Lead"].rules  # type: ignore[index]
    assert rules is not None and rules.combinator == "any"
    assert [c.value for c in rules.children] == ["Sales", 1_000_000]  # type: ignore[union-attr]


def test_rule_buttons_add_and_remove_conditions_and_nested_groups(
    app: FastAPI,
) -> None:
    client = _session(app)
    form = _form(client, "/sync-rules?object=Lead")
    page = client.post(
        "/sync-rules", data=form | GUIDE_RULE | {"action": "add-group:r"}
    )
    assert 'data-path="r.2"' in page.text and 'data-path="r.2.0"' in page.text
    page = client.post("/sync-rules", data=form | GUIDE_RULE | {"action": "remove:r.0"})
    assert 'name="r.0.field"' in page.text and 'name="r.1.field"' not in page.text


def test_field_mapping_shows_a_real_example_and_saves_a_default(
    app: FastAPI, kafka_settings: KafkaSettings, sandbox_org: Any
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.seed(leads=3, contacts=3, seed=2)
    first = min(admin.records("Lead"), key=lambda r: r["Id"])
    client = _session(app)
    # A Contact's company is read through its Account: one query, LIMIT 1.
    contact = client.get("/field-mapping?object=Contact").text
    first_contact = min(admin.records("Contact"), key=lambda r: r["Id"])
    account = next(
        a for a in admin.records("Account") if a["Id"] == first_contact["AccountId"]
    )
    assert f'<td data-field="example">{account["Name"]}</td>' in contact
    page = client.get("/field-mapping?object=Lead")
    assert "Do Not Read/Write" in page.text
    assert 'Last Name <span title="required">*</span>' in page.text
    assert f'<td data-field="example">{first["LastName"]}</td>' in page.text
    form = _form(client, "/field-mapping?object=Lead")
    rows = re.findall(r'name="row\.(\d+)\.engage" value="([^"]+)"', page.text)
    data = form | {"object": "Lead", "action": "save"}
    for i, engage in rows:
        data[f"row.{i}.engage"] = engage
        chosen = re.search(
            rf'name="row\.{i}\.salesforce".*?<option value="([^"]*)" selected',
            page.text,
            re.S,
        )
        data[f"row.{i}.salesforce"] = chosen.group(1) if chosen else ""
    # Creates in Engage make Leads (the default): Company is required on create.
    assert '<li data-required="Company">Company: mapped</li>' in page.text
    company = next(i for i, e in rows if e == "company")
    refused = client.post(
        "/field-mapping", data=data | {f"row.{company}.salesforce": ""}
    )
    assert refused.status_code == 422
    assert (
        "sync_settings.engage_created_contacts: create_lead needs Lead field "
        "&#39;Company&#39; (required on create)" in refused.text
    )
    title = next(i for i, e in rows if e == "title")
    data[f"row.{title}.default"] = "Prospect"

    saved = client.post("/field-mapping", data=data)

    assert saved.status_code == 303, saved.text[-1500:]
    mapping = current(kafka_settings)[0].mapping("Lead")  # type: ignore[index]
    assert {r.engage: r.default for r in mapping}["title"] == "Prospect"
    reset = client.post("/field-mapping", data=data | {"action": "defaults"})
    assert 'value="Prospect"' not in reset.text and "Save keeps them" in reset.text


def test_sync_settings_save_and_history_download_is_the_exact_yaml(
    app: FastAPI, kafka_settings: KafkaSettings
) -> None:
    client = _session(app)
    form = _form(client, "/sync-settings")
    data = form | {
        "engage_created_contacts": "none",
        "engage_created_accounts": "none",
        "on_account_refused": "skip_contact",
        "activity.global": "on",
        "activity.Lead": "off",
        "match_order": "Lead,Contact",
        "phone_region": "GB",
        "unmapped_user_tasks": "hold",
    }
    assert client.post("/sync-settings", data=data).status_code == 303
    settings, meta = current(kafka_settings)  # type: ignore[misc]
    sync = settings.sync_settings
    assert sync.write_activity_history == {"Lead": False, "Contact": True}
    assert sync.match_order == ["Lead", "Contact"] and sync.phone_region == "GB"
    assert sync.on_account_refused == "skip_contact"

    saves = history(kafka_settings)
    assert [s.sha256 for s in saves] == [meta["sha256"]]
    listing = client.get("/settings/history")
    assert meta["sha256"][:12] in listing.text and "admin" in listing.text
    download = client.get(f"/settings/{meta['sha256']}.yaml")
    assert download.status_code == 200
    assert download.text == dump_document(settings) == saves[0].document
    assert client.get(f"/settings/{'0' * 64}.yaml").status_code == 404


def _apply(
    kafka: KafkaSettings, path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    argv = ("settings", "apply", str(path), "--skip-describe", *args)
    return run_verb(*argv, env=kafka_env(kafka))


def test_settings_apply_if_sha256_refuses_a_stale_sha_and_records_who(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    path = tmp_path / "crm.yaml"
    path.write_text("objects:\n  Lead:\n    sync: true\n")
    first = _apply(kafka_settings, path, "--if-sha256", "none", "--by", "alice")
    assert first.returncode == 0, first.stderr
    _, meta = current(kafka_settings)  # type: ignore[misc]
    assert meta["by"] == "alice"

    path.write_text("objects:\n  Lead:\n    sync: false\n")
    stale = _apply(kafka_settings, path, "--if-sha256", "none")

    assert stale.returncode == 1
    assert "the settings changed since you read them" in stale.stderr
    assert current(kafka_settings)[1]["sha256"] == meta["sha256"]  # type: ignore[index]
    fresh = _apply(kafka_settings, path, "--if-sha256", str(meta["sha256"]))
    assert fresh.returncode == 0, fresh.stderr
    assert [s.by for s in history(kafka_settings)] == [getpass.getuser(), "alice"]
