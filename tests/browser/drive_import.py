"""Driving the Import contacts page in a browser, for this tier's tests and the
issue's walk-through. Each function expects a logged-in page of the console."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DONE_TIMEOUT_MS = 240_000
HEADER = "E-mail,First Name,Surname,Company,Notes"
# Bad rows and the reason the report gives for each.
BAD_ROWS = (
    ("broken-email,Bo,Bad,NewCo,x", "malformed email: 'broken-email'"),
    (",,,NewCo,x", "no email and no name"),
    ("two@@example.org,Bo,Bad,NewCo,x", "malformed email: 'two@@example.org'"),
    (",,,,x", "no email and no name"),
    (
        "spaced out@example.org,Bo,Bad,NewCo,x",
        "malformed email: 'spaced out@example.org'",
    ),
)


def contacts_csv(
    target: Path, known: list[str], new: int, bad: int = 5
) -> tuple[Path, dict[int, str]]:
    """A CSV of the `known` emails (rows 1.., found in Salesforce), `new` new people,
    and `bad` bad rows (of BAD_ROWS, in turn) placed after row 40; returns the file
    and the bad rows' numbers with their expected reasons."""
    rows = [f"{email},Kay,Known{i},K,x" for i, email in enumerate(known)]
    rows += [f"p{i}@people.example,Pat,P{i},NewCo,x" for i in range(new)]
    at = min(40, len(rows))
    picked = [BAD_ROWS[i % len(BAD_ROWS)] for i in range(bad)]
    rows[at:at] = [line for line, _ in picked]
    target.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return target, {at + 1 + i: reason for i, (_, reason) in enumerate(picked)}


def upload_csv(page: Any, url: str, csv_file: Path) -> str:
    """Open Import contacts, upload `csv_file`; returns the import's page URL (its
    column mapping and preview are shown, nothing imported yet)."""
    page.goto(f"{url}/import-contacts")
    page.set_input_files("#import-file", str(csv_file))
    with page.expect_navigation():
        page.click("form[action='/import-contacts'] button[type=submit]")
    page.wait_for_selector("#import-preview")
    return str(page.url)


def guessed_columns(page: Any) -> dict[str, str]:
    """On the mapping page: the Engage field chosen for each column, by header."""
    out = {}
    for row in page.locator("tr[data-column]").all():
        header = row.get_attribute("data-column")
        out[header] = row.locator("select").input_value()
    return out


def map_columns(page: Any, columns: dict[str, str]) -> list[dict[str, str]]:
    """Choose the Engage field ("" = do not import) of the given columns, preview;
    returns the preview's rows (header text -> cell, and "Check")."""
    for header, field in columns.items():
        page.select_option(f"tr[data-column='{header}'] select", field)
    with page.expect_navigation():
        page.click("button[value=preview]")
    heads = page.locator("#import-preview thead th").all_inner_texts()
    rows = []
    for tr in page.locator("#import-preview tbody tr[data-row]").all():
        rows.append(dict(zip(heads, tr.locator("td").all_inner_texts(), strict=True)))
    return rows


def start_import(page: Any) -> None:
    """Import with the columns shown; lands on the progress and report page."""
    with page.expect_navigation():
        page.click("#start-import")
    page.wait_for_selector("#import-progress")


def wait_import_done(page: Any, timeout_ms: int = DONE_TIMEOUT_MS) -> dict[str, int]:
    """Wait until every row has its outcome (the page reloads itself when done);
    returns the counts by outcome the page shows."""
    page.wait_for_selector("#import-status[data-state=done]", timeout=timeout_ms)
    return report_counts(page)


def report_counts(page: Any) -> dict[str, int]:
    counts = {}
    for link in page.locator("[data-count]").all():
        counts[str(link.get_attribute("data-count"))] = int(
            re.sub(r"\D", "", link.locator("span").inner_text()) or 0
        )
    return counts


def failed_reasons(page: Any) -> dict[int, str]:
    """Row number -> reason, from the report filtered to failed rows."""
    with page.expect_navigation():
        page.click("[data-count=failed]")
    return {
        int(tr.get_attribute("data-row")): tr.locator("td").nth(6).inner_text()
        for tr in page.locator("#import-report tr[data-outcome=failed]").all()
    }


def download_report(page: Any, target: Path) -> str:
    """Download the report as CSV to `target`; returns its text."""
    with page.expect_download() as info:
        page.click("#download-report")
    info.value.save_as(str(target))
    return target.read_text(encoding="utf-8")
