"""The activity processor's ports: where its outputs go and what it reads.

`AckingProducer`, `ContactsProcessor` (Engage's copy), `ParkedIndex` and
`UserDirectory` are the real adapters; unit tests pass the in-memory fakes of
tests/ports.py, which satisfy the same protocols, so no broker is needed.
"""

from __future__ import annotations

from typing import Any, Protocol

from connectors.kafka.ports import Producer
from domain.contacts.models import EngageContact

__all__ = ["ContactCopy", "ParkedActivities", "Producer", "Users"]


class ContactCopy(Protocol):
    """Engage's copy of its contacts, as the activity agent looks them up."""

    loaded: bool

    def load(self) -> None:
        """Rebuild the copy (once, at start)."""
        ...

    def find(self, engage_contact_id: str, email: str | None) -> EngageContact | None:
        """The contact by Engage id, else by email; None if not in the copy."""
        ...

    def known(
        self, engage_contact_ids: list[str], salesforce_ids: list[str]
    ) -> set[str]:
        """Which of these Engage ids, or Salesforce ids, the copy holds (one query
        per batch instead of two per contact)."""
        ...


class ParkedActivities(Protocol):
    """Activities held back, by Engage contact and user (see `ParkedIndex`)."""

    loaded: bool

    def load(self) -> None: ...

    def add(self, parked: dict[str, Any]) -> None: ...

    def remove(self, event_id: str) -> None: ...

    def for_contact(self, engage_contact_id: str) -> list[dict[str, Any]]: ...

    def held(self, reason: str, user_id: str | None = None) -> list[dict[str, Any]]: ...

    def reason(self, engage_contact_id: str, event_id: str) -> str | None: ...


class Users(Protocol):
    """Who owns an Engage user's Tasks (see `UserDirectory.owner`)."""

    def owner(self, user_id: str) -> tuple[str, str | None]: ...
