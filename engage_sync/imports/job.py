"""Running one import: rows to ADDED events in batches, then results to outcomes.

Both halves stream: a batch of rows is the most held at once while sending, and
results are read from `salesforce.results` (from where it ended when the import
began) and written to the report as they come.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from engage_sync.imports import parse
from engage_sync.imports.outcomes import RowOutcome, outcome_of
from engage_sync.imports.report import Report
from engage_sync.imports.rows import Row, added_event, problem, row_of_result

log = logging.getLogger(__name__)

BATCH_ROWS = 500
Offsets = dict[str, int]  # "<partition>" -> next offset (JSON keys are strings)


class Sink(Protocol):
    """Where ADDED events go (AckingProducer; a recording fake in unit tests)."""

    def produce(
        self, topic: str, value: bytes | None, key: bytes | None = None
    ) -> None: ...

    def flush(self, timeout: float = 60.0) -> None: ...


class Results(Protocol):
    """`salesforce.results`: where it ends now, and what comes after an offset."""

    def ends(self) -> Offsets: ...

    def follow(
        self, offsets: Offsets, stop: Callable[[], bool]
    ) -> Iterator[list[tuple[int, int, dict[str, Any]]]]:
        """Batches of (partition, offset, decoded WriteResult) from `offsets` on."""
        ...


class Encoder(Protocol):
    def encode(self, schema: str, value: dict[str, Any]) -> bytes: ...


@dataclass
class Job:
    """One import's work; `run` does it (again, after a restart) to the end."""

    import_id: str
    report: Report
    csv_path: Path
    topic: str
    sink: Sink
    results: Results
    encoder: Encoder
    batch_rows: int = BATCH_ROWS
    # The most rows held at once while sending: what the memory test measures.
    held_max: int = 0

    def run(self, stop: threading.Event | None = None) -> None:
        """Send what is not sent yet, then follow results until every row has one."""
        stopped = stop or threading.Event()
        try:
            if self.report.meta("state") in ("uploaded", "importing"):
                self.send()
            self.follow(stopped.is_set)
        except Exception as exc:  # shown on the page; the report keeps what it has
            log.exception("import %s failed", self.import_id)
            self.report.set_meta(state="failed", error=f"{type(exc).__name__}: {exc}")

    def send(self) -> None:
        """Every row not sent yet: refused ones answered at once, the rest produced
        and acknowledged by Kafka one batch at a time."""
        mapping: Sequence[str] = self.report.meta("mapping")
        if self.report.meta("offsets") is None:
            # Before the first event: every answer to this import comes after.
            total = sum(1 for _ in parse.rows(self.csv_path, mapping))
            self.report.set_meta(offsets=self.results.ends(), total=total)
        self.report.set_meta(state="importing")
        user = self.report.meta("user", "console")
        sent = self.report.meta("sent", 0)
        source = parse.rows(self.csv_path, mapping, start=sent + 1)
        while batch := list(islice(source, self.batch_rows)):
            self.held_max = max(self.held_max, len(batch))
            self._send_batch(batch, user)
            sent = batch[-1].number
            self.report.set_meta(sent=sent)
        self.report.set_meta(state="waiting", sent=sent)

    def _send_batch(self, batch: list[Row], user: str) -> None:
        now = datetime.now(UTC)
        read: list[tuple[Row, RowOutcome | None]] = []
        for row in batch:
            reason = problem(row)
            if reason is not None:
                read.append((row, RowOutcome("failed", reason=reason)))
                continue
            key, event = added_event(row, self.import_id, user, now)
            self.sink.produce(
                self.topic, self.encoder.encode("ContactEvent", event), key.encode()
            )
            read.append((row, None))
        # Rows are in the report before their events can be answered.
        self.report.add_rows(read)
        self.sink.flush()

    def follow(self, stop: Callable[[], bool]) -> None:
        """Answers from the saved offsets on, saved with the offsets after them."""
        offsets: Offsets = dict(self.report.meta("offsets") or {})
        ends = self.results.ends()
        if any(offset > ends.get(p, 0) for p, offset in offsets.items()):
            # Past the topic's end: another broker's topic (a new embedded one).
            raise LookupError(
                "salesforce.results is not the topic this import began on (the "
                "broker was replaced); its answers cannot come: import the file again"
            )

        def finished() -> bool:
            p = self.report.progress()
            return stop() or p.answered >= p.total

        if finished():
            self._done()
            return
        for batch in self.results.follow(offsets, finished):
            answers: dict[int, RowOutcome] = {}
            for partition, offset, result in batch:
                offsets[str(partition)] = offset + 1
                number = row_of_result(self.import_id, str(result["event_id"]))
                outcome = outcome_of(result) if number is not None else None
                if number is not None and outcome is not None:
                    answers.setdefault(number, outcome)
            self.report.answer(answers, offsets=offsets)
        self._done()

    def _done(self) -> None:
        p = self.report.progress()
        if p.answered >= p.total:
            self.report.set_meta(state="done")
