"""CSV import through the real pipeline: worker and writer on a real broker, the
sandbox org; every row answered (matched with its id, created, already linked, or
refused with its reason), read back from `salesforce.results`."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from pathlib import Path
from typing import Any

from engage_sync.imports.columns import guess
from engage_sync.imports.registry import Imports, kafka_imports
from engage_sync.imports.rows import Row, contact_id
from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import REPO, Processes, kafka_env, salesforce_env
from tests.inbound_harness import engage_copy
from tests.integration.test_contact_linking import _settings
from tests.waiting import wait_until

HEADER = "Email,First Name,Last Name,Company,Phone"
BAD = [
    ",,,Acme,+1 415 555 0100",  # no email and no name
    "not-an-email,Bo,Bad,Acme,",
    "two@@example.org,Bo,Bad,Acme,",
    "spaces in@example.org,Bo,Bad,Acme,",
    ",,,,+1 415 555 0199",
]


def _import(imports: Imports, text: str) -> tuple[str, dict[int, tuple[Any, ...]]]:
    """Upload, start with the guessed columns, wait for every row's answer."""
    import_id = imports.create(io.BytesIO(text.encode()), "people.csv", "admin")
    imports.start(import_id, guess(HEADER.split(",")))

    def done() -> bool:
        report = imports.report(import_id)
        try:
            return report.progress().state in ("done", "failed")
        finally:
            report.close()

    wait_until(done, 240, interval=0.5, what=f"import {import_id} answered")
    report = imports.report(import_id)
    try:
        assert report.progress().state == "done", report.progress()
        return import_id, {r[0]: r for r in report.rows(limit=10_000)}
    finally:
        report.close()


def test_import_of_1000_rows_with_5_bad_answers_every_row(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    processes: Processes,
    tmp_path: Path,
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    leads = admin.put_records(
        "Lead",
        [
            {"LastName": f"L{i}", "Company": "Known", "Email": f"lead{i}@known.example"}
            for i in range(20)
        ],
    )["ids"]
    contacts = admin.put_records(
        "Contact",
        [
            {"LastName": f"C{i}", "Email": f"contact{i}@known.example"}
            for i in range(20)
        ],
    )["ids"]
    _settings(kafka_settings, "create_lead")
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    processes.start("worker", env)
    processes.start("writer", env)
    lines = [f"lead{i}@known.example,Lee,L{i},Known," for i in range(20)]
    lines += [f"CONTACT{i}@known.example ,Cy,C{i},Known," for i in range(20)]
    lines += [f"new{i}@people.example,New,N{i},NewCo," for i in range(955)]
    lines[500:500] = BAD
    imports = kafka_imports(kafka_settings, tmp_path / "imports")

    _, rows = _import(imports, "\n".join([HEADER, *lines]) + "\n")

    assert len(rows) == 1_000
    kinds = [r[4] for r in rows.values()]
    assert kinds.count("failed") == 5 and kinds.count(None) == 0
    assert kinds.count("matched") == 40 and kinds.count("created") == 955
    assert [rows[n][7] for n in range(501, 506)] == [
        "no email and no name",
        "malformed email: 'not-an-email'",
        "malformed email: 'two@@example.org'",
        "malformed email: 'spaces in@example.org'",
        "no email and no name",
    ]
    assert [(rows[n][5], rows[n][6]) for n in range(1, 21)] == [
        ("Lead", i) for i in leads
    ]
    assert [(rows[n][5], rows[n][6]) for n in range(21, 41)] == [
        ("Contact", i) for i in contacts
    ]
    created = {r[1]: r[6] for r in rows.values() if r[4] == "created"}
    in_org = {r["Email"]: r["Id"] for r in admin.records("Lead")}
    assert all(in_org[email] == sf_id for email, sf_id in created.items())

    # The same person again: Engage's copy links it already, and the report says so.
    ecid = contact_id(Row(1, {"email": "new7@people.example"}), "")
    wait_until(
        lambda: engage_copy(kafka_settings).get(ecid, {}).get("salesforce_id"),
        60,
        what="the first import's link in Engage's copy",
    )
    again = tmp_path / "again.csv"
    again.write_text(f"{HEADER}\nnew7@people.example,New,N7,NewCo,\n")
    # Through the CLI verb this time: the same code, the same report folder.
    done = subprocess.run(
        cli_argv("import-contacts", str(again), "--report", str(tmp_path / "r.csv")),
        env=os.environ | env | {"CONSOLE_IMPORTS_DIR": str(tmp_path / "imports")},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "done: 1 of 1 rows: matched 0, created 0, already linked 1" in done.stdout
    (line,) = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert (line["outcome"], line["salesforce_id"]) == (
        "already linked",
        created["new7@people.example"],
    )
    assert len(imports.ids()) == 2  # the console lists it beside the first
