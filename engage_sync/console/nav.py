"""The navigation bar: the eight pages of the guide's CRM Settings tab, in order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One entry of the navigation bar; `built` False renders a placeholder."""

    slug: str
    title: str
    built: bool
    summary: str


PAGES = (
    Page(
        "connection",
        "Connection",
        True,
        "The org, permissions, API calls, users, polls, lag and dead letters.",
    ),
    Page(
        "sync-rules",
        "Sync rules",
        True,
        "Which Salesforce records sync to Engage: AND/OR conditions per object, "
        "with a preview of how many records match.",
    ),
    Page(
        "field-mapping",
        "Field mapping",
        True,
        "Engage fields against Salesforce fields, with examples, defaults and "
        "sync direction.",
    ),
    Page("sync", "Sync", True, "The On/Off toggle and poll interval per object."),
    Page(
        "poll-historical-data",
        "Poll Historical Data",
        True,
        "A backfill of the records the rules select, with live progress.",
    ),
    Page(
        "sync-settings",
        "Sync settings",
        True,
        "Contacts and accounts created in Engage, auto-associate, activity "
        "history, match order.",
    ),
    Page(
        "sync-health",
        "Sync health",
        True,
        "Dead letters by reason, resubmission, and the ambiguous-match queue.",
    ),
    Page(
        "import-contacts",
        "Import contacts",
        True,
        "Upload a CSV of contacts, map its columns and follow a per-row report.",
    ),
)
