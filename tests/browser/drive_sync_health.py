"""Drive the Sync health page in a browser: find a dead letter by reason, resubmit
it (or every open letter of a reason), wait for "written", pick an ambiguous match.

Each function expects a logged-in `page` (see `test_console_connection._log_in`)
and the console's base `url`; the waits reload the page until the state shows, as
outcomes arrive when the writer answers, not when the button is clicked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.waiting import wait_until


def open_sync_health(page: Any, url: str, reason: str | None = None) -> None:
    """Show the page, narrowed to one reason's letters when given."""
    page.goto(f"{url}/sync-health" + (f"?reason={quote(reason)}" if reason else ""))


def _shown(page: Any, url: str, reason: str, selector: str) -> Any:
    open_sync_health(page, url, reason)
    found = page.locator(selector)
    return found.first if found.count() else None


def wait_for_letter(
    page: Any, url: str, reason: str, containing: str = "", timeout: float = 90.0
) -> str:
    """Wait for an open (not resubmitted) letter of `reason` whose text contains
    `containing`; returns its id (`<dlq>/<partition>/<offset>`)."""
    selector = f"article[data-reason='{reason}'][data-outcome=open]"
    if containing:
        selector += f":has-text('{containing}')"
    letter = wait_until(
        lambda: _shown(page, url, reason, selector),
        timeout,
        what=f"an open {reason} letter",
    )
    return str(letter.get_attribute("data-letter"))


def message_of(page: Any, letter: str) -> str:
    """Salesforce's message, as the page shows it for the letter."""
    return str(
        page.text_content(f"article[data-letter='{letter}'] [data-field=message]")
    )


def resubmit_letter(page: Any, letter: str) -> str:
    """Click the letter's Resubmit; returns the page's notice."""
    with page.expect_navigation():
        page.click(f"article[data-letter='{letter}'] [data-action=resubmit-letter]")
    return str(page.text_content("[data-field=notice]"))


def resubmit_reason(page: Any, url: str, reason: str) -> str:
    """Resubmit every letter of `reason` not yet resubmitted; returns the notice."""
    open_sync_health(page, url)
    with page.expect_navigation():
        page.click(f"tr[data-reason='{reason}'] [data-action=resubmit-reason]")
    return str(page.text_content("[data-field=notice]"))


def wait_for_outcome(
    page: Any,
    url: str,
    reason: str,
    letter: str,
    outcome: str = "written",
    timeout: float = 90.0,
) -> str:
    """Wait until the letter shows `outcome` (written / failed); returns its state
    line, e.g. "resubmitted, written … by admin at …"."""
    selector = f"article[data-letter='{letter}'][data-outcome={outcome}]"
    wait_until(
        lambda: _shown(page, url, reason, selector),
        timeout,
        what=f"{letter} {outcome}",
    )
    return str(page.text_content(f"{selector} [data-field=state]"))


def pick_candidate(
    page: Any,
    url: str,
    engage_contact_id: str,
    salesforce_id: str,
    timeout: float = 90.0,
) -> str:
    """Wait for the contact in the ambiguous-match queue, choose `salesforce_id`
    and link; returns the notice."""
    row = f"tr[data-contact='{engage_contact_id}']"
    wait_until(lambda: _shown(page, url, "", row), timeout, what=f"{row} queued")
    page.check(f"{row} input[value='{salesforce_id}']")
    with page.expect_navigation():
        page.click(f"{row} [data-action=pick]")
    return str(page.text_content("[data-field=notice]"))
