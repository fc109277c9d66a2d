"""Poll Historical Data from the console's route against a real broker and the
sandbox org: the backfill is the CLI's `poll-history` as a supervised child, killed
mid-way it is restarted and resumes from its cursor, it can be cancelled, a second
start is refused, and without rules it runs only when "all records" is ticked."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.kafka.ends import TopicReader
from connectors.kafka.topics import Topics
from connectors.salesforce.cursor import CursorStore
from domain.crm_settings.document import parse_document
from engage_sync.console.app import create_app
from engage_sync.console.backfills import Backfills, history_progress
from engage_sync.console.crm import Crm
from ground.settings import KafkaSettings, SalesforceSettings, load
from sandbox.admin import SandboxAdmin
from sandbox.org import SandboxOrg
from streams.settings.save import NOTHING
from tests.conftest import kafka_env, salesforce_env
from tests.inbound_harness import InboundHarness, by_salesforce_id, engage_copy
from tests.integration.test_inbound_sync import SETTINGS, lead_matches
from tests.unit.test_console_security import _csrf, _login, _settings, _status
from tests.waiting import wait_until

PAGE = 100  # the org's query page size here, so a backfill has several pages


@pytest.fixture
def org(tmp_path: Path) -> Iterator[SandboxOrg]:
    with SandboxOrg(tmp_path / "paged-org", page_size=PAGE) as org:
        yield org


@pytest.fixture
def admin(org: SandboxOrg) -> SandboxAdmin:
    return SandboxAdmin(org.url, org.ca_path)


@pytest.fixture
def backfills(
    kafka_settings: KafkaSettings, org: SandboxOrg, tmp_path: Path
) -> Iterator[Backfills]:
    runner = Backfills(
        kafka_settings,
        tmp_path / "backfills",
        backoff=0.2,
        env=kafka_env(kafka_settings) | salesforce_env(org),
    )
    try:
        yield runner
    finally:
        runner.close()


def apply_settings(kafka: KafkaSettings, org: Any, settings: str) -> Crm:
    """Save a settings document as the console does; its Crm for the app."""
    crm = Crm(kafka, load(SalesforceSettings, **salesforce_env(org)))
    crm.save(parse_document(settings), "test", NOTHING)
    return crm


def _console(
    kafka: KafkaSettings, org: SandboxOrg, backfills: Backfills, settings: str
) -> TestClient:
    crm = apply_settings(kafka, org, settings)
    app = create_app(_settings(), _status, crm, backfills=backfills)
    client = TestClient(app, follow_redirects=False)
    assert _login(client).status_code == 303  # type: ignore[attr-defined]
    return client


def _post(client: TestClient, action: str, obj: str = "Lead", **data: str) -> Any:
    token = _csrf(client.get(f"/poll-historical-data?object={obj}").text)
    return client.post(
        "/poll-historical-data",
        data={"csrf_token": token, "object": obj, "action": action} | data,
    )


def _published(kafka: KafkaSettings) -> Counter[bytes]:
    """How many times each Salesforce id was published on `salesforce.records`."""
    with TopicReader.open(kafka) as reader:
        return Counter(m.key() for m in reader.read_to_end(Topics(kafka).records.name))


@pytest.fixture
def guide_console(
    kafka_settings: KafkaSettings,
    org: SandboxOrg,
    admin: SandboxAdmin,
    backfills: Backfills,
) -> TestClient:
    """600 Leads, the guide's rule on Lead, and a logged-in console."""
    admin.seed(leads=600, contacts=0, seed=9)
    return _console(kafka_settings, org, backfills, SETTINGS)


def test_a_killed_backfill_is_restarted_resumes_from_its_cursor_and_lands_in_engage(
    kafka_settings: KafkaSettings,
    org: SandboxOrg,
    admin: SandboxAdmin,
    backfills: Backfills,
    guide_console: TestClient,
) -> None:
    client = guide_console
    want = {r["Id"] for r in admin.records("Lead") if lead_matches(r)}
    assert len(want) > 2 * PAGE
    preview = _post(client, "preview")
    assert f'data-field="matching">{len(want):,}<' in preview.text
    # Slow answers, so the kill lands while a later page is on its way.
    admin.set_faults(latency_ms=800)

    assert _post(client, "start").status_code == 303
    first = wait_until(
        lambda: (p := history_progress(kafka_settings, "Lead")) and p.read and p,
        interval=0.05,
        what="the backfill's first page on its cursor",
    )
    job = backfills.job("Lead")
    assert job is not None
    backfills.supervisor.kill9(job.child)
    killed = history_progress(kafka_settings, "Lead")
    assert killed is not None and not killed.done  # killed mid-way
    assert first.read % PAGE == 0 and first.total == len(want)
    admin.clear_faults()

    wait_until(lambda: job.state != "running", what="the restarted backfill's end")
    assert (job.state, job.restarts) == ("done", 1), job.message
    done = history_progress(kafka_settings, "Lead")
    assert done is not None and done.done
    assert (done.read, done.total) == (len(want), len(want))
    published = _published(kafka_settings)
    assert {k.decode() for k in published} == want
    assert sum(published.values()) - len(published) <= PAGE  # read twice: <= 1 page
    page = client.get("/poll-historical-data?object=Lead").text
    assert 'data-field="state">done<' in page and "Restarts" in page

    harness = InboundHarness(kafka_settings, org, SETTINGS)
    try:
        harness.pump(sum(published.values()))
    finally:
        harness.close()
    assert set(by_salesforce_id(engage_copy(kafka_settings))) == want


def test_a_second_start_is_refused_while_it_runs_and_cancel_stops_it(
    kafka_settings: KafkaSettings,
    admin: SandboxAdmin,
    backfills: Backfills,
    guide_console: TestClient,
) -> None:
    client = guide_console
    # Slow enough that the cancel lands before the last page, even under load.
    admin.set_faults(latency_ms=2500)
    assert _post(client, "start").status_code == 303
    job = backfills.job("Lead")
    assert job is not None

    again = _post(client, "start")
    assert again.status_code == 409
    assert "a backfill of Lead is already running" in again.text
    wait_until(
        lambda: (p := history_progress(kafka_settings, "Lead")) and p.read,
        interval=0.05,
        what="a first page",
    )
    assert _post(client, "cancel").status_code == 303

    assert job.follower is not None
    job.follower.join(30)  # it ended: no restart can follow
    assert job.state == "cancelled" and job.child.popen.returncode is not None
    assert len(backfills.supervisor.children) == 1
    cursor = CursorStore(kafka_settings).load().get("history", "Lead")
    assert cursor is not None and not cursor.done and cursor.read < (cursor.total or 0)
    page = client.get("/poll-historical-data?object=Lead").text
    assert 'data-field="state">cancelled<' in page
    assert re.search(r'data-field="read">\d+<', page)


def test_without_rules_it_is_refused_unless_all_records_is_ticked(
    kafka_settings: KafkaSettings,
    org: SandboxOrg,
    admin: SandboxAdmin,
    backfills: Backfills,
) -> None:
    admin.seed(leads=150, contacts=0, seed=4)
    client = _console(
        kafka_settings,
        org,
        backfills,
        "objects:\n  Lead: {sync: true}\n",
    )

    refused = _post(client, "start")
    assert refused.status_code == 422
    assert "Lead has no sync rules" in refused.text and backfills.job("Lead") is None

    assert _post(client, "start", all_records="on").status_code == 303
    job = backfills.job("Lead")
    assert job is not None
    wait_until(lambda: job.state != "running", what="the backfill of every Lead")
    assert job.state == "done", job.message
    assert "--all" in job.child.popen.args
    assert len(_published(kafka_settings)) == 150
