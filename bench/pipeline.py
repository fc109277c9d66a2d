"""End-to-end figures: Salesforce API calls per 1,000 Tasks, event-to-Task latency."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from connectors.kafka import config as kafka_config
from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from engage_sync.supervisor import Supervisor, cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.factories import call_event, contact_ref

REPO = Path(__file__).resolve().parents[1]


class Pipeline:
    """Worker and writer processes against one sandbox org."""

    def __init__(
        self,
        settings: KafkaSettings,
        org: Any,
        logs: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        creds = org.credentials
        self.env = (
            os.environ
            | {
                "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
                "KAFKA_TOPIC_PREFIX": settings.topic_prefix,
                "KAFKA_GROUP_PREFIX": settings.group_prefix,
                "KAFKA_SESSION_TIMEOUT_MS": "6000",
                "SALESFORCE_LOGIN_URL": org.url,
                "SALESFORCE_CLIENT_ID": creds.client_id,
                "SALESFORCE_USERNAME": creds.username,
                "SALESFORCE_PRIVATE_KEY_FILE": str(creds.private_key_path),
                "SALESFORCE_CA_BUNDLE": str(org.ca_path),
                "METRICS_PORT": "0",
            }
            | (extra_env or {})
        )
        self.logs = logs
        self.supervisor = Supervisor(logs, cwd=REPO)

    def start(self) -> Pipeline:
        for role in ("worker", "writer"):
            self.supervisor.start(role, cli_argv(role), self.env)
        return self

    def stop(self) -> None:
        self.supervisor.close()


def seed_people(admin: SandboxAdmin, n: int = 200) -> list[str]:
    admin.put_records(
        "Contact",
        [{"LastName": f"Bench{i}", "Email": f"b{i}@example.org"} for i in range(n)],
    )
    return [r["Id"] for r in admin.records("Contact")]


def calls(people: list[str], n: int, prefix: str) -> list[dict[str, Any]]:
    return [
        call_event(
            event_id=f"{prefix}-{i}",
            occurred_at=datetime.now(UTC),
            contact=contact_ref(
                engage_contact_id=f"ec-{i % 97}", salesforce_id=people[i % len(people)]
            ),
        )
        for i in range(n)
    ]


def latency(
    settings: KafkaSettings,
    admin: SandboxAdmin,
    people: list[str],
    rate: float,
    seconds: float,
) -> dict[str, float]:
    """Steady traffic; latency = WriteResult.written_at - event.occurred_at."""
    serde, producer = Serde(), AckingProducer(settings)
    topics = Topics(settings)
    consumer = Consumer(
        {
            **kafka_config.librdkafka(settings),
            "group.id": f"{settings.group_prefix}.lat",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    # Assigned from the start (Tansu end offsets can be wrong); skip old results by id.
    parts = (
        consumer.list_topics(topics.results.name, timeout=10)
        .topics[topics.results.name]
        .partitions
    )
    consumer.assign(
        [TopicPartition(topics.results.name, p, OFFSET_BEGINNING) for p in parts]
    )
    n = int(rate * seconds)
    sent: dict[str, float] = {}
    start = time.monotonic()
    for i, ev in enumerate(calls(people, n, f"lat{int(start)}")):
        target = start + i / rate
        while time.monotonic() < target:
            time.sleep(max(0.0, min(0.002, target - time.monotonic())))
        ev["occurred_at"] = datetime.now(UTC)
        sent[ev["event_id"]] = ev["occurred_at"].timestamp()
        producer.produce(
            topics.calls.name,
            serde.encode("CallLogged", ev),
            ev["contact"]["engage_contact_id"].encode(),
        )
        producer._producer.poll(0)
    producer.flush()
    lat: list[float] = []
    deadline = time.monotonic() + 120
    while len(lat) < n and time.monotonic() < deadline:
        for msg in consumer.consume(500, 0.5):
            if msg.error():
                continue
            result = serde.decode("WriteResult", msg.value())
            if result["event_id"] in sent:
                lat.append(
                    result["written_at"].timestamp() - sent.pop(result["event_id"])
                )
    consumer.close()
    lat.sort()
    return {
        "events": n,
        "rate": rate,
        "p50_ms": 1000 * lat[len(lat) // 2],
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "received": len(lat),
    }
