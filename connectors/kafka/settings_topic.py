"""CRM settings on the compacted `engage.settings` topic: publish, read, follow live.

The document in force is keyed `crm-settings`; each save also writes a copy under
its own `history:` key (connectors/kafka/settings_history.py), which compaction keeps.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import UTC, datetime

from confluent_kafka import Message

from connectors.kafka.clients import AckingProducer
from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import Serde
from connectors.kafka.snapshot import follow, read_to_end
from connectors.kafka.topics import Topics
from domain.crm_settings.document import dump_document, parse_document
from domain.crm_settings.models import CrmSettings
from ground.settings import KafkaSettings

log = logging.getLogger(__name__)
KEY = b"crm-settings"


def publish(
    kafka: KafkaSettings,
    settings: CrmSettings,
    source: str | None,
    by: str | None = None,
) -> str:
    """Publish validated settings and their history copy; returns the sha256.

    Callers check first: `streams.settings.save.save` is the guarded way in.
    """
    from connectors.kafka.settings_history import BY_HEADER, history_key

    text = dump_document(settings)
    digest = hashlib.sha256(text.encode()).hexdigest()
    applied_at = datetime.now(UTC)
    record = {
        "document": text,
        "applied_at": applied_at,
        "source": source,
        "sha256": digest,
    }
    value = Serde().encode("CrmSettingsDocument", record)
    headers = [(BY_HEADER, by.encode("utf-8"))] if by else None
    topic = Topics(kafka).settings.name
    producer = AckingProducer(kafka)
    # One partition, so the history copy lands first and the document in force
    # never points at a save the history lacks.
    producer.produce(topic, value, history_key(applied_at, digest), headers)
    producer.produce(topic, value, KEY, headers)
    producer.flush()
    return digest


def current(kafka: KafkaSettings) -> tuple[CrmSettings, dict[str, object]] | None:
    """The settings in force and their metadata, or None when none were ever applied."""
    from connectors.kafka.settings_history import by_of

    last: list[Message] = []

    def keep(msg: Message) -> None:
        if msg.key() == KEY:
            last[:] = [msg]

    with TopicReader.open(kafka) as reader:
        read_to_end(reader, Topics(kafka).settings.name, keep)
    if not last or last[0].value() is None:
        return None
    record = dict(Serde().decode("CrmSettingsDocument", last[0].value()))
    record["by"] = by_of(last[0])
    return parse_document(record["document"]), record


class SettingsFollower(threading.Thread):
    """Keeps the latest settings in memory; processes read `.settings` at each use."""

    def __init__(self, kafka: KafkaSettings) -> None:
        super().__init__(name="settings-follower", daemon=True)
        self.kafka = kafka
        self.settings: CrmSettings | None = None
        self.sha256: str | None = None
        self.version = 0
        self._stop = threading.Event()
        self._loaded = threading.Event()

    def start_and_load(self, timeout: float = 60.0) -> SettingsFollower:
        found = current(self.kafka)
        if found is not None:
            self.settings, meta = found
            self.sha256 = str(meta["sha256"])
            self.version += 1
        self.start()
        return self

    def run(self) -> None:
        with TopicReader.open(self.kafka) as reader:
            self._follow(reader)

    def _follow(self, reader: TopicReader) -> None:
        serde = Serde()
        for msg in follow(reader, Topics(self.kafka).settings.name, self._stop.is_set):
            if msg.key() != KEY or msg.value() is None:
                continue
            try:
                record = serde.decode("CrmSettingsDocument", msg.value())
                if record["sha256"] == self.sha256:
                    continue
                self.settings = parse_document(record["document"])
                self.sha256 = record["sha256"]
                self.version += 1
                log.info("CRM settings changed (sha256 %s…)", self.sha256[:12])
            except Exception as exc:  # a bad document must not stop the process
                log.error("ignoring an unreadable settings document: %s", exc)

    def stop(self) -> None:
        self._stop.set()
