"""Activities held from Salesforce, by Engage contact, so a link can release them."""

from __future__ import annotations

import threading
from typing import Any

from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import Serde
from connectors.kafka.snapshot import read_to_end
from connectors.kafka.topics import Topics
from engage_sync.settings import KafkaSettings


class ParkedIndex:
    """engage_contact_id -> {event_id: parked record}, rebuilt from compacted topic."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.serde = Serde.for_kafka(kafka)
        self._by_contact: dict[str, dict[str, dict[str, Any]]] = {}
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
        with self._lock:
            self._by_contact.setdefault(parked["engage_contact_id"], {})[
                parked["event_id"]
            ] = parked

    def remove(self, event_id: str) -> None:
        with self._lock:
            for events in self._by_contact.values():
                events.pop(event_id, None)

    def for_contact(self, engage_contact_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._by_contact.get(engage_contact_id, {}).values())

    def held(self, reason: str, user_id: str | None = None) -> list[dict[str, Any]]:
        """Parked for `reason`, of one Engage user (or of all, when None).

        A scan: parked activities are few next to the contacts, and a user's are
        released on a rare event (the user connecting).
        """
        with self._lock:
            return [
                item
                for events in self._by_contact.values()
                for item in events.values()
                if item["reason"] == reason
                and (user_id is None or item["activity"].get("user_id") == user_id)
            ]

    def reason(self, engage_contact_id: str, event_id: str) -> str | None:
        """Why an activity is parked now (None = it is not)."""
        with self._lock:
            item = self._by_contact.get(engage_contact_id, {}).get(event_id)
            return None if item is None else str(item["reason"])

    def count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._by_contact.values())
