"""Faust agents: Salesforce records and Engage contact actions in, Engage's copy out."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import faust

from engage_sync.settings import KafkaSettings, WorkerSettings
from streams.activity.agents import origin_of
from streams.contacts.actions import ContactActions
from streams.contacts.processor import ContactsProcessor
from streams.contacts.store import ContactStore
from streams.settings.topic import SettingsFollower


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

    async def run_batches(stream: faust.StreamT, work: object) -> None:
        await ready.wait()
        loop = asyncio.get_running_loop()
        # faust's StreamT stub lacks take_events; the Stream it gets has it.
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.batch_size, within
        ):
            # Matching and SQLite work run off the event loop so heartbeats keep going.
            batch = [origin_of(e) for e in events]
            await loop.run_in_executor(None, work, batch)  # type: ignore[arg-type]

    @app.agent(app.topic(topics.records.name, acks=True), concurrency=1,
               name="salesforce_records_to_engage_contacts")
    async def salesforce_records_to_engage_contacts(stream: faust.StreamT) -> None:
        await run_batches(stream, processor.handle)

    @app.agent(app.topic(topics.contact_actions.name, acks=True), concurrency=1,
               name="contact_actions")
    async def contact_actions(stream: faust.StreamT) -> None:
        await run_batches(stream, actions.handle)

    @app.agent(app.topic(topics.results.name, acks=True), concurrency=1,
               name="links_from_salesforce_results")
    async def links_from_salesforce_results(stream: faust.StreamT) -> None:
        await run_batches(stream, actions.handle_results)
