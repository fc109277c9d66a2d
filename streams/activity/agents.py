"""Faust agent: Engage calls and emails in, Salesforce Task commands out."""

from __future__ import annotations

from typing import Any

import faust

from connectors.kafka.clients import AckingProducer
from connectors.kafka.deadletter import Origin
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from engage_sync.settings import WorkerSettings
from streams.activity.processor import ActivityProcessor, Context


def origin_of(event: Any) -> Origin:
    msg = event.message
    timestamp_ms = int((msg.timestamp or 0) * 1000)
    return Origin(
        msg.topic, msg.partition, msg.offset, msg.key, msg.value, timestamp_ms
    )


def register(
    app: faust.App,
    topics: Topics,
    serde: Serde,
    producer: AckingProducer,
    settings: WorkerSettings,
    context: Context | None = None,
) -> ActivityProcessor:
    processor = ActivityProcessor(topics, serde, producer, context)
    source = app.topic(topics.calls.name, topics.emails.name, acks=True)
    within = settings.batch_within_ms / 1000

    # concurrency=1: faust-streaming #606 commits past in-flight events if it is higher.
    @app.agent(source, concurrency=1, name="activities_to_task_commands")
    async def activities_to_task_commands(stream: faust.StreamT) -> None:
        # take_events acks a batch only when this loop comes back for the next one,
        # i.e. after `handle` saw Kafka acknowledge every command, park and dead letter.
        await processor.context.ready.wait()
        # faust's StreamT stub lacks take_events; the Stream it gets has it.
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.batch_size, within
        ):
            await processor.handle([origin_of(e) for e in events])

    app.activity_processor = processor  # type: ignore[attr-defined]
    return processor
