"""Poll Historical Data's page logic with fakes (an org, a cursor) and the runner
with stand-in commands: refusals, one backfill per object, restarts, cancel."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.crm_settings.document import parse_document
from domain.crm_settings.models import CrmSettings
from engage_sync.console.app import create_app
from engage_sync.console.backfills import Backfills, Job, Progress
from engage_sync.console.pages.poll_history import rules_text
from ground.settings import KafkaSettings
from tests.unit.test_console_security import _csrf, _login, _settings, _status

# The guide's rule on Lead; Contact without rules.
GUIDE = (
    "objects:\n  Contact: {sync: false}\n  Lead:\n    sync: true\n    rules: {any: ["
    "{field: Title, op: contains, value: Sales}, "
    "{field: AnnualRevenue, op: greater_than, value: 1000000}]}\n"
)
KAFKA = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")  # never dialled here


class FakeCrm:
    """The settings in force and an org that counts whatever it is asked."""

    def __init__(self, settings: CrmSettings, matching: int = 4321) -> None:
        self.settings, self.matching = settings, matching
        self.queries: list[str] = []

    def current(self) -> tuple[CrmSettings, str, str | None]:
        return self.settings, "sha", "admin"

    def describe(self, obj: str) -> dict[str, Any]:
        return {
            "fields": [
                {"name": "Title", "type": "string"},
                {"name": "AnnualRevenue", "type": "currency"},
            ]
        }

    def count(self, soql: str) -> int:
        self.queries.append(soql)
        return self.matching


class FakeBackfills(Backfills):
    """The real runner, its cursor read from a dict instead of Kafka."""

    cursors: dict[str, Progress]

    def progress(self, obj: str) -> Progress | None:
        return self.cursors.get(obj)


def _runner(tmp_path: Path, script: str = "import time; time.sleep(60)") -> Any:
    runner = FakeBackfills(
        KAFKA,
        tmp_path / "logs",
        argv=lambda obj, all_records: [
            sys.executable,
            "-c",
            script,
            obj,
            "all" if all_records else "rules",
        ],
        backoff=0.0,
    )
    runner.cursors = {}
    return runner


@pytest.fixture
def runner(tmp_path: Path) -> Any:
    runner = _runner(tmp_path)
    yield runner
    runner.close()


def _client(crm: FakeCrm | None, runner: Backfills | None) -> TestClient:
    app = create_app(_settings(), _status, crm, backfills=runner)  # type: ignore[arg-type]
    client = TestClient(app, follow_redirects=False)
    assert _login(client).status_code == 303  # type: ignore[attr-defined]
    return client


def _post(client: TestClient, obj: str = "Lead", **data: str) -> Any:
    token = _csrf(client.get(f"/poll-historical-data?object={obj}").text)
    return client.post(
        "/poll-historical-data", data={"csrf_token": token, "object": obj} | data
    )


def _finished(job: Job) -> None:
    assert job.follower is not None
    job.follower.join(30)
    assert not job.follower.is_alive()


def test_the_page_shows_the_rules_in_force_then_counts_and_prices_them(
    runner: Any,
) -> None:
    crm = FakeCrm(parse_document(GUIDE))
    client = _client(crm, runner)

    page = client.get("/poll-historical-data?object=Lead").text
    shown = _post(client, action="preview")

    assert (
        'data-field="rules">Title contains Sales OR AnnualRevenue greater than '
        "1000000<" in page
    )
    assert 'value="start"' not in page  # no start before the count is shown
    assert shown.status_code == 200
    assert 'data-field="matching">4,321<' in shown.text
    assert 'data-field="calls">5<' in shown.text  # count + describe + 3 pages
    assert crm.queries == [
        "SELECT COUNT() FROM Lead WHERE (Title LIKE '%Sales%' OR "
        "AnnualRevenue > 1000000)"
    ]
    assert 'value="start"' in shown.text and runner.job("Lead") is None


def test_without_rules_a_start_is_refused_unless_all_records_is_ticked(
    runner: Any,
) -> None:
    client = _client(FakeCrm(parse_document(GUIDE)), runner)
    page = client.get("/poll-historical-data?object=Contact").text
    assert "a backfill would read <strong>every</strong> Contact" in page
    assert 'name="all_records"' in page

    refused = _post(client, "Contact", action="start")
    assert refused.status_code == 422
    assert "Contact has no sync rules, so this would sync every Contact" in refused.text
    assert runner.job("Contact") is None  # nothing started

    started = _post(client, "Contact", action="start", all_records="on")
    assert started.status_code == 303
    job = runner.job("Contact")
    assert job is not None and job.all_records is True
    assert job.child.popen.args[-2:] == ["Contact", "all"]


def test_a_second_start_of_the_same_object_is_refused_while_it_runs(
    runner: Any,
) -> None:
    client = _client(FakeCrm(parse_document(GUIDE)), runner)
    assert _post(client, action="start").status_code == 303
    first = runner.job("Lead")

    again = _post(client, action="start")

    assert again.status_code == 409
    assert "a backfill of Lead is already running" in again.text
    assert runner.job("Lead") is first and len(runner.supervisor.children) == 1
    # Another object is not held up by it.
    assert _post(client, "Contact", action="start", all_records="on").status_code == 303


def test_cancel_stops_the_backfill_and_it_is_not_restarted(runner: Any) -> None:
    client = _client(FakeCrm(parse_document(GUIDE)), runner)
    _post(client, action="start")
    job = runner.job("Lead")
    page = client.get("/poll-historical-data?object=Lead").text
    assert 'value="cancel"' in page and 'data-state="running"' in page

    assert _post(client, action="cancel").status_code == 303

    _finished(job)  # the follower ended, so it will not start another child
    assert job.state == "cancelled" and job.child.popen.returncode < 0
    assert len(runner.supervisor.children) == 1
    page = client.get("/poll-historical-data?object=Lead").text
    assert 'data-field="state">cancelled<' in page


def test_progress_is_the_cursors_read_and_total_with_rate_and_eta(
    runner: Any,
) -> None:
    began = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    runner.cursors["Lead"] = Progress(
        500, 2000, began, began + timedelta(seconds=10), False
    )
    client = _client(FakeCrm(parse_document(GUIDE)), runner)

    answer = client.get("/poll-historical-data/progress?object=Lead").json()
    page = client.get("/poll-historical-data?object=Lead").text

    assert answer["state"] == "stopped"  # a cursor, but no child of this console
    assert (answer["read"], answer["total"], answer["percent"]) == (500, 2000, 25)
    assert answer["rate"] == 50.0 and answer["eta"] == "30 s"
    assert 'data-field="read">500<' in page and 'data-field="total">2,000<' in page
    assert "resumes from where it stopped" in page
    runner.cursors["Lead"] = Progress(2000, 2000, began, began + timedelta(60), True)
    assert client.get("/poll-historical-data/progress?object=Lead").json()["state"] == (
        "done"
    )


def test_a_backfill_that_dies_is_restarted_until_it_finishes(tmp_path: Path) -> None:
    # Killed twice by a signal (as by `kill -9`), then it finishes.
    script = (
        "import os, pathlib, signal, sys\n"
        f"runs = pathlib.Path({str(tmp_path / 'runs')!r})\n"
        "runs.write_text(runs.read_text() + 'x' if runs.exists() else 'x')\n"
        "if len(runs.read_text()) < 3: os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    runner = _runner(tmp_path, script)
    try:
        job = runner.start("Lead", False)
        _finished(job)
    finally:
        runner.close()
    assert (job.state, job.restarts, job.exit_code) == ("done", 2, 0)
    assert (tmp_path / "runs").read_text() == "xxx"


def test_a_refused_run_is_not_restarted_and_the_page_says_why(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "print('engage-sync: refused: Lead has no sync rules', file=sys.stderr)\n"
        "sys.exit(1)\n"
    )
    runner = _runner(tmp_path, script)
    try:
        client = _client(FakeCrm(parse_document(GUIDE)), runner)
        _post(client, action="start")
        _finished(runner.job("Lead"))
        page = client.get("/poll-historical-data?object=Lead").text
    finally:
        runner.close()
    assert runner.job("Lead").restarts == 0
    assert 'data-field="state">refused<' in page
    assert "engage-sync: refused: Lead has no sync rules" in page


def test_without_an_org_or_a_runner_the_page_says_what_is_missing() -> None:
    client = _client(None, None)
    page = client.get("/poll-historical-data")
    assert page.status_code == 200
    assert "without the settings topic" in page.text
    assert "without a backfill runner" in page.text
    assert _post(client, action="start").status_code == 422


def test_nested_rules_read_as_one_line() -> None:
    rules = (
        parse_document(
            "objects:\n  Lead:\n    rules:\n      all:\n"
            "        - {field: Status, op: in, value: [Open, New]}\n"
            "        - any: [{field: Email, op: is_not_empty}, "
            "{field: Title, op: starts_with, value: VP}]\n"
        )
        .objects["Lead"]
        .rules
    )
    assert rules_text(rules) == (
        "Status in Open, New AND (Email is not empty OR Title starts with VP)"
    )
