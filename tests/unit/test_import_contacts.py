"""CSV import: column guessing, row checks, a flat streaming parse, the job and the
page (TestClient, an in-memory pipeline that answers every ADDED it is sent)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.kafka.serde import Serde
from engage_sync.console.app import create_app
from engage_sync.imports import parse
from engage_sync.imports.columns import SKIP, guess, mapping_problems
from engage_sync.imports.job import Job
from engage_sync.imports.outcomes import outcome_of
from engage_sync.imports.registry import Imports
from engage_sync.imports.report import Report
from engage_sync.imports.rows import Row, added_event, contact_id, problem, row_of
from tests.ports import RecordingProducer
from tests.unit.test_console_security import _login, _settings, _status

TOPIC = "engage.contacts.actions"
LEAD = "00Q5e00000AbCdEEAV"


def test_columns_are_guessed_from_common_headers_each_field_once() -> None:
    headers = [
        "E-mail Address",
        "First Name",
        "surname",
        "Mobile Phone",
        "Company Name",
        "Job Title",
        "Notes",
        "Work Email",
        "SFDC Id",
    ]
    assert guess(headers) == [
        "email",
        "first_name",
        "last_name",
        "phone",
        "company",
        "title",
        SKIP,
        SKIP,  # a second email column is not the primary one
        "salesforce_id",
    ]


def test_a_mapping_without_email_or_name_or_with_a_field_twice_is_refused() -> None:
    assert mapping_problems(["phone", "company"]) == [
        "map a column to Email, First Name or Last Name: a row needs an email or a name"
    ]
    assert mapping_problems(["email", "email"]) == ["Email is chosen for two columns"]
    assert mapping_problems(["email", SKIP, "last_name"]) == []


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"phone": "+1 415 555 0100", "company": "Acme"}, "no email and no name"),
        ({"email": "ada.example.org"}, "malformed email: 'ada.example.org'"),
        (
            {"email": "ada@@example.org", "last_name": "L"},
            "malformed email: 'ada@@example.org'",
        ),
        ({"email": "ada@example"}, "malformed email: 'ada@example'"),
        (
            {"last_name": "Lovelace", "salesforce_id": "00Q12"},
            "malformed Salesforce id: '00Q12' (15 or 18 letters and digits)",
        ),
        ({"last_name": "L", "title": "x" * 256}, "Title longer than 255 characters"),
        ({"email": "ada@example.org"}, None),
        ({"last_name": "Lovelace"}, None),
    ],
)
def test_row_checks_name_the_reason(values: dict[str, str], reason: str | None) -> None:
    assert problem(Row(1, values)) == reason


def test_row_values_are_trimmed_and_blank_cells_left_out() -> None:
    row = row_of(
        3,
        [" Ada ", "", "ada@example.org", "extra"],
        ["first_name", "last_name", "email"],
    )
    assert row.values == {"first_name": "Ada", "email": "ada@example.org"}


def test_the_same_person_imported_twice_is_the_same_engage_contact() -> None:
    one = contact_id(Row(1, {"email": " Ada@Example.org"}), "imp-a")
    two = contact_id(Row(9, {"email": "ada@example.org "}), "imp-b")
    assert one == two
    assert contact_id(Row(1, {"last_name": "X"}), "a") != contact_id(
        Row(1, {"last_name": "X"}), "b"
    )  # nothing to know the person by: one contact per row


def test_each_row_is_an_added_event_with_source_csv_import() -> None:
    key, event = added_event(
        Row(7, {"email": "ada@example.org", "last_name": "Lovelace"}),
        "imp",
        "admin",
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert (event["action"], event["source"], event["event_id"]) == (
        "ADDED",
        "CSV_IMPORT",
        "csv-imp-7",
    )
    assert event["contact"]["engage_contact_id"] == key
    Serde().encode("ContactEvent", event)  # the schema takes it


def _write_csv(path: Path, rows: int, bad_every: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("Email,First Name,Last Name,Company\n")
        for i in range(1, rows + 1):
            if bad_every and i % bad_every == 0:
                out.write(f"not-an-email-{i},,,Acme\n")
            else:
                out.write(f"person{i}@example.org,P,L{i},Acme\n")
    return path


class _CountingFile(io.TextIOWrapper):
    lines = 0

    def __next__(self) -> str:
        _CountingFile.lines += 1
        return super().__next__()


def test_parsing_reads_the_file_a_row_at_a_time(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "big.csv", 100_000)
    rows = parse.rows(path, guess(parse.headers(path)))
    first = [next(rows) for _ in range(10)]
    assert [r.number for r in first] == list(range(1, 11))
    assert first[0].values["email"] == "person1@example.org"
    # csv.reader pulls lines from the file as rows are taken (its buffer aside):
    # a generator, not a list of 100,000.
    assert isinstance(rows, Iterator)


class _IdsOnly:
    """An encoder keeping only what the fake pipeline reads (Avro costs ~50 µs a row
    on this machine, not what the 100,000-row test is about)."""

    def encode(self, schema: str, value: dict[str, Any]) -> bytes:
        return f"{value['event_id']}|{value['contact']['email'] or ''}".encode()

    def decode(self, schema: str, value: bytes) -> dict[str, Any]:
        event_id, email = value.decode().split("|")
        return {"event_id": event_id, "contact": {"email": email or None}}


class _Pipeline:
    """The worker and writer in memory: answers every ADDED produced to it."""

    def __init__(self, known: dict[str, str] | None = None, serde: Any = None) -> None:
        self.sink = RecordingProducer()
        self.serde = serde or Serde()
        self.known = known or {}
        self.seen = 0

    def ends(self) -> dict[str, int]:
        return {"0": 0}

    def follow(
        self, offsets: dict[str, int], stop: Callable[[], bool]
    ) -> Iterator[list[tuple[int, int, dict[str, Any]]]]:
        while not stop():
            new = self.sink.sent[self.seen :]
            batch = []
            for _, value, _ in new:
                event = self.serde.decode("ContactEvent", value)
                email = event["contact"]["email"]
                found = self.known.get(email or "")
                batch.append(
                    (
                        0,
                        self.seen,
                        {
                            "event_id": f"link-{event['event_id']}",
                            "object": "Lead",
                            "success": True,
                            "salesforce_id": found or f"00Q{self.seen:015d}",
                            "status_code": "LINKED" if found else "CREATED",
                            "message": None,
                            "candidates": [],
                        },
                    )
                )
                self.seen += 1
            yield batch

    def ports(self) -> tuple[Any, Any, Any]:
        return self.sink, self, self.serde


def _job(tmp_path: Path, rows: int, bad_every: int, batch_rows: int) -> Job:
    """A job of `rows` rows (every `bad_every`th malformed) on the fake pipeline."""
    path = _write_csv(tmp_path / "contacts.csv", rows, bad_every=bad_every)
    pipeline = _Pipeline(serde=_IdsOnly())
    report = Report(tmp_path / "imp")
    report.set_meta(state="importing", mapping=guess(parse.headers(path)))
    return Job(
        "imp",
        report,
        path,
        TOPIC,
        pipeline.sink,
        pipeline,
        pipeline.serde,
        batch_rows=batch_rows,
    )


def test_100000_rows_are_sent_a_batch_at_a_time(tmp_path: Path) -> None:
    job = _job(tmp_path, 100_000, bad_every=20_000, batch_rows=500)
    report = job.report

    job.send()

    assert job.held_max == 500  # rows held at once, however long the file
    progress = report.progress()
    assert (progress.state, progress.total, progress.sent) == (
        "waiting",
        100_000,
        100_000,
    )
    assert progress.counts["failed"] == 5  # refused before sending, with a reason
    assert len(job.sink.sent) == 99_995  # type: ignore[attr-defined]


def test_every_row_answered_finishes_the_import(tmp_path: Path) -> None:
    job = _job(tmp_path, 2_000, bad_every=400, batch_rows=300)
    report = job.report

    job.run()

    progress = report.progress()
    assert (progress.state, progress.answered) == ("done", 2_000)
    assert (progress.counts["created"], progress.counts["failed"]) == (1_995, 5)
    assert report.rows("failed")[0][-1] == "malformed email: 'not-an-email-400'"


def test_outcomes_name_matched_created_already_linked_not_created_and_failed() -> None:
    def of(status: str, success: bool = True, **more: Any) -> Any:
        return outcome_of(
            {
                "status_code": status,
                "success": success,
                "object": "Lead",
                "salesforce_id": LEAD,
            }
            | more
        )

    assert of("LINKED").kind == "matched" and of("LINKED").salesforce_id == LEAD
    assert of("CREATED").kind == "created"
    assert of("already-linked").kind == "already linked"
    assert of("NO_MATCH").kind == "not created"
    failed = of("FIELD_CUSTOM_VALIDATION_EXCEPTION", False, message="Phone too short")
    assert (failed.kind, failed.reason) == (
        "failed",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION: Phone too short",
    )
    assert of("CREATED", object="Account") is None  # a Contact's Account's result


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_upload_map_preview_import_report_and_download(tmp_path: Path) -> None:
    pipeline = _Pipeline(known={"known@example.org": LEAD})
    app = create_app(_settings(), _status)
    app.state.imports = Imports(tmp_path, TOPIC, pipeline.ports)
    client = TestClient(app, follow_redirects=False)
    _login(client)
    token = _csrf(client.get("/import-contacts").text)
    body = (
        "Work Email,Given Name,Surname,Employer\n"
        "known@example.org,Kay,Known,Acme\nnew@example.org,Nia,New,Beta\n"
        "broken,,,Gamma\n"
    )

    uploaded = client.post(
        "/import-contacts",
        data={"csrf_token": token},
        files={"file": ("people.csv", body.encode(), "text/csv")},
    )
    assert uploaded.status_code == 303
    page = client.get(uploaded.headers["location"])
    assert 'value="email" selected' in page.text  # guessed from "Work Email"
    assert "malformed email: &#39;broken&#39;" in page.text  # the preview says so
    url = uploaded.headers["location"]
    columns = {
        "column.0": "email",
        "column.1": "first_name",
        "column.2": "last_name",
        "column.3": SKIP,
    }
    preview = client.post(
        url, data={"csrf_token": token, "action": "preview"} | columns
    )
    assert preview.status_code == 200 and "Employer" in preview.text
    assert "<td>Acme</td>" not in preview.text  # the company column is not imported
    started = client.post(url, data={"csrf_token": token, "action": "import"} | columns)
    assert started.status_code == 303
    app.state.imports.join(url.rsplit("/", 1)[1], timeout=30)  # every row answered
    progress = client.get(f"{url}/progress").json()
    assert (progress["state"], progress["total"], progress["answered"]) == (
        "done",
        3,
        3,
    )
    report = client.get(url).text
    assert f"Lead {LEAD}" in report and "created" in report
    download = client.get(f"{url}/report.csv")
    assert download.headers["content-type"].startswith("text/csv")
    lines = download.text.splitlines()
    assert lines[0] == "row,email,name,company,outcome,object,salesforce_id,reason"
    assert lines[1].startswith(f"1,known@example.org,Kay Known,,matched,Lead,{LEAD}")
    assert lines[3] == "3,broken,,,failed,,,malformed email: 'broken'"


def test_a_mapping_without_email_or_name_is_not_imported(tmp_path: Path) -> None:
    app = create_app(_settings(), _status)
    app.state.imports = Imports(tmp_path, TOPIC, _Pipeline().ports)
    client = TestClient(app, follow_redirects=False)
    _login(client)
    token = _csrf(client.get("/import-contacts").text)
    url = client.post(
        "/import-contacts",
        data={"csrf_token": token},
        files={"file": ("p.csv", b"Email,Phone\na@example.org,1\n", "text/csv")},
    ).headers["location"]
    answer = client.post(
        url,
        data={
            "csrf_token": token,
            "action": "import",
            "column.0": SKIP,
            "column.1": "phone",
        },
    )
    assert answer.status_code == 422 and "a row needs an email or a name" in answer.text
    assert client.get(f"{url}/progress").json()["state"] == "uploaded"


def test_a_restarted_console_carries_on_an_unfinished_import(tmp_path: Path) -> None:
    """Sent but not answered when the console stopped: a new console over the same
    folder shows the same progress, then follows the results to the end."""
    pipeline = _Pipeline()
    first = Imports(tmp_path, TOPIC, pipeline.ports)
    body = b"Email,Last Name\na@example.org,A\nb@example.org,B\n"
    import_id = first.create(io.BytesIO(body), "p.csv", "admin")
    report = first.report(import_id)
    report.set_meta(mapping=["email", "last_name"], state="importing")
    first.job(import_id).send()  # then the console stopped
    assert report.progress().as_dict() | {"counts": None} == {
        "state": "waiting",
        "total": 2,
        "sent": 2,
        "answered": 0,
        "percent": 0,
        "counts": None,
        "error": None,
    }

    again = Imports(tmp_path, TOPIC, pipeline.ports)
    again.resume()
    again.join(import_id, timeout=30)

    progress = report.progress()
    assert (progress.state, progress.answered, progress.counts["created"]) == (
        "done",
        2,
        2,
    )
    assert len(pipeline.sink.sent) == 2  # nothing sent twice


def test_a_file_that_is_no_csv_gets_one_line_not_a_server_error(
    tmp_path: Path,
) -> None:
    app = create_app(_settings(), _status)
    app.state.imports = Imports(tmp_path, TOPIC, _Pipeline().ports)
    client = TestClient(app, follow_redirects=False)
    _login(client)
    token = _csrf(client.get("/import-contacts").text)
    huge_field = b'Email\n"' + b"x" * (5 * 1024 * 1024) + b'"\n'
    url = client.post(
        "/import-contacts",
        data={"csrf_token": token},
        files={"file": ("p.csv", huge_field, "text/csv")},
    ).headers["location"]

    page = client.get(url)
    assert page.status_code == 200
    assert "the file cannot be read as CSV: field larger than field limit" in page.text
    answer = client.post(url, data={"csrf_token": token, "action": "import"})
    assert answer.status_code == 422


def test_an_import_begun_on_another_broker_fails_with_one_line(tmp_path: Path) -> None:
    pipeline = _Pipeline()
    imports = Imports(tmp_path, TOPIC, pipeline.ports)
    import_id = imports.create(io.BytesIO(b"Email\na@example.org\n"), "p.csv", "a")
    report = imports.report(import_id)
    report.set_meta(mapping=["email"], state="waiting", total=1, sent=1)
    report.set_meta(offsets={"0": 5_000})  # the results topic now ends at 0

    imports.job(import_id).run()

    progress = report.progress()
    assert progress.state == "failed"
    assert progress.error is not None and "import the file again" in progress.error
