"""Where the Sync health page reads and acts: the DLQ board, the results, the org.

A port (`HealthSource`) so the page's unit tests run on a fake; `KafkaHealth` is
the real one, through the same board and resubmit guard as `engage-sync dlq`.
"""

from __future__ import annotations

from typing import Any, Protocol

from connectors.kafka.dlq_board import Board, Guarded
from connectors.kafka.dlq_reader import DeadLetter
from connectors.salesforce.ambiguous import Ambiguous
from engage_sync.console.crm import Crm

# What the page shows of a candidate record (read once per page view).
CANDIDATE_FIELDS = ("Id", "Name", "Email", "Company", "LastModifiedDate")


class HealthSource(Protocol):
    """What the Sync health page needs; each call may block on I/O."""

    def board(self) -> Board: ...

    def preview(self, dl: DeadLetter) -> dict[str, Any]: ...

    def resubmit(self, board: Board, chosen: list[DeadLetter], by: str) -> Guarded: ...

    def ambiguous(self) -> list[Ambiguous]: ...

    def pick(self, entry: Ambiguous, chosen: str) -> str: ...

    def candidates(self, ids: list[str]) -> dict[str, dict[str, Any]]: ...


class KafkaHealth:
    """The real source: the deployment's topics and, for candidates, the org."""

    def __init__(self, crm: Crm) -> None:
        from connectors.kafka.serde import Serde
        from connectors.kafka.topics import Topics

        self.crm, self.kafka = crm, crm.kafka
        self.topics = Topics(crm.kafka)
        self.serde = Serde.for_kafka(crm.kafka)

    def board(self) -> Board:
        """Raises LookupError (no dead-letter topic) or TimeoutError."""
        from connectors.kafka.dlq_board import load
        from connectors.kafka.ends import TopicReader

        with TopicReader.open(self.kafka) as reader:
            return load(self.kafka, reader)

    def preview(self, dl: DeadLetter) -> dict[str, Any]:
        from connectors.kafka.dlq_reader import preview

        return preview(dl, self.serde, self.topics)

    def resubmit(self, board: Board, chosen: list[DeadLetter], by: str) -> Guarded:
        from connectors.kafka.dlq_board import resubmit_guarded

        return resubmit_guarded(self.kafka, board, chosen, by)

    def ambiguous(self) -> list[Ambiguous]:
        from connectors.kafka.ends import TopicReader
        from connectors.salesforce.ambiguous import queue

        with TopicReader.open(self.kafka) as reader:
            return queue(reader, self.serde, self.topics.results.name)

    def pick(self, entry: Ambiguous, chosen: str) -> str:
        from connectors.salesforce.ambiguous import send_pick

        return send_pick(self.kafka, self.serde, entry, chosen)

    def candidates(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Name, email and company of each candidate: one query per object."""
        from connectors.salesforce import soql
        from domain.ids import object_of

        by_object: dict[str, list[str]] = {}
        for rid in ids:
            by_object.setdefault(object_of(rid) or "Contact", []).append(rid)
        out: dict[str, dict[str, Any]] = {}
        for obj, chunk in by_object.items():
            fields = [f for f in CANDIDATE_FIELDS if obj == "Lead" or f != "Company"]
            where = f"Id IN ({', '.join(soql.quote(i) for i in chunk)})"
            query = soql.select(obj, fields, where=where)
            with self.crm._lock:
                rows = list(self.crm.client().query_all(query))
            for row in rows:
                out[str(row["Id"])] = {"object": obj} | {f: row.get(f) for f in fields}
        return out
