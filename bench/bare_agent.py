"""A bare Faust agent: the worker's App settings, batch loop and serde, and nothing
else — consume, decode, produce a small output, ack once Kafka acknowledged it.

The framework's own ceiling on this machine (issue 14): `python -m bench.bare_agent`
with the worker's KAFKA_* environment; outputs go to BARE_OUTPUT_TOPIC.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import faust

from connectors.kafka.clients import AckingProducer
from connectors.kafka.deadletter import Origin
from connectors.kafka.serde import DecodeError, Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings, WorkerSettings
from streams.app import _shorten_fetch_wait, app_options
from streams.batches import BatchLoop


def build() -> faust.App:
    """The app with its one agent, from the environment."""
    kafka, worker = KafkaSettings(), WorkerSettings()
    _shorten_fetch_wait(worker.fetch_max_wait_ms)
    app = faust.App(kafka.group("bare"), **app_options(kafka, worker, "bare"))
    topics, serde, producer = (
        Topics(kafka),
        Serde.for_kafka(kafka),
        AckingProducer(kafka),
    )
    inputs = topics.activity_inputs
    out = os.environ["BARE_OUTPUT_TOPIC"]

    async def handle(batch: Sequence[Origin]) -> None:
        for origin in batch:
            try:
                event = serde.decode(inputs[origin.topic], origin.value)
            except DecodeError:
                continue
            producer.produce(out, json.dumps({"id": event["event_id"]}).encode())
        await producer.flush_async()

    loop = BatchLoop("bare", handle, worker.batch_size, worker.batch_within_ms / 1000)
    source = app.topic(topics.calls.name, topics.emails.name, acks=True)

    @app.agent(source, concurrency=1, name="bare")
    async def bare(stream: faust.StreamT) -> None:
        await loop.run(stream)

    return app


if __name__ == "__main__":
    faust.Worker(build(), loglevel="WARNING", quiet=True).execute_from_commandline()
