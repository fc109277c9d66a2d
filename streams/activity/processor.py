"""Turns activity batches into Task commands, parked activities and dead letters."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.kafka.clients import AckingProducer
from connectors.kafka.deadletter import DeadLetters, Origin
from connectors.kafka.serde import DecodeError, Serde
from connectors.kafka.topics import Topics
from streams.activity.formatting import call_to_task, email_to_task
from streams.activity.models import TASK_EXTERNAL_ID_FIELD, FormattedTask
from streams.activity.validation import InvalidEvent, validate

log = logging.getLogger(__name__)

NOT_LINKED = "contact-not-linked"


@dataclass
class ActivityStats:
    events_in: int = 0
    commands_out: int = 0
    parked: int = 0
    dead_letters: int = 0
    sentiment_dropped: int = 0


class ActivityProcessor:
    """The activity agent's work, kept free of Faust so it is testable on its own."""

    def __init__(self, topics: Topics, serde: Serde, producer: AckingProducer) -> None:
        self.topics, self.serde, self.producer = topics, serde, producer
        self.dead_letters = DeadLetters(producer, topics.dlq.name)
        self.stats = ActivityStats()
        self._inputs = topics.activity_inputs

    async def handle(self, batch: Sequence[Origin]) -> None:
        """Emit each message's outcome, then wait until Kafka acknowledged it all."""
        for origin in batch:
            self.handle_one(origin)
        await self.producer.flush_async()

    def handle_one(self, origin: Origin) -> None:
        self.stats.events_in += 1
        schema = self._inputs[origin.topic]
        try:
            event = self.serde.decode(schema, origin.value)
            validate(event)
            formatted = (call_to_task if schema == "CallLogged" else email_to_task)(
                event
            )
        except DecodeError as exc:
            self._dead_letter(origin, exc, "undecodable")
            return
        except (InvalidEvent, ValueError, KeyError, TypeError) as exc:
            self._dead_letter(origin, exc, "invalid-event")
            return
        self.stats.sentiment_dropped += formatted.sentiment_dropped
        if formatted.draft.who_id is None:
            self._park(origin, event, schema)
            return
        self._emit(formatted, event)

    def _emit(self, formatted: FormattedTask, event: dict[str, Any]) -> None:
        draft = formatted.draft
        command = {
            "command_id": draft.event_id,
            "issued_at": datetime.now(UTC),
            "operation": "UPSERT",
            "sobject": "Task",
            "external_id_field": TASK_EXTERNAL_ID_FIELD,
            "record_id": None,
            "fields": draft.to_sobject(),
            "source_event_id": draft.event_id,
            "source_occurred_at": event["occurred_at"],
        }
        # Keyed by the parent record: its Tasks land on one writer, so siblings never
        # fight over the parent's row lock from two processes.
        key = (draft.who_id or draft.event_id).encode()
        self.producer.produce(
            self.topics.commands.name,
            self.serde.encode("SalesforceCommand", command),
            key,
        )
        self.stats.commands_out += 1

    def _park(self, origin: Origin, event: dict[str, Any], schema: str) -> None:
        parked = {
            "event_id": event["event_id"],
            "reason": NOT_LINKED,
            "parked_at": datetime.now(UTC),
            "engage_contact_id": event["contact"]["engage_contact_id"],
            "source_topic": origin.topic,
            "activity": (f"engage.events.{schema}", event),
        }
        self.producer.produce(
            self.topics.parked.name,
            self.serde.encode("ParkedActivity", parked),
            event["event_id"].encode(),
        )
        self.stats.parked += 1

    def _dead_letter(self, origin: Origin, exc: BaseException, reason: str) -> None:
        self.stats.dead_letters += 1
        self.dead_letters.send(origin, exc, reason)
