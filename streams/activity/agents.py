"""Faust agent: Engage calls and emails in, Salesforce Task commands out."""

from __future__ import annotations

import faust

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import WorkerSettings
from streams.activity.processor import ActivityProcessor, Context
from streams.batches import BatchLoop


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
    # Pipelined: a batch's work overlaps the previous batch's wait for Kafka's acks
    # (`handle` produces everything before it awaits); each is acked after its own.
    loop = BatchLoop(
        "activities_to_task_commands",
        processor.handle,
        settings.batch_size,
        within,
        pipelined=True,
    )

    @app.agent(source, concurrency=1, name="activities_to_task_commands")
    async def activities_to_task_commands(stream: faust.StreamT) -> None:
        # Each event is acked once `handle` saw Kafka acknowledge every command,
        # park and dead letter of its batch; a failed batch is never acked.
        await processor.context.ready.wait()
        await loop.run(stream)

    app.activity_processor = processor  # type: ignore[attr-defined]
    return processor
