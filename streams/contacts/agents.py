"""Faust agents: Salesforce records and Engage contact actions in, Engage's copy out."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path

import faust

from connectors.kafka.deadletter import Origin
from connectors.kafka.settings_topic import SettingsFollower
from ground.settings import KafkaSettings, WorkerSettings
from streams.batches import BatchLoop
from streams.contacts.actions import ContactActions
from streams.contacts.processor import ContactsProcessor
from streams.contacts.store import ContactStore


def build(kafka: KafkaSettings, follower: SettingsFollower) -> ContactsProcessor:
    db = Path(tempfile.mkdtemp(prefix="engage-contacts-")) / "contacts.sqlite3"
    return ContactsProcessor(kafka, ContactStore(db), lambda: follower.settings)


def register(
    app: faust.App,
    settings: WorkerSettings,
    processor: ContactsProcessor,
    actions: ContactActions,
    ready: asyncio.Event,
) -> None:
    within = settings.batch_within_ms / 1000
    topics = processor.topics

    def batches(name: str, work: Callable[[list[Origin]], None]) -> BatchLoop:
        async def handle(batch: list[Origin]) -> None:
            # In the loop's own thread: handing each batch to an executor thread
            # made the two threads trade the GIL (a quarter of the agent's CPU in
            # futex waits). Heartbeats are not ours to keep: faust's consumer runs
            # in its own thread, and /healthz and /metrics in another. A batch
            # holds the loop for its matching, SQLite work and Kafka's ack.
            work(batch)

        return BatchLoop(name, handle, settings.batch_size, within)

    async def run_batches(stream: faust.StreamT, loop: BatchLoop) -> None:
        await ready.wait()
        await loop.run(stream)

    records = batches("salesforce_records_to_engage_contacts", processor.handle)
    contact_actions_loop = batches("contact_actions", actions.handle)
    results = batches("links_from_salesforce_results", actions.handle_results)

    @app.agent(app.topic(topics.records.name, acks=True), concurrency=1,
               name="salesforce_records_to_engage_contacts")
    async def salesforce_records_to_engage_contacts(stream: faust.StreamT) -> None:
        await run_batches(stream, records)

    @app.agent(app.topic(topics.contact_actions.name, acks=True), concurrency=1,
               name="contact_actions")
    async def contact_actions(stream: faust.StreamT) -> None:
        await run_batches(stream, contact_actions_loop)

    # Link reports only (`salesforce.links`): a Task's result never reaches it.
    @app.agent(app.topic(topics.links.name, acks=True), concurrency=1,
               name="links_from_salesforce_results")
    async def links_from_salesforce_results(stream: faust.StreamT) -> None:
        await run_batches(stream, results)
