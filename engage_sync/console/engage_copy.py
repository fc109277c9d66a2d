"""Engage's copy of contacts (`engage.contacts`) as the console sees it: who is
linked to which Salesforce record.

The copy is the compacted topic the worker keeps; the console follows it into the
same local store the worker uses (`ContactStore`), read to its end once before the
first answer, then kept current in the background.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

from connectors.kafka.ends import MissingTopic, TopicReader
from connectors.kafka.serde import DecodeError, RegistryUnavailable, Serde
from connectors.kafka.snapshot import follow, read_to_end
from connectors.kafka.topics import Topics
from domain.contacts.models import EngageContact
from ground.settings import KafkaSettings
from streams.contacts.store import ContactStore

log = logging.getLogger(__name__)


class CopyLoading(RuntimeError):
    """Engage's copy is still being read: the caller should ask again shortly."""


class EngageCopy:
    """The latest EngageContact per engage_contact_id, from `engage.contacts`.

    Args:
        kafka: where the topic is.
        wait_seconds: how long a first lookup waits for the initial read.
    """

    def __init__(self, kafka: KafkaSettings, wait_seconds: float = 10.0) -> None:
        self.kafka, self.wait_seconds = kafka, wait_seconds
        self.topic = Topics(kafka).contacts.name
        self.serde = Serde.for_kafka(kafka)
        # On disk: a million contacts stay small in this process's memory.
        folder = Path(tempfile.mkdtemp(prefix="engage-console-copy-"))
        self.store = ContactStore(folder / "contacts.sqlite3")
        self._lock = threading.Lock()
        self._loaded = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def contact(self, engage_contact_id: str) -> EngageContact | None:
        """The contact, or None when Engage's copy has no such id.

        Raises:
            CopyLoading: the initial read has not finished within `wait_seconds`.
        """
        self._start()
        if not self._loaded.wait(self.wait_seconds):
            raise CopyLoading("Engage's copy of contacts is still being read")
        with self._lock:
            return self.store.get(engage_contact_id)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="console-engage-copy", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        try:
            with TopicReader.open(self.kafka) as reader:
                read_to_end(reader, self.topic, self._apply)
                self._loaded.set()
                for msg in follow(reader, self.topic, self._stop.is_set):
                    self._apply(msg)
        except MissingTopic:
            # No contact was ever written: every lookup is a 404 until restarted.
            log.warning("no topic %s yet: Engage's copy is empty", self.topic)
        except Exception as exc:  # noqa: BLE001 - answers go on from what was read
            log.warning("stopped following %s: %s", self.topic, exc)
        finally:
            self._loaded.set()

    def _apply(self, msg: Any) -> None:
        key = (msg.key() or b"").decode()
        if msg.value() is None:
            with self._lock:
                self.store.delete(key)
            return
        try:
            record = self.serde.decode("EngageContact", msg.value())
        except (DecodeError, RegistryUnavailable):
            return  # not ours to judge here; the worker dead-letters what it reads
        with self._lock:
            self.store.put_if_newer(EngageContact.from_record(record))

    def stop(self) -> None:
        self._stop.set()
