"""Engage's contact actions through a real worker and writer to the sandbox org: the
one way the contact tests start them and feed them events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.kafka.clients import AckingProducer
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings
from tests.conftest import Processes, kafka_env, salesforce_env


def publish(
    kafka: KafkaSettings, topic: str, schema: str, events: list[dict[str, Any]]
) -> None:
    """Encode `events` as `schema` on `topic`, keyed by contact (else by user)."""
    serde, producer = Serde(), AckingProducer(kafka)
    for ev in events:
        key = ev["contact"]["engage_contact_id"] if "contact" in ev else ev["user_id"]
        producer.produce(topic, serde.encode(schema, ev), key.encode())
    producer.flush()


@dataclass(frozen=True)
class ContactSync:
    """A running worker and writer: actions go to Salesforce, links come back."""

    kafka: KafkaSettings
    env: dict[str, str]

    def act(self, events: list[dict[str, Any]]) -> None:
        """Publish ContactEvents (adds, edits, status changes) as Engage does."""
        topic = Topics(self.kafka).contact_actions.name
        publish(self.kafka, topic, "ContactEvent", events)


def start_contact_sync(
    kafka: KafkaSettings,
    org: Any,
    processes: Processes,
    writer_env: dict[str, str] | None = None,
) -> ContactSync:
    """Start a worker and a writer on `kafka` and the sandbox `org`.

    Args:
        kafka: the test's namespace.
        org: the `sandbox_org` fixture.
        processes: the `processes` fixture (stops them after the test).
        writer_env: more settings for the writer only (e.g. its METRICS_PORT).
    """
    env = kafka_env(kafka) | salesforce_env(org)
    processes.start("worker", env)
    processes.start("writer", env | (writer_env or {}))
    return ContactSync(kafka, env)
