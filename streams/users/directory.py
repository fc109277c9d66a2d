"""Which Salesforce user owns an Engage user's Tasks, following `engage.users` live."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal

from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import DecodeError, RegistryUnavailable, Serde
from connectors.kafka.snapshot import follow, read_to_end
from connectors.kafka.topics import Topics
from domain.crm_settings.models import CrmSettings
from ground.settings import KafkaSettings

log = logging.getLogger(__name__)

Owner = tuple[Literal["user", "integration", "hold"], str | None]


class UserDirectory(threading.Thread):
    """The latest UserEvent per Engage user, over the settings' static `users` map."""

    def __init__(
        self, kafka: KafkaSettings, settings: Callable[[], CrmSettings | None]
    ) -> None:
        super().__init__(name="user-directory", daemon=True)
        self.kafka, self._settings = kafka, settings
        self._latest: dict[str, tuple[str, str | None]] = {}
        # Where each user's applied event sits: the follower re-reads the topic from
        # its start, and an event already applied must not apply (or fire) again.
        self._applied: dict[str, tuple[int, int]] = {}
        self._serde = Serde.for_kafka(kafka)
        self._stop = threading.Event()
        # Called from this thread with the user id when a new event connects a user
        # (not for what `load` read: the worker's start-up releases those).
        self.on_connected: Callable[[str], object] | None = None

    def load(self) -> None:
        """Everything published so far, then keep following in the background."""
        with TopicReader.open(self.kafka) as reader:
            read_to_end(reader, Topics(self.kafka).users.name, self._load_one)
        self.start()

    def run(self) -> None:
        topic = Topics(self.kafka).users.name
        with TopicReader.open(self.kafka) as reader:
            for msg in follow(reader, topic, self._stop.is_set):
                user, hook = self._apply(msg), self.on_connected
                if user and hook and self._latest[user][0] == "CONNECTED":
                    self._connected(hook, user)

    def _load_one(self, msg: Any) -> None:
        self._apply(msg)

    @staticmethod
    def _connected(hook: Callable[[str], object], user: str) -> None:
        try:
            hook(user)
        except Exception:
            # Still parked on the topic: the next start releases them. Following
            # must go on, or every owner after this event would be stale.
            log.exception("releasing the held activities of user %s failed", user)

    def _apply(self, msg: Any) -> str | None:
        """Apply a new event; returns its user id (None: unreadable or seen)."""
        try:
            event = self._serde.decode("UserEvent", msg.value())
        except (DecodeError, RegistryUnavailable):
            return None
        user, at = event["user_id"], (msg.partition(), msg.offset())
        seen = self._applied.get(user)
        if seen is not None and seen[0] == at[0] and seen[1] >= at[1]:
            return None
        self._applied[user] = at
        self._latest[user] = (event["action"], event["salesforce_user_id"])
        return str(user)

    def apply(self, user_id: str, action: str, salesforce_user_id: str | None) -> None:
        self._latest[user_id] = (action, salesforce_user_id)

    def owner(self, user_id: str) -> Owner:
        """The Task owner: a mapped user, the integration user, or hold the Task."""
        crm = self._settings()
        action, sf_user = self._latest.get(user_id, ("", None))
        if action in ("DISCONNECTED", "DELETED"):
            # The guide: deleting a user disconnects every integration of theirs.
            policy = (
                crm.sync_settings.unmapped_user_tasks if crm else "integration_user"
            )
            return ("hold", None) if policy == "hold" else ("integration", None)
        if action == "CONNECTED" and sf_user:
            return ("user", sf_user)
        static = (crm.users if crm else {}).get(user_id)
        return ("user", static) if static else ("integration", None)

    def stop(self) -> None:
        self._stop.set()
