"""Activities held from Salesforce, by Engage contact, so a link can release them."""

from __future__ import annotations

import threading
from typing import Any

from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import Serde
from connectors.kafka.snapshot import read_to_end
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings


class ParkedIndex:
    """engage_contact_id -> {event_id: parked record}, rebuilt from compacted topic."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.serde = Serde.for_kafka(kafka)
        self._by_contact: dict[str, dict[str, dict[str, Any]]] = {}
        # The same records by Engage user, for releasing a user's at once, and
        # where each event sits in both, so a removal costs no scan.
        self._by_user: dict[str, dict[str, dict[str, Any]]] = {}
        self._where: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self.loaded = False

    def load(self) -> None:
        def apply(msg: Any) -> None:
            key = (msg.key() or b"").decode()
            if msg.value() is None:
                self.remove(key)
            else:
                self.add(self.serde.decode("ParkedActivity", msg.value()))

        with TopicReader.open(self.kafka) as reader:
            read_to_end(reader, Topics(self.kafka).parked.name, apply)
        self.loaded = True

    def add(self, parked: dict[str, Any]) -> None:
        event_id, contact = parked["event_id"], parked["engage_contact_id"]
        user = str(parked["activity"].get("user_id") or "")
        with self._lock:
            self._remove(event_id)  # parked again (another reason): one record
            self._by_contact.setdefault(contact, {})[event_id] = parked
            self._by_user.setdefault(user, {})[event_id] = parked
            self._where[event_id] = (contact, user)

    def remove(self, event_id: str) -> None:
        with self._lock:
            self._remove(event_id)

    def _remove(self, event_id: str) -> None:
        contact, user = self._where.pop(event_id, ("", ""))
        for index, key in ((self._by_contact, contact), (self._by_user, user)):
            events = index.get(key, {})
            events.pop(event_id, None)
            if not events:
                index.pop(key, None)

    def for_contact(self, engage_contact_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._by_contact.get(engage_contact_id, {}).values())

    def held(self, reason: str, user_id: str | None = None) -> list[dict[str, Any]]:
        """Parked for `reason`, of one Engage user (or of all, when None)."""
        with self._lock:
            users = [user_id] if user_id is not None else list(self._by_user)
            return [
                item
                for user in users
                for item in self._by_user.get(user, {}).values()
                if item["reason"] == reason
            ]

    def reason(self, engage_contact_id: str, event_id: str) -> str | None:
        """Why an activity is parked now (None = it is not)."""
        with self._lock:
            item = self._by_contact.get(engage_contact_id, {}).get(event_id)
            return None if item is None else str(item["reason"])

    def count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._by_contact.values())
