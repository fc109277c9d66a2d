"""A bare Faust agent: the worker's App settings, batch loop and serde, and nothing
else — consume, decode, produce a small output, ack once Kafka acknowledged it.

The framework's own ceiling on this machine (issue 14): `python -m bench.bare_agent`
with the worker's KAFKA_* environment; outputs go to BARE_OUTPUT_TOPIC. It reads the
topics named in BARE_INPUT_TOPICS (documented names, comma-separated; default the
activity inputs, as the headline needs; the inbound part passes salesforce.records),
each decoded with the value schema `connectors/kafka/topics.py` declares for it.
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
from streams.app import _shorten_fetch_wait, app_options, faust_worker
from streams.batches import BatchLoop

ACTIVITY_INPUTS = "engage.dialer.calls,engage.email.events"
# The field each input's small output names (the event's own id).
_ID_FIELD = {"SalesforceRecord": "salesforce_id"}


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
    specs = [
        topics.by_name(name.strip())
        for name in os.environ.get("BARE_INPUT_TOPICS", ACTIVITY_INPUTS).split(",")
        if name.strip()
    ]
    inputs = {spec.name: str(spec.value_schema) for spec in specs}
    ids = {name: _ID_FIELD.get(schema, "event_id") for name, schema in inputs.items()}
    out = os.environ["BARE_OUTPUT_TOPIC"]

    async def handle(batch: Sequence[Origin]) -> None:
        for origin in batch:
            try:
                event = serde.decode(inputs[origin.topic], origin.value)
            except DecodeError:
                continue
            producer.produce(out, json.dumps({"id": event[ids[origin.topic]]}).encode())
        await producer.flush_async()

    # The activity agent's loop, pipelined as it is.
    loop = BatchLoop(
        "bare", handle, worker.batch_size, worker.batch_within_ms / 1000, pipelined=True
    )
    source = app.topic(*inputs, acks=True)

    @app.agent(source, concurrency=1, name="bare")
    async def bare(stream: faust.StreamT) -> None:
        await loop.run(stream)

    return app


if __name__ == "__main__":
    # The worker's own faust Worker (no spinner), as its App settings are.
    faust_worker(build(), "WARNING").execute_from_commandline()
