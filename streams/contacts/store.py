"""Engage's copy in local SQLite (on disk: 1M contacts stay small in RAM), indexed."""

from __future__ import annotations

import json
import marshal
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from domain.contacts.models import EngageContact
from domain.contacts.normalize import name_phone_key, normalize_email

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
  id TEXT PRIMARY KEY, sf_id TEXT, email TEXT, name_phone TEXT, updated INTEGER,""" \
""" body TEXT);
CREATE INDEX IF NOT EXISTS contacts_sf ON contacts(sf_id);
CREATE INDEX IF NOT EXISTS contacts_email ON contacts(email);
CREATE INDEX IF NOT EXISTS contacts_np ON contacts(name_phone);
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, sf_id TEXT, body TEXT);
CREATE INDEX IF NOT EXISTS accounts_sf ON accounts(sf_id);
"""
# Most ids in one `IN (...)`: far below SQLite's bound on a statement's variables.
_IDS_PER_QUERY = 500


def _body(contact: EngageContact) -> bytes:
    # marshal, not JSON: about 4x cheaper to write and 1.5x to read. The file is a
    # cache of this process's (rebuilt from engage.contacts at every start), so the
    # format never has to outlive this Python version.
    return marshal.dumps(contact.to_record())


def _contact(body: bytes | str) -> EngageContact:
    # A str body is JSON, as earlier versions wrote them.
    record: dict[str, Any] = (
        marshal.loads(body) if isinstance(body, bytes) else json.loads(body)  # noqa: S302
    )
    return EngageContact.from_record(record)


class ContactStore:
    """The latest EngageContact per id; lookups by Salesforce id, email, name+phone.

    It is a cache: the compacted topic is the truth and the store is rebuilt from it
    whenever a worker starts, so nothing here needs to survive a crash.
    """

    def __init__(self, path: Path | str = ":memory:", phone_region: str = "US") -> None:
        self.db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None
        )
        # The rollback journal in memory, not OFF: without one, ROLLBACK cannot
        # undo a batch (in memory nothing, on disk what spilled from the cache), and
        # a batch whose outputs Kafka did not acknowledge must leave no trace here.
        self.db.executescript(
            "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF;" + _SCHEMA
        )
        self.phone_region = phone_region

    def _row(self, contact: EngageContact) -> tuple[object, ...]:
        # The name+phone key only serves matching unlinked contacts (the lookup asks
        # for sf_id IS NULL), so linked ones skip the ~50 µs phone parse: a rebuild
        # of 1M linked contacts would spend most of its time there.
        key = (
            name_phone_key(
                contact.first_name, contact.last_name, contact.phone,
                self.phone_region,
            )
            if contact.salesforce_id is None
            else None
        )
        return (
            contact.engage_contact_id,
            contact.salesforce_id,
            normalize_email(contact.email),
            key,
            contact.updated_at_ms,
            _body(contact),
        )

    def put(self, contact: EngageContact) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO contacts VALUES (?,?,?,?,?,?)", self._row(contact)
        )

    def put_if_newer(self, contact: EngageContact) -> bool:
        """Apply a record read back from the topic unless we hold a newer one."""
        row = self.db.execute(
            "SELECT updated FROM contacts WHERE id=?", (contact.engage_contact_id,)
        ).fetchone()
        if row is not None and row[0] >= contact.updated_at_ms:
            return False  # ours already (read back), or older than what we hold
        self.put(contact)
        return True

    def put_many_if_newer(self, contacts: Iterable[EngageContact]) -> None:
        """`put_if_newer` for many, in order, as one statement (a rebuild's path)."""
        self.db.executemany(
            "INSERT INTO contacts VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
            " sf_id=excluded.sf_id, email=excluded.email,"
            " name_phone=excluded.name_phone, updated=excluded.updated,"
            " body=excluded.body WHERE excluded.updated > contacts.updated",
            (self._row(c) for c in contacts),
        )

    def batch(self) -> _Batch:
        """One transaction for a batch of changes (statement-level commits are slow)."""
        return _Batch(self.db)

    def delete(self, engage_contact_id: str) -> None:
        self.db.execute("DELETE FROM contacts WHERE id=?", (engage_contact_id,))

    def _one(self, where: str, arg: str | None) -> EngageContact | None:
        if arg is None:
            return None
        row = self.db.execute(
            f"SELECT body FROM contacts WHERE {where} ORDER BY updated DESC LIMIT 1",  # noqa: S608
            (arg,),
        ).fetchone()
        return _contact(row[0]) if row else None

    def get(self, engage_contact_id: str) -> EngageContact | None:
        return self._one("id=?", engage_contact_id)

    def by_salesforce_id(self, salesforce_id: str) -> EngageContact | None:
        return self._one("sf_id=?", salesforce_id)

    def by_salesforce_ids(self, salesforce_ids: list[str]) -> dict[str, EngageContact]:
        """`by_salesforce_id` for many at once (a batch's): the found ones only."""
        wanted = list(dict.fromkeys(salesforce_ids))
        found: dict[str, EngageContact] = {}
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            rows = self.db.execute(
                "SELECT sf_id, body FROM contacts"  # noqa: S608
                f" WHERE sf_id IN ({','.join('?' * len(chunk))}) ORDER BY updated",
                chunk,
            )
            # Ascending: an id's latest contact is the one kept, as by_salesforce_id's.
            found.update((sf_id, _contact(body)) for sf_id, body in rows)
        return found

    def unlinked_by_email(self, email: str | None) -> EngageContact | None:
        return self._one("email=? AND sf_id IS NULL", normalize_email(email))

    def unlinked_by_name_phone(
        self, first: str | None, last: str | None, phone: str | None
    ) -> EngageContact | None:
        key = name_phone_key(first, last, phone, self.phone_region)
        return self._one("name_phone=? AND sf_id IS NULL", key)

    def known(self, ids: list[str], salesforce_ids: list[str]) -> set[str]:
        """Which of `ids` (Engage ids) and `salesforce_ids` are stored, in one query."""
        if not ids and not salesforce_ids:
            return set()
        marks = ",".join("?" * len(ids)) or "NULL"
        sf_marks = ",".join("?" * len(salesforce_ids)) or "NULL"
        rows = self.db.execute(
            f"SELECT id, sf_id FROM contacts WHERE id IN ({marks})"  # noqa: S608
            f" OR sf_id IN ({sf_marks})",
            (*ids, *salesforce_ids),
        ).fetchall()
        return {value for row in rows for value in row if value is not None}

    def by_email(self, email: str | None) -> EngageContact | None:
        return self._one("email=?", normalize_email(email))

    def has_unlinked(self) -> bool:
        """Whether any contact awaits a link (only then is email/phone matching run)."""
        return self.db.execute(
            "SELECT 1 FROM contacts WHERE sf_id IS NULL LIMIT 1"
        ).fetchone() is not None

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM contacts").fetchone()[0])

    def all(self) -> list[EngageContact]:
        rows = self.db.execute("SELECT body FROM contacts ORDER BY id").fetchall()
        return [_contact(r[0]) for r in rows]

    def put_account(self, record: dict[str, object]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO accounts VALUES (?,?,?)",
            (
                record["engage_account_id"],
                record.get("salesforce_id"),
                json.dumps(record, default=str, separators=(",", ":")),
            ),
        )

    def account(self, engage_account_id: str) -> dict[str, object] | None:
        row = self.db.execute(
            "SELECT body FROM accounts WHERE id=?", (engage_account_id,)
        ).fetchone()
        return json.loads(row[0]) if row else None


class _Batch:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
