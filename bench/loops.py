"""Baseline loops on plain confluent-kafka, each run as its own process (so its CPU is
its own): `python -m bench.loops minimal|same-work OUTPUT_TOPIC` with KAFKA_* env.

- minimal: consume, decode with fastavro, produce a small JSON output per event;
  batches of 1,000, a flush and a commit per batch: Python plus librdkafka's ceiling.
- same-work: the activity agent's per-event work without Faust: decode through the
  serde, the guide's Task format, the typed command Avro-encoded, produce; flush and
  commit per batch.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from io import BytesIO
from typing import Any

import fastavro
from confluent_kafka import Message

from connectors.kafka.clients import AckingProducer, consumer
from connectors.kafka.serde import DecodeError, Serde
from connectors.kafka.topics import Topics
from domain.commands import TaskUpsert
from ground.settings import KafkaSettings
from streams.activity.formatting import call_to_task, email_to_task

BATCH = 1000
Work = Callable[[Message], bytes | None]


def _minimal(topics: Topics, serde: Serde) -> Work:
    schemas = {
        name: serde.codec(schema).schema.parsed
        for name, schema in topics.activity_inputs.items()
    }

    def work(msg: Message) -> bytes | None:
        value = msg.value() or b""
        try:
            event: Any = fastavro.schemaless_reader(
                BytesIO(value[10:]), schemas[msg.topic() or ""], None
            )
        except Exception:  # noqa: BLE001 - a bad event is skipped, as the agent does
            return None
        return json.dumps({"id": event["event_id"]}).encode()

    return work


def _same_work(topics: Topics, serde: Serde) -> Work:
    inputs = topics.activity_inputs

    def work(msg: Message) -> bytes | None:
        schema = inputs[msg.topic() or ""]
        try:
            event = serde.decode(schema, msg.value())
        except DecodeError:
            return None
        fmt = call_to_task if schema == "CallLogged" else email_to_task
        draft = fmt(event, None).draft
        command = TaskUpsert.for_activity(
            draft.event_id, draft.to_sobject(), event["occurred_at"]
        )
        return serde.encode("SalesforceCommand", command.to_avro())

    return work


def run(kind: str, out: str) -> None:
    """Run until killed: consume the activity topics, produce to `out`."""
    settings = KafkaSettings()
    topics, serde = Topics(settings), Serde()
    work = {"minimal": _minimal, "same-work": _same_work}[kind](topics, serde)
    source = consumer(
        settings, settings.group(kind), **{"enable.auto.offset.store": True}
    )
    source.subscribe(list(topics.activity_inputs))
    producer = AckingProducer(settings)
    while True:
        msgs = source.consume(BATCH, 1.0)
        for msg in msgs:
            if msg.error():
                continue
            value = work(msg)
            if value is not None:
                producer.produce(out, value, msg.key())
        if msgs:
            producer.flush()
            source.commit(asynchronous=False)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
