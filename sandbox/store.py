"""SQLite persistence: records, lookup keys, tokens, settings and counters."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sandbox import ids
from sandbox.values import normalize_key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    sobject TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    system_modstamp TEXT NOT NULL,
    deleted_date TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_object ON records(sobject, is_deleted);
CREATE TABLE IF NOT EXISTS lookup_keys (
    sobject TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (sobject, field, value, id)
);
CREATE INDEX IF NOT EXISTS lookup_keys_by_id ON lookup_keys(id);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    username TEXT NOT NULL,
    client_id TEXT NOT NULL,
    issued_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Store:
    """One SQLite connection guarded by a re-entrant lock.

    Every access takes the lock, and a transaction holds it until it ends, so
    concurrent requests are serialized and never see each other's uncommitted
    writes. Nested transactions become savepoints, which is what lets
    collections and composite requests roll back one record or everything.
    """

    def __init__(self, path: Path, indexed_fields: dict[str, tuple[str, ...]]) -> None:
        self.path = path
        self.indexed_fields = indexed_fields
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=30
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across process crashes in WAL mode; FULL only adds
        # protection against power loss, which a test sandbox does not need.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- transactions -------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Atomic block; nested use creates a savepoint. Rolls back on exception."""
        with self._lock:
            depth = self._depth
            if depth == 0:
                self._conn.execute("BEGIN IMMEDIATE")
            else:
                self._conn.execute(f"SAVEPOINT sp{depth}")
            self._depth += 1
            try:
                yield
            except BaseException:
                if depth == 0:
                    self._conn.execute("ROLLBACK")
                else:
                    self._conn.execute(f"ROLLBACK TO sp{depth}")
                    self._conn.execute(f"RELEASE sp{depth}")
                raise
            else:
                if depth == 0:
                    self._conn.execute("COMMIT")
                else:
                    self._conn.execute(f"RELEASE sp{depth}")
            finally:
                self._depth -= 1

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All or nothing for a few statements of ours: a transaction of its own at
        the top, else part of the enclosing one (no savepoint: whoever catches an
        error and carries on holds a savepoint of its own, see `transaction`)."""
        with self._lock:
            if self._depth:
                yield
                return
            with self.transaction():
                yield

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store lock (e.g. for a consistent multi-read)."""
        with self._lock:
            yield

    # -- records ------------------------------------------------------------
    def next_id(self, sobject: str) -> str:
        return ids.make_id(ids.PREFIXES[sobject], self._incr("id_seq", 1))

    def put(self, sobject: str, record: dict[str, Any]) -> None:
        """Insert or replace a whole record (needs Id, SystemModstamp, IsDeleted)."""
        rid = record["Id"]
        # The record row and its lookup keys must change together.
        with self.atomic():
            self._conn.execute(
                "INSERT OR REPLACE INTO records"
                "(id, sobject, is_deleted, system_modstamp, deleted_date, data)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    rid,
                    sobject,
                    int(bool(record.get("IsDeleted"))),
                    record["SystemModstamp"],
                    record.get("_DeletedDate"),
                    json.dumps(record, separators=(",", ":")),
                ),
            )
            self._conn.execute("DELETE FROM lookup_keys WHERE id = ?", (rid,))
            rows = [
                (sobject, name, normalize_key(record[name]), rid)
                for name in self.indexed_fields.get(sobject, ())
                if record.get(name) not in (None, "")
            ]
            if rows:
                self._conn.executemany(
                    "INSERT OR IGNORE INTO lookup_keys VALUES (?, ?, ?, ?)", rows
                )

    def get(self, rid: str) -> tuple[str, dict[str, Any]] | None:
        """(sobject, record) for an 18-char id, deleted or not."""
        with self._lock:
            row = self._conn.execute(
                "SELECT sobject, data FROM records WHERE id = ?", (rid,)
            ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def get_many(self, rids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(rids))
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for rid, data in self._conn.execute(
                    f"SELECT id, data FROM records WHERE id IN ({marks})", chunk
                ):
                    out[rid] = json.loads(data)
        return out

    def find(
        self, sobject: str, field: str, value: object, include_deleted: bool = False
    ) -> list[str]:
        """Ids whose indexed field matches value (case-insensitive, trimmed)."""
        sql = (
            "SELECT k.id FROM lookup_keys k JOIN records r ON r.id = k.id"
            " WHERE k.sobject = ? AND k.field = ? AND k.value = ?"
        )
        if not include_deleted:
            sql += " AND r.is_deleted = 0"
        with self._lock:
            rows = self._conn.execute(
                sql + " ORDER BY k.id", (sobject, field, normalize_key(value))
            ).fetchall()
        return [r[0] for r in rows]

    def all(self, sobject: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """All records of an object in creation (Id) order."""
        sql = "SELECT data FROM records WHERE sobject = ?"
        if not include_deleted:
            sql += " AND is_deleted = 0"
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY id", (sobject,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT sobject, COUNT(*) FROM records WHERE is_deleted = 0"
                " GROUP BY sobject"
            ).fetchall()
        return {name: n for name, n in rows}

    def delete_all_records(self) -> None:
        with self.transaction():
            self._conn.execute("DELETE FROM records")
            self._conn.execute("DELETE FROM lookup_keys")

    # -- tokens -------------------------------------------------------------
    def add_token(
        self, token: str, kind: str, username: str, client_id: str, issued_at: float
    ) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, 0)",
                (token, kind, username, client_id, issued_at),
            )

    def get_token(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT kind, username, client_id, issued_at, revoked FROM tokens"
                " WHERE token = ?",
                (token,),
            ).fetchone()
        if row is None:
            return None
        keys = ("kind", "username", "client_id", "issued_at", "revoked")
        return dict(zip(keys, row, strict=True))

    def revoke_tokens(self, kinds: tuple[str, ...] = ("access",)) -> int:
        marks = ",".join("?" * len(kinds))
        with self._lock:
            cur = self._conn.execute(
                "UPDATE tokens SET revoked = 1"
                f" WHERE revoked = 0 AND kind IN ({marks})",
                kinds,
            )
        return cur.rowcount

    # -- settings & counters ------------------------------------------------
    def get_setting(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM settings WHERE key = ?", (key,)
            ).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO settings VALUES (?, ?)",
                (key, json.dumps(value)),
            )

    def counter(self, name: str) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM counters WHERE name = ?", (name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def set_counter(self, name: str, value: int) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO counters VALUES (?, ?)", (name, value)
            )

    def _incr(self, name: str, by: int) -> int:
        with self._lock:
            row = self._conn.execute(
                "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name)"
                " DO UPDATE SET value = value + excluded.value RETURNING value",
                (name, by),
            ).fetchone()
            return int(row[0])

    def try_consume_api_call(self, limit: int) -> tuple[bool, int]:
        """Count one API call unless the limit is reached: (allowed, used)."""
        # A transaction (BEGIN IMMEDIATE) keeps check-and-increment atomic even
        # when another process serves the same data dir.
        with self.transaction():
            used = self.counter("api_usage")
            if used >= limit:
                return False, used
            return True, self._incr("api_usage", 1)
