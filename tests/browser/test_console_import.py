"""Import contacts in a real browser: upload a CSV, check the guessed columns, drop
one, preview, import through the worker and writer, read the report, download it."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.browser.drive_import import (
    contacts_csv,
    download_report,
    failed_reasons,
    guessed_columns,
    map_columns,
    start_import,
    upload_csv,
    wait_import_done,
)
from tests.browser.test_console_connection import (  # noqa: F401 - the fixture
    TIMEOUT_MS,
    _log_in,
    console_url,
)
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.integration.test_contact_linking import _settings


def test_upload_map_preview_import_and_download_the_report(
    page: Any,
    console_url: tuple[str, str],  # noqa: F811 - the imported fixture
    sandbox_org: Any,
    kafka_settings: KafkaSettings,
    processes: Processes,
    tmp_path: Path,
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    (known,) = admin.put_records(
        "Lead", [{"LastName": "Known", "Company": "K", "Email": "known@lead.example"}]
    )["ids"]
    _settings(kafka_settings, "create_lead")
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    processes.start("worker", env)
    processes.start("writer", env)
    upload, bad = contacts_csv(tmp_path / "contacts.csv", ["known@lead.example"], 95)
    url, password = console_url
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{url}/import-contacts")
    _log_in(page, url, password)
    page.wait_for_url(f"{url}/import-contacts")

    upload_csv(page, url, upload)
    assert guessed_columns(page) == {
        "E-mail": "email",
        "First Name": "first_name",
        "Surname": "last_name",
        "Company": "company",
        "Notes": "",
    }
    preview = map_columns(page, {"Company": ""})  # the admin drops a column
    assert [p["Email"] for p in preview] == [
        "known@lead.example",
        *[f"p{i}@people.example" for i in range(4)],
    ]
    assert "Company" not in preview[0]
    start_import(page)
    counts = wait_import_done(page)

    assert counts == {
        "matched": 1,
        "created": 95,
        "already linked": 0,
        "not created": 0,
        "failed": 5,
    }
    assert page.locator("tr[data-row='1'] td").nth(5).inner_text() == f"Lead {known}"
    assert failed_reasons(page) == bad
    text = download_report(page, tmp_path / "report.csv")
    report = list(csv.DictReader(io.StringIO(text)))
    assert len(report) == 101
    assert report[0]["outcome"] == "matched" and report[0]["salesforce_id"] == known
    assert sum(r["outcome"] == "created" for r in report) == 95
