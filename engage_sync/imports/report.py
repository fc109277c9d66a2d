"""One import's report on disk (SQLite): its rows' outcomes, progress and offsets.

On disk, not in the web process's memory: 100,000 rows cost a few MB of file, a
reload (or a restarted console) reads the same progress, and the results
follower resumes from the offsets saved with the outcomes they produced.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engage_sync.imports.outcomes import KINDS, RowOutcome
from engage_sync.imports.rows import Row

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    number INTEGER PRIMARY KEY, email TEXT, name TEXT, company TEXT,
    outcome TEXT, object TEXT, salesforce_id TEXT, reason TEXT
);
CREATE INDEX IF NOT EXISTS rows_outcome ON rows (outcome);
"""
CSV_HEADER = (
    "row",
    "email",
    "name",
    "company",
    "outcome",
    "object",
    "salesforce_id",
    "reason",
)


@dataclass(frozen=True)
class Progress:
    """How far an import is: rows read, sent to the pipeline, and answered."""

    state: str  # uploaded / importing / waiting / done / failed
    total: int
    sent: int
    answered: int
    counts: dict[str, int]
    error: str | None = None

    @property
    def percent(self) -> int:
        return int(100 * self.answered / self.total) if self.total else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "total": self.total,
            "sent": self.sent,
            "answered": self.answered,
            "percent": self.percent,
            "counts": self.counts,
            "error": self.error,
        }


def _cell(value: Any) -> Any:
    """A report cell, defused: a spreadsheet runs a cell starting with = + - @ as a
    formula, and a CSV row's text is whatever the uploaded file said."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class Report:
    """The report of the import in `folder` (created when missing)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(folder / "report.sqlite3", check_same_thread=False)
        # WAL with NORMAL sync: a commit per batch without an fsync each; a power
        # cut may lose the last answers, which the follower then reads again.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- meta ------------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        with self._lock:
            found = self._db.execute(
                "SELECT value FROM meta WHERE key = ?", (key,)
            ).fetchone()
        return json.loads(found[0]) if found else default

    def set_meta(self, **values: Any) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in values.items()],
            )

    # -- rows ------------------------------------------------------------------------
    def add_rows(self, rows: Iterable[tuple[Row, RowOutcome | None]]) -> None:
        """Rows read (an outcome only for those refused before sending)."""
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO rows VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.number,
                        r.values.get("email"),
                        r.name,
                        r.values.get("company"),
                        o.kind if o else None,
                        o.sobject if o else None,
                        o.salesforce_id if o else None,
                        o.reason if o else None,
                    )
                    for r, o in rows
                ],
            )

    def answer(self, outcomes: dict[int, RowOutcome], **meta: Any) -> None:
        """Rows the pipeline answered, saved with `meta` (the follower's offsets) in
        one transaction, so a resumed follower never skips an answer. A row keeps
        its first answer: a redelivered command's second result changes nothing."""
        with self._lock, self._db:
            self._db.executemany(
                "UPDATE rows SET outcome = ?, object = ?, salesforce_id = ?, reason = ?"
                " WHERE number = ? AND outcome IS NULL",
                [
                    (o.kind, o.sobject, o.salesforce_id, o.reason, n)
                    for n, o in outcomes.items()
                ],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in meta.items()],
            )

    def progress(self) -> Progress:
        with self._lock:
            counts = dict(
                self._db.execute(
                    "SELECT outcome, COUNT(*) FROM rows WHERE outcome IS NOT NULL"
                    " GROUP BY outcome"
                ).fetchall()
            )
        answered = sum(counts.values())
        return Progress(
            state=self.meta("state", "uploaded"),
            total=self.meta("total", 0),
            sent=self.meta("sent", 0),
            answered=answered,
            counts={k: counts.get(k, 0) for k in KINDS},
            error=self.meta("error"),
        )

    def rows(
        self, outcome: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[tuple[Any, ...]]:
        """One page of the report, in row order (`outcome` "waiting": unanswered)."""
        args: tuple[Any, ...]
        where, args = "", ()
        if outcome == "waiting":
            where = "WHERE outcome IS NULL"
        elif outcome:
            where, args = "WHERE outcome = ?", (outcome,)
        with self._lock:
            return self._db.execute(
                f"SELECT * FROM rows {where} ORDER BY number LIMIT ? OFFSET ?",  # noqa: S608
                (*args, limit, offset),
            ).fetchall()

    def csv_chunks(self, page: int = 5000) -> Iterator[str]:
        """The whole report as CSV text, a page of rows at a time."""
        last = 0
        out = io.StringIO()
        csv.writer(out).writerow(CSV_HEADER)
        yield out.getvalue()
        while True:
            with self._lock:
                found = self._db.execute(
                    "SELECT * FROM rows WHERE number > ? ORDER BY number LIMIT ?",
                    (last, page),
                ).fetchall()
            if not found:
                return
            out = io.StringIO()
            writer = csv.writer(out)
            for row in found:
                writer.writerow([_cell(v) for v in row])
            last = found[-1][0]
            yield out.getvalue()
