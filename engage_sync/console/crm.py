"""What the settings pages read and write: the settings topic and the org.

One Salesforce client per console, connected on first use and shared under a
lock (a page's few calls are short); describes are cached for a minute, as an
admin editing a page describes the same object again and again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from connectors.kafka.settings_history import Saved
from domain.crm_settings.models import CrmSettings
from ground.settings import KafkaSettings, SalesforceSettings

DESCRIBE_SECONDS = 60.0


class NoSalesforce(RuntimeError):
    """The console runs without Salesforce settings: pages that need the org say so."""


@dataclass
class Crm:
    """The settings topic (`kafka`) and the org (`salesforce`, None: not configured)."""

    kafka: KafkaSettings
    salesforce: SalesforceSettings | None
    _client: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _describes: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)

    def current(self) -> tuple[CrmSettings, str, str | None]:
        """The settings in force (empty when none), their sha256 and who saved them."""
        from connectors.kafka.ends import MissingTopic
        from connectors.kafka.settings_topic import current
        from streams.settings.save import NOTHING

        try:
            found = current(self.kafka)
        except MissingTopic:  # not created yet: the first save creates it
            found = None
        if found is None:
            return CrmSettings(objects={}), NOTHING, None
        settings, meta = found
        by = meta.get("by")
        return settings, str(meta["sha256"]), str(by) if by else None

    def client(self) -> Any:
        if self.salesforce is None:
            raise NoSalesforce(
                "the console has no Salesforce settings (SALESFORCE_*): "
                "it cannot read the org"
            )
        if self._client is None:
            from connectors.salesforce.client import SalesforceClient

            self._client = SalesforceClient(self.salesforce).connect()
        return self._client

    def describe(self, obj: str) -> dict[str, Any]:
        """The object's describe, at most a minute old."""
        with self._lock:
            hit = self._describes.get(obj)
            if hit is not None and time.monotonic() - hit[0] < DESCRIBE_SECONDS:
                return hit[1]
            describe: dict[str, Any] = self.client().describe(obj)
            self._describes[obj] = (time.monotonic(), describe)
            return describe

    def count(self, soql: str) -> int:
        with self._lock:
            return int(self.client().count(soql))

    def first(self, soql: str) -> dict[str, Any] | None:
        """The first record of a query (one API call), or None."""
        with self._lock:
            rows = self.client().request("GET", "query", params={"q": soql})
        records = rows.get("records") or []
        return records[0] if records else None

    def problems(self, settings: CrmSettings) -> list[str]:
        """`settings apply`'s own check of a document against the org."""
        from streams.settings.save import check_with_salesforce

        with self._lock:
            client = self.client()
            user = self.salesforce.username if self.salesforce else None
            return check_with_salesforce(client, settings, user)

    def history(self) -> list[Saved]:
        """Every saved document, newest first (none while the topic is missing)."""
        from connectors.kafka.ends import MissingTopic
        from connectors.kafka.settings_history import history

        try:
            return history(self.kafka)
        except MissingTopic:
            return []

    def save(self, settings: CrmSettings, by: str, if_sha256: str) -> str:
        """Publish as `settings apply` does, refused when `if_sha256` is stale."""
        from connectors.kafka.clients import ensure_topics
        from connectors.kafka.topics import Topics
        from streams.settings.save import save

        ensure_topics(self.kafka, Topics(self.kafka).all())
        return save(self.kafka, settings, "console", by, if_sha256)
