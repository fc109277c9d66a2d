"""Every import of this console: a folder each (upload, report), run in threads."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engage_sync.imports import parse
from engage_sync.imports.job import Job, Results, Sink
from engage_sync.imports.report import Report

CSV_NAME = "upload.csv"
_ID = re.compile(r"[0-9]{8}T[0-9]{6}-[0-9a-f]{8}")


class UnknownImport(LookupError):
    """No import has this id (or the id is not one)."""


@dataclass
class Imports:
    """Imports kept under `root`; `sink` and `results` reach Kafka (fakes in tests).

    Args:
        root: a folder of its own (one sub-folder per import).
        topic: the contact actions topic ADDED events go to.
        ports: builds (sink, results, encoder) when an import starts.
    """

    root: Path
    topic: str
    ports: Callable[[], tuple[Sink, Results, Any]]
    _threads: dict[str, threading.Thread] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, upload: Any, filename: str, user: str) -> str:
        """Spool an upload to disk; returns the new import's id."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        import_id = f"{stamp}-{secrets.token_hex(4)}"
        folder = self.root / import_id
        folder.mkdir(parents=True)
        size = parse.spool(upload, folder / CSV_NAME)
        report = Report(folder)
        report.set_meta(
            state="uploaded",
            filename=Path(filename or "contacts.csv").name,
            size=size,
            user=user,
            created=datetime.now(UTC).isoformat(),
        )
        report.close()
        return import_id

    def folder(self, import_id: str) -> Path:
        if not _ID.fullmatch(import_id) or not (self.root / import_id).is_dir():
            raise UnknownImport(f"no import {import_id!r}")
        return self.root / import_id

    def report(self, import_id: str) -> Report:
        return Report(self.folder(import_id))

    def csv_path(self, import_id: str) -> Path:
        return self.folder(import_id) / CSV_NAME

    def ids(self) -> list[str]:
        """Every import's id, newest first."""
        if not self.root.is_dir():
            return []
        return sorted(
            (p.name for p in self.root.iterdir() if _ID.fullmatch(p.name)),
            reverse=True,
        )

    def start(self, import_id: str, mapping: Sequence[str]) -> None:
        """Start the import with this column mapping (once; later calls do nothing)."""
        report = self.report(import_id)
        try:
            if report.meta("state") != "uploaded":
                return
            report.set_meta(mapping=list(mapping), state="importing")
        finally:
            report.close()
        self._run(import_id)

    def resume(self) -> None:
        """Carry on the imports a stopped console left unfinished."""
        for import_id in self.ids():
            report = self.report(import_id)
            state = report.meta("state")
            report.close()
            if state in ("importing", "waiting"):
                self._run(import_id)

    def running(self, import_id: str) -> bool:
        thread = self._threads.get(import_id)
        return thread is not None and thread.is_alive()

    def join(self, import_id: str, timeout: float) -> None:
        """Wait until the import's thread ends (every row answered, or it failed)."""
        thread = self._threads.get(import_id)
        if thread is not None:
            thread.join(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in list(self._threads.values()):
            thread.join(timeout)

    def job(self, import_id: str) -> Job:
        sink, results, encoder = self.ports()
        return Job(
            import_id,
            self.report(import_id),
            self.csv_path(import_id),
            self.topic,
            sink,
            results,
            encoder,
        )

    def _run(self, import_id: str) -> None:
        with self._lock:
            if self.running(import_id):
                return
            job = self.job(import_id)

            def work() -> None:
                try:
                    job.run(self._stop)
                finally:
                    job.report.close()

            thread = threading.Thread(
                target=work, name=f"import-{import_id}", daemon=True
            )
            self._threads[import_id] = thread
            thread.start()


def kafka_imports(kafka: Any, root: Path) -> Imports:
    """Imports that produce to and read from the configured Kafka."""
    from connectors.kafka.clients import AckingProducer, ensure_topics
    from connectors.kafka.serde import Serde
    from connectors.kafka.topics import Topics
    from engage_sync.imports.kafka import KafkaResults

    topics = Topics(kafka)

    def ports() -> tuple[Sink, Results, Any]:
        ensure_topics(kafka, topics.all())
        serde = Serde()
        return (
            AckingProducer(kafka),
            KafkaResults(kafka, topics.results.name, serde),
            serde,
        )

    return Imports(root, topics.contact_actions.name, ports)
