"""Drive the Poll Historical Data page in a real browser (Playwright's sync API).

Each function expects a logged-in page of the console (see `_log_in` in
`test_console_connection.py`) and the object's settings saved (its rules, or none
with `all_records`). They are chained by the issue's walk-through test:
`open_backfill` → `preview_backfill` → `start_backfill` → `wait_backfill_done`.
"""

from __future__ import annotations

from typing import Any

DONE_TIMEOUT_MS = 120_000


def open_backfill(page: Any, url: str, obj: str = "Lead") -> None:
    """Go to the page of `obj` (from any page of the console)."""
    page.goto(f"{url}/poll-historical-data?object={obj}")
    page.wait_for_selector("h1:has-text('Poll Historical Data')")


def rules_shown(page: Any) -> str:
    """The rules in force as the page writes them ('' for none)."""
    found = page.locator("[data-field=rules]")
    return (found.text_content() or "").strip() if found.count() else ""


def preview_backfill(page: Any, all_records: bool = False) -> tuple[int, int]:
    """Click "Count and price"; the page must show the start form (no backfill
    of the object running).

    Returns:
        The matching records and the backfill's cost in API calls, as shown.
    """
    if all_records:
        page.check("#all-records")
    with page.expect_navigation():
        page.click("button[value=preview]")
    matching = page.text_content("[data-field=matching]") or ""
    calls = page.text_content("[data-field=calls]") or ""
    return int(matching.replace(",", "")), int(calls.replace(",", ""))


def start_backfill(page: Any, all_records: bool = False) -> dict[str, Any]:
    """Confirm the start shown after `preview_backfill`; waits for the progress
    box of the running (or already finished) backfill.

    Returns:
        The progress box's numbers right after the start (`read_progress`).
    """
    if all_records and page.locator("#all-records").count():
        page.check("#all-records")
    with page.expect_navigation():
        page.click("button[value=start]")
    page.wait_for_selector("[data-backfill-progress]")
    problems = page.locator("[data-field=problem]").all_text_contents()
    assert not problems, problems
    return read_progress(page)


def read_progress(page: Any) -> dict[str, Any]:
    """The progress box: state, read and total (None while unknown), percent."""
    box = page.locator("[data-backfill-progress]")

    def number(name: str) -> int | None:
        text = (box.locator(f"[data-field={name}]").text_content() or "").strip()
        return None if text in ("", "?") else int(text.replace(",", ""))

    return {
        "state": box.get_attribute("data-state"),
        "read": number("read"),
        "total": number("total"),
        "percent": number("percent"),
    }


def wait_backfill_read(page: Any, at_least: int = 1, timeout_ms: int = 60_000) -> int:
    """Wait until the running page's own script shows `at_least` records read
    (no reload: the numbers it fetches every second); returns the count shown."""
    page.wait_for_function(
        """([n]) => {
            const box = document.querySelector("[data-backfill-progress]");
            const el = box && box.querySelector("[data-field=read]");
            return el && parseInt(el.textContent.replace(/,/g, ""), 10) >= n;
        }""",
        arg=[at_least],
        timeout=timeout_ms,
    )
    shown = read_progress(page)["read"]
    assert shown is not None
    return int(shown)


def wait_backfill_done(page: Any, timeout_ms: int = DONE_TIMEOUT_MS) -> dict[str, Any]:
    """Wait until the backfill is done (the page redraws itself when it stops);
    fails with the page's message when it stopped otherwise.

    Returns:
        The final progress box (`read_progress`).
    """
    page.wait_for_selector(
        "[data-backfill-progress]:not([data-state=running])", timeout=timeout_ms
    )
    progress = read_progress(page)
    if progress["state"] != "done":
        message = page.locator("[data-field=message]")
        why = message.text_content() if message.count() else ""
        raise AssertionError(f"backfill {progress['state']}: {why}")
    return progress


def cancel_backfill(page: Any) -> dict[str, Any]:
    """Click "Cancel the backfill" on a running one; returns the box after it."""
    with page.expect_navigation():
        page.click("button[value=cancel]")
    return read_progress(page)
