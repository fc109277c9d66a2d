"""What Engage reads through the console's API: a linked contact's current Salesforce
record and the Task Subject picklist, each cached and spent at the budget's lowest
priority (a cached copy can stand in for a read; a Task write cannot wait).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from connectors.salesforce.budget import Blocked, Priority
from connectors.salesforce.errors import SalesforceError
from connectors.salesforce.records import flatten
from connectors.salesforce.soql import quote, select
from domain.contacts.mapping import salesforce_fields, to_engage_value
from domain.contacts.models import EngageContact
from domain.crm_settings.models import MappingRow

# Copies kept at most (least recently used go first): Engage shows a few contacts
# at a time; a million would not fit a cache meant for re-opened screens.
MAX_COPIES = 10_000
PICKLIST_TYPES = frozenset({"picklist", "combobox", "multipicklist"})


class Budget(Protocol):
    """The governor's part the reads use (`connectors.salesforce.budget.Governor`)."""

    def blocked(self, priority: Priority) -> Blocked | None: ...

    def limit_exceeded(self) -> None: ...


class NotFound(LookupError):
    """No such contact, not linked, or its Salesforce record is gone (a 404)."""


@dataclass(frozen=True)
class Copy:
    """An answer and how old it is (seconds since it was read from Salesforce)."""

    value: dict[str, Any]
    age: float


class BudgetRefused(Exception):
    """The budget refuses a Salesforce read now; `cached` is the last copy, if any."""

    def __init__(self, blocked: Blocked, retry_after: int, cached: Copy | None):
        super().__init__(blocked.detail)
        self.blocked, self.retry_after, self.cached = blocked, retry_after, cached


class CachedReads:
    """Answers from a copy younger than `seconds`, else reads Salesforce if the
    budget allows `Priority.CONSOLE` now.

    One lock around a whole read: two requests for the same record within the
    cache time cost one API call (the console's client is one at a time anyway).
    """

    def __init__(
        self,
        budget: Budget,
        seconds: float,
        retry_after: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget, self.seconds, self.clock = budget, seconds, clock
        self.retry_after = max(1, math.ceil(retry_after))
        self._copies: OrderedDict[Hashable, tuple[float, dict[str, Any]]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def read(self, key: Hashable, fetch: Callable[[], dict[str, Any]]) -> Copy:
        """The copy under `key`, fetched again once older than the cache time.

        Raises:
            BudgetRefused: a read was needed and the budget refused it (or
                Salesforce answered REQUEST_LIMIT_EXCEEDED).
        """
        with self._lock:
            now = self.clock()
            hit = self._copies.get(key)
            cached = Copy(hit[1], now - hit[0]) if hit is not None else None
            if cached is not None and cached.age < self.seconds:
                self._copies.move_to_end(key)
                return cached
            blocked = self.budget.blocked(Priority.CONSOLE)
            if blocked is not None:
                raise BudgetRefused(blocked, self.retry_after, cached)
            try:
                value = fetch()
            except SalesforceError as exc:
                if exc.problem.code != "REQUEST_LIMIT_EXCEEDED":
                    raise
                self.budget.limit_exceeded()
                refused = Blocked("limit-exceeded", "the org's daily limit is spent")
                raise BudgetRefused(refused, self.retry_after, cached) from None
            self._copies[key] = (self.clock(), value)
            self._copies.move_to_end(key)
            while len(self._copies) > MAX_COPIES:
                self._copies.popitem(last=False)
            return Copy(value, 0.0)


def mapped_rows(rows: Sequence[MappingRow]) -> list[MappingRow]:
    """The rows that read a Salesforce field: never a Do Not Read/Write one."""
    return [r for r in rows if r.salesforce is not None and r.salesforce.strip()]


class ContactRecords:
    """A linked contact's Salesforce record, its mapped fields only.

    Args:
        contact: Engage's copy by engage_contact_id (`EngageCopy.contact`).
        mapping: the mapping rows in force for "Lead" or "Contact".
        first: the first row of a SOQL query (one API call), or None.
        reads: the cache and budget.
    """

    def __init__(
        self,
        contact: Callable[[str], EngageContact | None],
        mapping: Callable[[str], Sequence[MappingRow]],
        first: Callable[[str], dict[str, Any] | None],
        reads: CachedReads,
    ) -> None:
        self.contact, self.mapping, self.first, self.reads = (
            contact,
            mapping,
            first,
            reads,
        )

    def record(self, engage_contact_id: str) -> Copy:
        """The record's current mapped fields (from a copy within the cache time).

        Raises:
            NotFound: no such contact, not linked, or the record is gone.
            BudgetRefused: see `CachedReads.read`.
        """
        contact = self.contact(engage_contact_id)
        if contact is None:
            raise NotFound(f"no contact {engage_contact_id!r} in Engage's copy")
        sf_id, obj = contact.salesforce_id, contact.salesforce_object
        if not sf_id or obj not in ("Lead", "Contact"):
            raise NotFound(
                f"contact {engage_contact_id!r} is not linked to a Lead or Contact"
            )
        return self.reads.read(
            ("record", engage_contact_id, sf_id),
            lambda: self._fetch(engage_contact_id, obj, sf_id),
        )

    def _fetch(self, engage_contact_id: str, obj: str, sf_id: str) -> dict[str, Any]:
        rows = mapped_rows(self.mapping(obj))
        fields = salesforce_fields(rows)
        soql = select(obj, ["Id", *fields], where=f"Id = {quote(sf_id)}", limit=1)
        row = self.first(soql)
        if row is None:
            raise NotFound(
                f"the linked {obj} {sf_id} is not in Salesforce (deleted or merged)"
            )
        values = flatten(row, fields)
        return {
            "engage_contact_id": engage_contact_id,
            "salesforce_id": sf_id,
            "object": obj,
            "fields": [
                {
                    "engage": r.engage,
                    "salesforce": r.salesforce,
                    "value": to_engage_value(values.get(r.salesforce.strip())),
                }
                for r in rows
                if r.salesforce is not None
            ],
        }


def task_subject_picklist(describe: dict[str, Any]) -> dict[str, Any]:
    """Task.Subject's active picklist values from Task's describe, in org order.

    Subject is a combobox in a standard org (a picklist that also takes free
    text); an org, or a field-level security, without it answers no picklist.
    """
    field = next(
        (f for f in describe.get("fields", []) if f.get("name") == "Subject"), None
    )
    values = [
        {
            "value": str(v["value"]),
            "label": str(v.get("label") or v["value"]),
            "default": bool(v.get("defaultValue")),
        }
        for v in (field or {}).get("picklistValues") or []
        if v.get("active", True) and v.get("value") is not None
    ]
    is_picklist = field is not None and field.get("type") in PICKLIST_TYPES
    return {
        "picklist": bool(is_picklist and values),
        "restricted": bool(field and field.get("restrictedPicklist")),
        "values": values if is_picklist else [],
    }


class TaskSubject:
    """The Task Subject picklist Engage shows in its Call Subject field.

    Args:
        describe: an object's describe (one API call when not cached).
        reads: the cache (its own cache time) and budget.
    """

    def __init__(
        self, describe: Callable[[str], dict[str, Any]], reads: CachedReads
    ) -> None:
        self.describe, self.reads = describe, reads

    def picklist(self) -> Copy:
        """Task.Subject's picklist (see `task_subject_picklist`), cached.

        Raises:
            BudgetRefused: see `CachedReads.read`.
        """
        return self.reads.read(
            ("picklist", "Task.Subject"),
            lambda: task_subject_picklist(self.describe("Task")),
        )


@dataclass(frozen=True)
class Reads:
    """What the API reads through: contacts' records and the Task Subject picklist."""

    records: ContactRecords
    task_subject: TaskSubject
    # Ends what the reads follow in the background (Engage's copy, API usage).
    stop: Callable[[], None] = lambda: None
