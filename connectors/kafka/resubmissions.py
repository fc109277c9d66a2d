"""Resubmissions remembered: who sent a dead letter back, when, and what became of it.

A compacted topic keyed by the letter's coordinates (`<dlq>/<partition>/<offset>`)
holds one record per resubmitted letter. The outcome is settled from what the
pipeline itself leaves: a new dead letter whose error headers name the record the
resubmission landed at means it failed again; the consuming group committing past
that record without one means it was written. Values are JSON, not Avro: like the
dead-letter topic they annotate, they must stay readable while the registry is down.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Literal

from confluent_kafka import KafkaError, Message

from connectors.kafka import clients
from connectors.kafka.dlq_reader import DeadLetter, locator
from connectors.kafka.ends import MissingTopic, TopicReader
from ground.settings import KafkaSettings

Outcome = Literal["pending", "written", "failed"]
Key = tuple[str, int]  # (topic, partition)


@dataclass(frozen=True)
class Resubmitted:
    """One letter sent back to its source topic, and what the consumer made of it."""

    letter: str  # <dlq>/<partition>/<offset>, the record's key
    by: str
    at_ms: int
    source_topic: str
    landed_partition: int | None  # None: it never reached the source topic
    landed_offset: int | None
    outcome: Outcome = "pending"
    message: str = ""  # Salesforce's message when it failed again
    again_as: str | None = None  # the new letter's coordinates when it failed again

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Resubmitted:
        data = json.loads(raw)
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})

    def describe(self) -> str:
        """What the page and `dlq show` say: `resubmitted, written` and so on."""
        if self.outcome == "written":
            # Past the writer it is in Salesforce; past the worker it was processed
            # (the commands it makes are written, or dead-lettered, on their own).
            if self.source_topic.endswith("salesforce.commands"):
                return "resubmitted, written"
            return "resubmitted, processed"
        if self.outcome == "failed":
            return f"resubmitted, failed again: {self.message}".rstrip(": ")
        return "resubmitted, waiting for the consumer"


def read_all(reader: TopicReader, topic: str) -> dict[str, Resubmitted]:
    """The last record per letter (a missing topic: none resubmitted yet)."""
    found: dict[str, Resubmitted] = {}
    try:
        for msg in reader.read_to_end(topic):
            key, value = (msg.key() or b"").decode(), msg.value()
            if value is None:
                found.pop(key, None)
                continue
            try:
                found[key] = Resubmitted.from_json(value)
            except (ValueError, TypeError):  # a foreign record never hides the rest
                continue
    except MissingTopic:
        return {}
    return found


def write(settings: KafkaSettings, topic: str, records: Iterable[Resubmitted]) -> None:
    """Publish the records and wait for Kafka's acknowledgement.

    Raises:
        clients.DeliveryFailed: a record was not acknowledged.
    """
    producer = clients.producer(settings)
    failures: list[str] = []

    def delivered(err: KafkaError | None, _: Message) -> None:
        if err is not None:
            failures.append(str(err))

    for rec in records:
        producer.produce(
            topic, rec.to_json(), rec.letter.encode(), on_delivery=delivered
        )
        producer.poll(0)
    remaining = producer.flush(30)
    if remaining or failures:
        raise clients.DeliveryFailed(
            f"{remaining} resubmission record(s) unacknowledged, errors: {failures[:3]}"
        )


def settle(
    records: Mapping[str, Resubmitted],
    letters: Iterable[DeadLetter],
    dlq_topic: str,
    committed: Mapping[Key, int],
) -> list[Resubmitted]:
    """The pending records whose outcome is now known, with that outcome.

    `committed` must have been read BEFORE `letters`: a consumer commits only after
    its dead letters were acknowledged, so a commit seen first means every letter it
    made is among `letters`, and "no letter" really means written.
    """
    again = {
        (dl.source_topic, dl.source_partition, dl.source_offset): dl for dl in letters
    }
    settled = []
    for rec in records.values():
        if rec.outcome != "pending" or rec.landed_offset is None:
            continue
        where = (rec.source_topic, rec.landed_partition, rec.landed_offset)
        dl = again.get(where)
        if dl is not None:
            settled.append(
                replace(
                    rec,
                    outcome="failed",
                    message=dl.message,
                    again_as=locator(dlq_topic, dl),
                )
            )
        elif committed.get((rec.source_topic, rec.landed_partition or 0), -1) > (
            rec.landed_offset
        ):
            settled.append(replace(rec, outcome="written"))
    return settled
