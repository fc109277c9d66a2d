"""The contacts agents' ports: the store of Engage's copy, and the copy itself as the
contact actions (and the activity agent's look-ups) see it.

`store.ContactStore` (SQLite) and `processor.ContactsProcessor` are the real ones;
unit tests pass `tests.ports.MemoryContactStore` and `RecordingProducer`, so the
processors run without a broker. The producer port is `connectors.kafka.ports`.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from connectors.kafka.deadletter import Origin
from connectors.kafka.ports import Producer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from domain.contacts.models import EngageContact
from domain.crm_settings.models import CrmSettings


class CopyStore(Protocol):
    """The latest EngageContact per id; found by Salesforce id, email, name + phone."""

    def put(self, contact: EngageContact) -> None:
        """Keep `contact` (replacing what the store held under its id)."""
        ...

    def put_if_newer(self, contact: EngageContact) -> bool:
        """Keep a record read back from the topic unless a newer one is held."""
        ...

    def put_many_if_newer(self, contacts: Iterable[EngageContact]) -> None:
        """`put_if_newer` for many, in order (a rebuild's path)."""
        ...

    def delete(self, engage_contact_id: str) -> None:
        """Forget a contact (a tombstone on the topic)."""
        ...

    def batch(self) -> AbstractContextManager[None]:
        """One transaction: every change inside it is undone if the block raises."""
        ...

    def get(self, engage_contact_id: str) -> EngageContact | None:
        """The contact with this Engage id."""
        ...

    def by_salesforce_id(self, salesforce_id: str) -> EngageContact | None:
        """The contact linked to this Lead or Contact."""
        ...

    def by_salesforce_ids(self, salesforce_ids: list[str]) -> dict[str, EngageContact]:
        """`by_salesforce_id` for a batch's ids in one look: the found ones only."""
        ...

    def known(self, ids: list[str], salesforce_ids: list[str]) -> set[str]:
        """Which of `ids` (Engage ids) and `salesforce_ids` are stored, in one look."""
        ...

    def by_email(self, email: str | None) -> EngageContact | None:
        """The latest contact with this email (normalized), linked or not."""
        ...

    def unlinked_by_email(self, email: str | None) -> EngageContact | None:
        """The latest contact awaiting a link with this email (normalized)."""
        ...

    def unlinked_by_name_phone(
        self, first: str | None, last: str | None, phone: str | None
    ) -> EngageContact | None:
        """The latest contact awaiting a link with this name and phone."""
        ...

    def has_unlinked(self) -> bool:
        """Whether any contact awaits a link."""
        ...

    def count(self) -> int:
        """How many contacts are held."""
        ...

    def put_account(self, record: dict[str, object]) -> None:
        """Keep an EngageAccount record."""
        ...

    def account(self, engage_account_id: str) -> dict[str, object] | None:
        """The EngageAccount record with this id."""
        ...


class EngageCopy(Protocol):
    """Engage's copy of contacts as the contact actions use it: read under `lock`,
    changed through `emit` (store and `engage.contacts` together), flushed through
    `producer`, so one flush proves the copy's changes and the commands alike."""

    loaded: bool

    @property
    def store(self) -> CopyStore: ...

    @property
    def producer(self) -> Producer: ...

    @property
    def topics(self) -> Topics: ...

    @property
    def serde(self) -> Serde: ...

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """Held around every use of `store` by another thread's agent."""
        ...

    def load(self) -> None:
        """Rebuild the copy from the compacted topics (once, at start)."""
        ...

    def settings(self) -> CrmSettings | None:
        """The CRM settings in force (None before any were applied)."""
        ...

    def emit(self, before: EngageContact | None, after: EngageContact) -> None:
        """Keep and publish `after`, unless nothing changed since `before`."""
        ...

    def dead_letter(
        self, origin: Origin, error: BaseException | str, reason: str
    ) -> None:
        """Send a record that cannot be processed to the dead-letter topic."""
        ...
