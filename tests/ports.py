"""In-memory stand-ins for the processors' ports (producer, Engage's copy, parked
index; `streams/activity/ports.py`) and the writer's (`connectors/salesforce/
ports.py`), so unit tests need no broker or org."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from connectors.kafka.deadletter import Origin
from connectors.kafka.serde import Serde
from connectors.salesforce.budget import Priority
from connectors.salesforce.errors import Problem
from connectors.salesforce.pacing import Backoff
from streams.contacts.models import EngageContact


class RecordingProducer:
    """The producer port: keeps what was produced, in order; flushing is instant."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        timestamp_ms: int = 0,
    ) -> None:
        self.sent.append((topic, value, key))

    def flush(self, timeout: float = 60.0) -> None:
        return None

    async def flush_async(self, wait_seconds: float = 60.0) -> None:
        return None

    def decoded(self, topic: str, schema: str) -> list[dict[str, Any]]:
        """The values produced to `topic`, decoded (tombstones left out)."""
        serde = Serde()
        return [serde.decode(schema, v) for t, v, _ in self.sent if t == topic and v]


class MemoryContactCopy:
    """Engage's copy as the activity agent reads it (`ContactCopy` port); counts
    its look-ups so tests can see them batched."""

    loaded = True

    def __init__(self, contacts: Sequence[EngageContact] = ()) -> None:
        self.contacts = {c.engage_contact_id: c for c in contacts}
        self.lookups = 0

    def load(self) -> None:
        return None

    def find(self, engage_contact_id: str, email: str | None) -> EngageContact | None:
        self.lookups += 1
        found = self.contacts.get(engage_contact_id)
        by_email = (c for c in self.contacts.values() if email and c.email == email)
        return found or next(by_email, None)

    def known(
        self, engage_contact_ids: list[str], salesforce_ids: list[str]
    ) -> set[str]:
        self.lookups += 1
        held = set(self.contacts) | {
            c.salesforce_id for c in self.contacts.values() if c.salesforce_id
        }
        return held & {*engage_contact_ids, *salesforce_ids}


class MemoryParkedIndex:
    """The parked-activities port."""

    loaded = True

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def load(self) -> None:
        return None

    def add(self, item: dict[str, Any]) -> None:
        self.items[item["event_id"]] = item

    def remove(self, event_id: str) -> None:
        self.items.pop(event_id, None)

    def for_contact(self, ecid: str) -> list[dict[str, Any]]:
        return [i for i in self.items.values() if i["engage_contact_id"] == ecid]

    def held(self, reason: str, user_id: str | None = None) -> list[dict[str, Any]]:
        return [
            i
            for i in self.items.values()
            if i["reason"] == reason
            and (user_id is None or i["activity"].get("user_id") == user_id)
        ]

    def reason(self, ecid: str, event_id: str) -> str | None:
        item = self.items.get(event_id)
        return None if item is None else str(item["reason"])

CREATEABLE = (
    "FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title", "Company",
    "AccountId", "Status", "LeadSource", "Industry", "Website", "Name",
)


class FakeSalesforce:
    """The Salesforce port (`connectors.salesforce.ports.SalesforceApi`) in memory.

    `upsert_answers` are consumed one list per `upsert_many` call (default: all
    created); `rows(soql)` answers queries; `on_post(path, body)` answers or raises
    for single-record creates (default: a new id). Every call is kept in `calls`.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.upsert_answers: list[list[dict[str, Any]]] = []
        self.rows: Any = lambda soql: []
        self.on_post: Any = None
        self._ids = 0

    def new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids:015d}"

    def connect(self) -> FakeSalesforce:
        return self

    def describe(self, sobject: str) -> dict[str, Any]:
        """Every standard field a create may send, createable (as for an admin)."""
        return {
            "fields": [
                {"name": name, "createable": True, "type": "string"}
                for name in CREATEABLE
            ]
        }

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls.append((f"{method} {path}", kwargs))
        if self.on_post is not None:
            answer = self.on_post(path, kwargs.get("json") or {})
            if answer is not None:
                return answer
        prefix = {"Account": "001", "Contact": "003", "Lead": "00Q"}
        new_id = self.new_id(prefix.get(path.split("/")[1], "a00"))
        return {"id": new_id, "success": True}

    def query_all(
        self, soql: str, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]:
        self.calls.append(("query", soql))
        return iter(self.rows(soql))

    def upsert_many(
        self, sobject: str, external_id_field: str, records: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        self.calls.append(("upsert", [dict(r) for r in records]))
        if self.upsert_answers:
            return self.upsert_answers.pop(0)
        return [{"id": self.new_id("00T"), "success": True, "created": True}] * len(
            records
        )

    def update_collection(
        self, records: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        self.calls.append(("update", [dict(r) for r in records]))
        return [{"id": r["id"], "success": True} for r in records]

    def upserts(self) -> list[list[dict[str, Any]]]:
        """The record lists of each upsert request, in order."""
        return [args for name, args in self.calls if name == "upsert"]


class MemoryPublisher:
    """The publisher port: results and dead letters kept in order."""

    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []
        self.dead_letters: list[tuple[Origin, str, str]] = []
        self.flushes = 0

    def result(self, result: dict[str, Any]) -> None:
        self.results.append(result)

    def dead_letter(
        self, origin: Origin, error: BaseException | str, reason: str
    ) -> None:
        self.dead_letters.append((origin, str(error), reason))

    def flush(self) -> None:
        self.flushes += 1


class InstantPacing:
    """The pacing port without waiting: retries and waits are only counted."""

    def __init__(self) -> None:
        self.waits: list[str | None] = []

    def backoff(self) -> Backoff:
        return Backoff(cap=0.0)

    def acquire(self, priority: Priority) -> None:
        return None

    def throttled(self, problem: Problem) -> None:
        self.waits.append(problem.code)

    def retry_wait(self, backoff: Backoff, problem: Problem | None) -> None:
        self.waits.append(problem.code if problem else None)

    def retrying(self, work: Callable[[], None], priority: Priority) -> None:
        work()
