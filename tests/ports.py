"""In-memory stand-ins for the processors' ports (producer, parked index, Engage's
copy: `connectors/kafka/ports.py`, `streams/contacts/ports.py`,
`streams/activity/ports.py`) and the writer's
(`connectors/salesforce/ports.py`), so unit tests need no broker or org."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from connectors.kafka.clients import DeliveryFailed
from connectors.kafka.deadletter import Origin
from connectors.kafka.serde import Serde
from connectors.salesforce.budget import Priority
from connectors.salesforce.errors import Problem
from connectors.salesforce.outcomes import Pending
from connectors.salesforce.pacing import Backoff
from domain.contacts.models import EngageContact
from domain.contacts.normalize import name_phone_key, normalize_email
from domain.crm_settings.models import CrmSettings
from ground.settings import KafkaSettings
from streams.contacts.processor import ContactsProcessor

# No broker listens here: a unit test that reached Kafka would fail, not hang.
NO_BROKER = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")


class RecordingProducer:
    """The producer port: keeps what was produced, in order; flushing is instant.

    `fail_flushes` makes that many next flushes raise `DeliveryFailed`, as Kafka's
    producer does when a record was not acknowledged.
    """

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []
        self.headers: list[tuple[str, list[tuple[str, bytes]]]] = []  # (topic, ...)
        self.flushes = 0
        self.fail_flushes = 0

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        timestamp_ms: int = 0,
    ) -> None:
        self.sent.append((topic, value, key))
        if headers:
            self.headers.append((topic, list(headers)))

    def flush(self, timeout: float = 60.0) -> None:
        self.flushes += 1
        if self.fail_flushes:
            self.fail_flushes -= 1
            raise DeliveryFailed("1 record(s) unacknowledged, errors: [fake]")

    async def flush_async(self, wait_seconds: float = 60.0) -> None:
        self.flush(wait_seconds)

    def decoded(self, topic: str, schema: str) -> list[dict[str, Any]]:
        """The values produced to `topic`, decoded (tombstones left out)."""
        serde = Serde()
        return [serde.decode(schema, v) for t, v, _ in self.sent if t == topic and v]

    def reasons(self, topic: str) -> list[str]:
        """The `engage.errors.reason` header of each record produced to `topic`."""
        return [
            dict(headers)["engage.errors.reason"].decode()
            for t, headers in self.headers
            if t == topic
        ]


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

class MemoryContactStore:
    """The store port of Engage's copy (`streams.contacts.ports.CopyStore`) in dicts.

    A batch that raises leaves the store as it was before the batch, as the SQLite
    store's transaction does.
    """

    def __init__(self, phone_region: str = "US") -> None:
        self.contacts: dict[str, EngageContact] = {}
        self.accounts: dict[str, dict[str, object]] = {}
        self.phone_region = phone_region

    def put(self, contact: EngageContact) -> None:
        self.contacts[contact.engage_contact_id] = contact

    def put_many_if_newer(self, contacts: Iterable[EngageContact]) -> None:
        for contact in contacts:
            self.put_if_newer(contact)

    def put_if_newer(self, contact: EngageContact) -> bool:
        held = self.contacts.get(contact.engage_contact_id)
        if held is not None and held.updated_at_ms >= contact.updated_at_ms:
            return False
        self.put(contact)
        return True

    def delete(self, engage_contact_id: str) -> None:
        self.contacts.pop(engage_contact_id, None)

    @contextmanager
    def batch(self) -> Iterator[None]:
        saved = copy.copy(self.contacts), copy.deepcopy(self.accounts)
        try:
            yield
        except BaseException:
            self.contacts, self.accounts = saved
            raise

    def _latest(self, wanted: Callable[[EngageContact], bool]) -> EngageContact | None:
        found = [c for c in self.contacts.values() if wanted(c)]
        return max(found, key=lambda c: c.updated_at_ms, default=None)

    def get(self, engage_contact_id: str) -> EngageContact | None:
        return self.contacts.get(engage_contact_id)

    def by_salesforce_id(self, salesforce_id: str) -> EngageContact | None:
        return self._latest(lambda c: c.salesforce_id == salesforce_id)

    def by_salesforce_ids(self, salesforce_ids: list[str]) -> dict[str, EngageContact]:
        found = {sf_id: self.by_salesforce_id(sf_id) for sf_id in salesforce_ids}
        return {sf_id: c for sf_id, c in found.items() if c is not None}

    def known(self, ids: list[str], salesforce_ids: list[str]) -> set[str]:
        wanted = set(ids) | set(salesforce_ids)
        stored = {c.engage_contact_id for c in self.contacts.values()}
        stored |= {c.salesforce_id for c in self.contacts.values() if c.salesforce_id}
        return wanted & stored

    def by_email(self, email: str | None) -> EngageContact | None:
        return self._with_email(email, unlinked=False)

    def unlinked_by_email(self, email: str | None) -> EngageContact | None:
        return self._with_email(email, unlinked=True)

    def _with_email(self, email: str | None, unlinked: bool) -> EngageContact | None:
        key = normalize_email(email)
        if key is None:
            return None
        return self._latest(
            lambda c: normalize_email(c.email) == key
            and not (unlinked and c.salesforce_id)
        )

    def unlinked_by_name_phone(
        self, first: str | None, last: str | None, phone: str | None
    ) -> EngageContact | None:
        key = name_phone_key(first, last, phone, self.phone_region)
        if key is None:
            return None
        return self._latest(
            lambda c: c.salesforce_id is None
            and name_phone_key(c.first_name, c.last_name, c.phone, self.phone_region)
            == key
        )

    def has_unlinked(self) -> bool:
        return any(c.salesforce_id is None for c in self.contacts.values())

    def count(self) -> int:
        return len(self.contacts)

    def put_account(self, record: dict[str, object]) -> None:
        self.accounts[str(record["engage_account_id"])] = dict(record)

    def account(self, engage_account_id: str) -> dict[str, object] | None:
        return self.accounts.get(engage_account_id)


def contacts_on_fakes(
    crm: CrmSettings | None,
) -> tuple[ContactsProcessor, MemoryContactStore, RecordingProducer]:
    """The inbound processor (the contact actions' `EngageCopy`) on a memory store
    and a recording producer, loaded: there is nothing to read back."""
    store, producer = MemoryContactStore(), RecordingProducer()
    contacts = ContactsProcessor(NO_BROKER, store, lambda: crm, producer=producer)
    contacts.loaded = True
    return contacts, store, producer


CREATEABLE = (
    "FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title", "Company",
    "AccountId", "Status", "LeadSource", "Industry", "Website", "Name",
)


class FakeSalesforce:
    """The Salesforce port (`connectors.salesforce.ports.SalesforceApi`) in memory.

    `upsert_answers` (`update_answers`) are consumed one list per `upsert_many`
    (`update_collection`) call (default: all written); `rows(soql)` answers queries;
    `on_post(path, body)` answers or raises for single-record creates (default: a new
    id); `picklists` gives a field's active picklist values to `describe`. Every call
    is kept in `calls`.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.upsert_answers: list[list[dict[str, Any]]] = []
        self.update_answers: list[list[dict[str, Any]]] = []
        self.picklists: dict[str, list[str]] = {}
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
                | self._picklist(name)
                for name in CREATEABLE
            ]
        }

    def _picklist(self, name: str) -> dict[str, Any]:
        if name not in self.picklists:
            return {}
        values = [{"value": v, "active": True} for v in self.picklists[name]]
        return {"type": "picklist", "picklistValues": values}

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
        if self.update_answers:
            return self.update_answers.pop(0)
        return [{"id": r["id"], "success": True} for r in records]

    def updates(self) -> list[list[dict[str, Any]]]:
        """The record lists of each update request, in order."""
        return [args for name, args in self.calls if name == "update"]

    def posts(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, body) of each single-record create, in order."""
        return [
            (name.split(" ", 1)[1], kwargs.get("json") or {})
            for name, kwargs in self.calls
            if name.startswith("POST ")
        ]

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


class MemoryOutcomes:
    """The write-backs' outcomes port: each item's result and the dead letters."""

    def __init__(self) -> None:
        self.results: dict[str, tuple[bool, str, str | None, str | None]] = {}
        self.dead_letters: list[tuple[Origin, str, str]] = []

    def result_for(
        self,
        item: Pending,
        success: bool,
        status: str,
        message: str | None,
        salesforce_id: str | None = None,
    ) -> None:
        self.results[item.command["command_id"]] = (
            success, status, message, salesforce_id
        )

    def dead_letter(
        self, origin: Origin, error: BaseException | str, reason: str
    ) -> None:
        self.dead_letters.append((origin, str(error), reason))


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
