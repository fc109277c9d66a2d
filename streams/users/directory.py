"""Which Salesforce user owns an Engage user's Tasks, following `engage.users` live."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal

from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import DecodeError, RegistryUnavailable, Serde
from connectors.kafka.snapshot import follow, read_to_end
from connectors.kafka.topics import Topics
from engage_sync.settings import KafkaSettings
from streams.settings.models import CrmSettings

Owner = tuple[Literal["user", "integration", "hold"], str | None]


class UserDirectory(threading.Thread):
    """The latest UserEvent per Engage user, over the settings' static `users` map."""

    def __init__(
        self, kafka: KafkaSettings, settings: Callable[[], CrmSettings | None]
    ) -> None:
        super().__init__(name="user-directory", daemon=True)
        self.kafka, self._settings = kafka, settings
        self._latest: dict[str, tuple[str, str | None]] = {}
        self._serde = Serde.for_kafka(kafka)
        self._stop = threading.Event()

    def load(self) -> None:
        """Everything published so far, then keep following in the background."""
        with TopicReader.open(self.kafka) as reader:
            read_to_end(reader, Topics(self.kafka).users.name, self._apply)
        self.start()

    def run(self) -> None:
        topic = Topics(self.kafka).users.name
        with TopicReader.open(self.kafka) as reader:
            for msg in follow(reader, topic, self._stop.is_set):
                self._apply(msg)

    def _apply(self, msg: Any) -> None:
        try:
            event = self._serde.decode("UserEvent", msg.value())
        except (DecodeError, RegistryUnavailable):
            return
        self._latest[event["user_id"]] = (event["action"], event["salesforce_user_id"])

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
