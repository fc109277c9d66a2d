"""Activity agent throughput vs a raw confluent-kafka loop, same events and broker."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

from confluent_kafka import Consumer

from connectors.kafka import config as kafka_config
from connectors.kafka.clients import AckingProducer, ensure_topics
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from domain.commands import TaskUpsert
from engage_sync.supervisor import Supervisor, cli_argv
from ground.settings import KafkaSettings
from streams.activity.formatting import call_to_task
from tests.factories import call_event

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def namespace(bootstrap: str) -> KafkaSettings:
    ns = f"b{uuid.uuid4().hex[:8]}"
    settings = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        KAFKA_TOPIC_PREFIX=f"{ns}.",
        KAFKA_GROUP_PREFIX=ns,
        KAFKA_TOPIC_PARTITIONS=4,
        KAFKA_SESSION_TIMEOUT_MS=6000,
    )
    ensure_topics(settings, Topics(settings).all())
    return settings


def publish_calls(settings: KafkaSettings, n: int) -> None:
    serde, producer = Serde(), AckingProducer(settings, **{"linger.ms": 20})
    topic = Topics(settings).calls.name
    for i in range(n):
        ev = call_event(event_id=f"bench-{i}", occurred_at=datetime.now(UTC))
        producer.produce(
            topic,
            serde.encode("CallLogged", ev),
            ev["contact"]["engage_contact_id"].encode(),
        )
    producer.flush()


def _consumer(settings: KafkaSettings, group: str) -> Consumer:
    return Consumer(
        {
            **kafka_config.librdkafka(settings),
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )


def raw_loop(settings: KafkaSettings, n: int) -> float:
    """Consume -> fastavro decode -> build the Task command -> produce; events/s."""
    topics, serde = Topics(settings), Serde()
    consumer = _consumer(settings, f"{settings.group_prefix}.raw")
    consumer.subscribe([topics.calls.name])
    producer = AckingProducer(settings, **{"linger.ms": 20})
    done, started = 0, None
    while done < n:
        msgs = consumer.consume(1000, 1.0)
        for msg in msgs:
            if msg.error():
                continue
            if started is None:
                started = time.perf_counter()
            event = serde.decode("CallLogged", msg.value())
            draft = call_to_task(event).draft
            command = TaskUpsert.for_activity(
                draft.event_id, draft.to_sobject(), event["occurred_at"]
            )
            producer.produce(
                topics.commands.name,
                serde.encode("SalesforceCommand", command.to_avro()),
                msg.key(),
            )
            done += 1
        producer.flush()
        if msgs:
            consumer.commit(asynchronous=False)
    elapsed = time.perf_counter() - (started or time.perf_counter())
    consumer.close()
    return n / elapsed


def agent(settings: KafkaSettings, n: int) -> float:
    """The real `engage-sync worker` process; rate from first to last command out."""
    env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
        "KAFKA_TOPIC_PREFIX": settings.topic_prefix,
        "KAFKA_GROUP_PREFIX": settings.group_prefix,
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
    }
    supervisor = Supervisor(cwd=REPO)
    supervisor.start("worker", cli_argv("worker"), env)
    try:
        consumer = _consumer(settings, f"{settings.group_prefix}.reader")
        consumer.subscribe([Topics(settings).commands.name])
        seen, first, last = 0, None, 0.0
        deadline = time.monotonic() + 600
        while seen < n and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 1.0):
                if msg.error():
                    continue
                ts = msg.timestamp()[1] / 1000
                first = ts if first is None else min(first, ts)
                last = max(last, ts)
                seen += 1
        consumer.close()
        if seen < n or first is None:
            raise RuntimeError(f"agent produced {seen}/{n} commands in time")
        return n / max(1e-6, last - first)
    finally:
        supervisor.close()
