"""Faust agent: dead-letters unreadable `engage.users` records, once per record."""

from __future__ import annotations

import faust

from connectors.kafka.clients import AckingProducer
from connectors.kafka.deadletter import DeadLetters, Origin
from connectors.kafka.serde import DecodeError, Serde
from connectors.kafka.snapshot import is_sentinel
from connectors.kafka.topics import Topics
from ground.settings import WorkerSettings
from streams.batches import BatchLoop


def register(
    app: faust.App,
    topics: Topics,
    serde: Serde,
    producer: AckingProducer,
    settings: WorkerSettings,
) -> None:
    # Every worker reads all of engage.users into its UserDirectory and skips what it
    # cannot decode; this agent, in the worker group, reports each such record once.
    dead_letters = DeadLetters(producer, topics.dlq.name)
    within = settings.batch_within_ms / 1000

    async def check(batch: list[Origin]) -> None:
        for origin in batch:
            if origin.value is None or is_sentinel(origin.key):
                continue  # tombstones: compaction's deletes and read-to-end marks
            try:
                serde.decode("UserEvent", origin.value)
            except DecodeError as exc:
                dead_letters.send(origin, exc, "undecodable")
        await producer.flush_async()

    loop = BatchLoop("user_events_check", check, settings.batch_size, within)

    @app.agent(app.topic(topics.users.name, acks=True), concurrency=1,
               name="user_events_check")
    async def user_events_check(stream: faust.StreamT) -> None:
        await loop.run(stream)
