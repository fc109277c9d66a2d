"""The terminal view of `engage-sync status`: one small table per part."""

from __future__ import annotations

import sys
from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from engage_sync.connection.model import Status


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*map(Text, row))  # Text: data is never markup
    if not rows:
        table.caption = "none"
    return table


def render(found: Status) -> None:
    """Print every part, then each part that failed as one line."""
    console = Console(width=None if sys.stdout.isatty() else 200)
    o, a = found.org, found.api
    console.print(
        _table(
            "Salesforce org (times in UTC)",
            (
                "org id",
                "name",
                "edition",
                "integration user",
                "API calls today",
                "engage-sync 24 h",
                "our share",
            ),
            [
                (
                    o.org_id or "-",
                    o.name or "-",
                    (o.edition or "-") + (" (sandbox)" if o.is_sandbox else ""),
                    o.integration_user or "-",
                    f"{a.org_used:,} of {a.org_limit:,}" if a.org_limit else "-",
                    f"{a.our_calls_24h:,}" if a.our_calls_24h is not None else "-",
                    f"{a.our_share:.0%}"
                    + (f" = {a.our_allowance:,}" if a.our_allowance else ""),
                )
            ],
        )
    )
    yes = {True: "yes", False: "NO"}
    console.print(
        _table(
            "permissions",
            ("object", "read", "create", "edit"),
            [
                (p.object, yes[p.read], yes[p.create], yes[p.edit])
                for p in found.permissions
            ],
        )
    )
    console.print(
        _table(
            "per-user connections",
            ("user", "state", "Salesforce user", "since"),
            [
                (u.user_id, u.action, u.salesforce_user_id or "-", _when(u.occurred_at))
                for u in found.users
            ],
        )
    )
    console.print(
        _table(
            "last poll per object",
            ("object", "kind", "read up to", "last id"),
            [
                (p.object, p.kind, _when(p.position), p.last_id or "-")
                for p in found.polls
            ],
        )
    )
    console.print(
        _table(
            "consumer lag",
            ("group", "state", "members", "lag", "seconds"),
            [
                (
                    g.group,
                    g.state,
                    "?" if g.members is None else str(g.members),
                    f"{g.lag:,}",
                    f"{g.lag_seconds}",
                )
                for g in found.lag
            ],
        )
    )
    console.print(
        _table(
            "dead letters by reason",
            ("reason", "count", "last seen"),
            [
                (d.reason, f"{d.count:,}", _when(d.last_seen))
                for d in found.dead_letters
            ],
        )
    )
    for part, problem in found.errors.items():
        console.print(Text(f"could not read {part}: {problem}", style="red"))
