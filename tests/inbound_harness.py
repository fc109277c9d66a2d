"""In-process inbound pipeline for tests: real poller, contacts processor, no Faust."""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from connectors.kafka import config as kafka_config
from connectors.kafka.deadletter import Origin
from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import Serde
from connectors.kafka.snapshot import latest_values
from connectors.kafka.topics import Topics
from connectors.salesforce.backfill import Backfill
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.cursor import CursorStore
from connectors.salesforce.poller import IncrementalPoller, RecordPublisher
from domain.crm_settings.document import parse_document
from domain.crm_settings.models import CrmSettings
from ground.settings import KafkaSettings, SalesforceSettings
from streams.contacts.processor import ContactsProcessor
from streams.contacts.store import ContactStore
from tests.conftest import salesforce_env


class InboundHarness:
    """Poll, then pump `salesforce.records` through the contacts processor on demand."""

    def __init__(self, kafka: KafkaSettings, org: Any, settings_yaml: str) -> None:
        self.kafka = kafka
        self.crm: CrmSettings = parse_document(settings_yaml)
        self.client = SalesforceClient(
            SalesforceSettings(**salesforce_env(org))
        ).connect()
        self.cursors = CursorStore(kafka).load()
        self.poller = IncrementalPoller(kafka, self.client, self.cursors)
        self.backfill = Backfill(self.client, RecordPublisher(kafka), self.cursors)
        self.processor = ContactsProcessor(kafka, ContactStore(), lambda: self.crm)
        self.topics = Topics(kafka)
        self._consumer = Consumer(
            {
                **kafka_config.librdkafka(kafka),
                "group.id": f"{kafka.group_prefix}.harness-{uuid.uuid4().hex[:6]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        # assign(), not subscribe(): a group join costs half the session timeout here.
        name = self.topics.records.name
        parts = self._consumer.list_topics(name, timeout=10).topics[name].partitions
        self._consumer.assign(
            [TopicPartition(name, p, OFFSET_BEGINNING) for p in parts]
        )

    def set_settings(self, settings_yaml: str) -> None:
        self.crm = parse_document(settings_yaml)

    def poll(self, obj: str) -> Any:
        return self.poller.poll(obj, self.crm)  # type: ignore[arg-type]

    def pump(self, expect: int, timeout: float = 60.0) -> int:
        """Feed `expect` new records to the processor like the agent; return count."""
        import time

        done, deadline = 0, time.monotonic() + timeout
        while done < expect and time.monotonic() < deadline:
            batch = [
                Origin(m.topic(), m.partition(), m.offset(), m.key(), m.value())
                for m in self._consumer.consume(500, 0.5)
                if not m.error()
            ]
            if batch:
                self.processor.handle(batch)
                done += len(batch)
        assert done == expect, f"pumped {done} of {expect} records"
        return done

    def poll_and_pump(self, obj: str) -> Any:
        result = self.poll(obj)
        self.pump(result.published)
        return result

    def close(self) -> None:
        self._consumer.close()
        self.processor.stop()


def engage_copy(kafka: KafkaSettings) -> dict[str, dict[str, Any]]:
    """Engage's copy as seen downstream: the latest values on the compacted topic."""
    serde = Serde()
    with TopicReader.open(kafka) as reader:
        latest = latest_values(reader, Topics(kafka).contacts.name)
    return {k.decode(): serde.decode("EngageContact", v) for k, v in latest.items()}


def by_salesforce_id(copy: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["salesforce_id"]: c for c in copy.values() if c["salesforce_id"]}
