"""Replayed records go through their topic's live path: the activity agent or writer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from confluent_kafka import Consumer, Message

from connectors.kafka.clients import AckingProducer
from connectors.kafka.deadletter import Origin
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from connectors.kafka.window import where
from engage_sync.settings import (
    KafkaSettings,
    SalesforceSettings,
    WorkerSettings,
    WriterSettings,
)


class ReplayPath(Protocol):
    """How one topic's records are processed, as the live process would."""

    batch_size: int

    def start(self, consumer: Consumer) -> None: ...

    def handle(self, messages: Sequence[Message]) -> None: ...

    def summary(self) -> str: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


class Unsupported(ValueError):
    """The topic has no replay path."""


def origin_of(msg: Message) -> Origin:
    return Origin(*where(msg), msg.key(), msg.value(), msg.timestamp()[1])


class ActivityPath:
    """The worker's ActivityProcessor with the worker's Context (see streams/app.py)."""

    def __init__(self, kafka: KafkaSettings, worker: WorkerSettings) -> None:
        from streams.activity.parking import ParkedIndex
        from streams.activity.processor import ActivityProcessor, Context
        from streams.contacts import agents as contact_agents
        from streams.settings.topic import SettingsFollower
        from streams.users.directory import UserDirectory

        self.batch_size = worker.batch_size
        self.follower = follower = SettingsFollower(kafka)
        self.contacts = contact_agents.build(kafka, follower)
        self.users = UserDirectory(kafka, lambda: follower.settings)
        self.parked = ParkedIndex(kafka)
        self.context = Context(
            self.contacts, self.users, lambda: follower.settings, self.parked
        )
        self.processor = ActivityProcessor(
            Topics(kafka),
            Serde.for_kafka(kafka),
            AckingProducer(kafka),
            self.context,
        )
        # One loop for every batch: the processor awaits its producer's flush.
        self._runner = asyncio.Runner()

    def start(self, consumer: Consumer) -> None:
        # What the worker's start-up task loads before the agents' first batch.
        self.follower.start_and_load()
        self.users.load()
        self.parked.load()
        self.contacts.load()

    def handle(self, messages: Sequence[Message]) -> None:
        self._runner.run(self.processor.handle([origin_of(m) for m in messages]))

    def summary(self) -> str:
        s = self.processor.stats
        return (
            f"{s.commands_out} Task command(s), {s.parked} parked, "
            f"{s.history_off_skipped} skipped (activity history off), "
            f"{s.dead_letters} dead letter(s)"
        )

    def interrupt(self) -> None:
        """Nothing to cut short: a batch ends when Kafka acknowledged its outputs."""

    def close(self) -> None:
        self._runner.close()
        for part in (self.follower, self.users, self.contacts):
            part.stop()


class CommandPath:
    """The live writer's batch processing, fed by the replay consumer."""

    def __init__(
        self,
        kafka: KafkaSettings,
        writer: WriterSettings,
        salesforce: SalesforceSettings,
    ) -> None:
        from connectors.salesforce.client import SalesforceClient
        from connectors.salesforce.writer import SalesforceWriter
        from streams.settings.topic import SettingsFollower

        self.batch_size = writer.batch_size
        self.follower = follower = SettingsFollower(kafka)
        self.writer = SalesforceWriter(
            kafka,
            writer,
            SalesforceClient(salesforce),
            settings_provider=lambda: follower.settings,
        )

    def start(self, consumer: Consumer) -> None:
        # The writer commits each batch to the consumer's group: the replay group.
        self.writer.prepare(consumer)
        self.follower.start_and_load()

    def handle(self, messages: Sequence[Message]) -> None:
        self.writer.process(messages)

    def summary(self) -> str:
        s = self.writer.stats
        return (
            f"{s.written} written ({s.created} created), {s.failed} failed, "
            f"{s.dead_letters} dead letter(s)"
        )

    def interrupt(self) -> None:
        # Cuts a retry wait short (the writer raises Stopping; nothing is committed).
        self.writer.stop_event.set()

    def close(self) -> None:
        self.follower.stop()
        if self.writer.ledger is not None:
            self.writer.ledger.stop()


def replayable(topics: Topics) -> list[str]:
    """Full names of the topics `replay` accepts (activity topics, then commands)."""
    return [topics.calls.name, topics.emails.name, topics.commands.name]


def path_for(kafka: KafkaSettings, topic: str) -> ReplayPath:
    """The processing a topic's records get in the live pipeline.

    Raises:
        Unsupported: the topic is not an activity topic nor `salesforce.commands`.
    """
    from engage_sync.settings import load

    topics = Topics(kafka)
    if topic in topics.activity_inputs:
        return ActivityPath(kafka, load(WorkerSettings))
    if topic == topics.commands.name:
        return CommandPath(kafka, load(WriterSettings), load(SalesforceSettings))
    raise Unsupported(topic)
