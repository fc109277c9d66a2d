"""Activity traffic for the fault suite: seeded events, a publisher that paces them."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message

from connectors.kafka import clients
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from tests.factories import (
    CALL_RESULTS,
    EMAIL_TYPES,
    call_event,
    contact_ref,
    email_event,
)

Event = tuple[str, dict[str, Any]]  # (schema name, decoded event)


def activity_events(people: Sequence[str], n: int, seed: int) -> list[Event]:
    """`n` calls and emails (about half each) to the given Leads and Contacts."""
    rng = random.Random(seed)
    out: list[Event] = []
    for i in range(n):
        contact = contact_ref(
            engage_contact_id=f"ec-{rng.randrange(60)}",
            salesforce_id=rng.choice(people),
        )
        if rng.random() < 0.5:
            out.append(
                (
                    "CallLogged",
                    call_event(
                        event_id=f"call-{seed}-{i}",
                        contact=contact,
                        call_result=rng.choice(CALL_RESULTS),
                        sentiment=rng.choice([None, "NEXT_STEP_BOOKED", "NO_FIT"]),
                        comments=rng.choice([None, f"comment {i}", "x" * 40_000]),
                        voicemail_title=rng.choice([None, f"vm {i}"]),
                        recording_url=rng.choice([None, f"https://rec.example/{i}"]),
                        duration_seconds=rng.randint(0, 3600),
                    ),
                )
            )
        else:
            out.append(
                (
                    "EmailEvent",
                    email_event(
                        event_id=f"email-{seed}-{i}",
                        contact=contact,
                        event_type=rng.choice(EMAIL_TYPES),
                        email_subject=rng.choice(["Quick question", "S" * 300]),
                        link_text=rng.choice([None, "Pricing page"]),
                        body=rng.choice([None, f"Hello {i}"]),
                    ),
                )
            )
    return out


@dataclass(frozen=True)
class Coordinates:
    topic: str
    partition: int
    offset: int


class Publisher:
    """Produces records; remembers where Kafka put each (topic, partition, offset)."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.topics = Topics(settings)
        self.serde = Serde()
        # Room for the fuzz suite's largest records (just under 1 MB).
        self._producer = clients.producer(settings, **{"message.max.bytes": 2_000_000})
        self.placed: dict[str, Coordinates] = {}
        self.errors: list[str] = []

    def send(
        self, topic: str, value: bytes | None, key: bytes | None, tag: str
    ) -> None:
        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self.errors.append(f"{tag}: {err}")
            else:
                self.placed[tag] = Coordinates(
                    msg.topic(), msg.partition(), msg.offset()
                )

        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=delivered)
                break
            except BufferError:
                self._producer.poll(0.05)
        self._producer.poll(0)

    def send_event(self, schema: str, event: dict[str, Any]) -> None:
        topic = (
            self.topics.calls.name
            if schema == "CallLogged"
            else (self.topics.emails.name)
        )
        key = event["contact"]["engage_contact_id"].encode()
        self.send(topic, self.serde.encode(schema, event), key, event["event_id"])

    def flush(self) -> None:
        remaining = self._producer.flush(60)
        if remaining or self.errors:
            raise AssertionError(
                f"publishing failed: {remaining} unacknowledged, {self.errors[:3]}"
            )


class PacedPublisher(threading.Thread):
    """Publishes events at a steady rate in the background, so the pipeline is busy
    (and has work in flight) at whatever moment a fault or a kill lands."""

    def __init__(
        self,
        settings: KafkaSettings,
        events: Sequence[Event],
        rate: float,
        chunk: int = 50,
        on_chunk: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(name="paced-publisher", daemon=True)
        self.publisher = Publisher(settings)
        self.events, self.rate, self.chunk = list(events), rate, chunk
        self.on_chunk = on_chunk
        self.sent = 0
        self.failure: BaseException | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        try:
            for start in range(0, len(self.events), self.chunk):
                if self._halt.is_set():
                    return
                for schema, event in self.events[start : start + self.chunk]:
                    self.publisher.send_event(schema, event)
                self.publisher.flush()
                self.sent = min(len(self.events), start + self.chunk)
                if self.on_chunk is not None:
                    self.on_chunk(self.sent)
                due = started + self.sent / self.rate
                self._halt.wait(max(0.0, due - time.monotonic()))
        except BaseException as exc:  # noqa: BLE001 - reported by `finished`
            self.failure = exc

    def finished(self) -> bool:
        if self.failure is not None:
            raise AssertionError(f"publisher failed: {self.failure!r}")
        return not self.is_alive() and self.sent == len(self.events)

    def stop(self) -> None:
        self._halt.set()
        self.join(30)
