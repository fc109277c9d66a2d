"""Faust agent: Salesforce records in, Engage's copy of contacts and accounts out."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import faust

from engage_sync.settings import KafkaSettings, WorkerSettings
from streams.activity.agents import origin_of
from streams.contacts.processor import ContactsProcessor
from streams.contacts.store import ContactStore
from streams.settings.topic import SettingsFollower


def register(
    app: faust.App, kafka: KafkaSettings, settings: WorkerSettings
) -> ContactsProcessor:
    follower = SettingsFollower(kafka)
    db = Path(tempfile.mkdtemp(prefix="engage-contacts-")) / "contacts.sqlite3"
    processor = ContactsProcessor(kafka, ContactStore(db), lambda: follower.settings)
    source = app.topic(processor.topics.records.name, acks=True)
    within = settings.batch_within_ms / 1000

    @app.agent(source, concurrency=1, name="salesforce_records_to_engage_contacts")
    async def salesforce_records_to_engage_contacts(stream: faust.StreamT) -> None:
        loop = asyncio.get_running_loop()
        if follower.settings is None and not follower.is_alive():
            await loop.run_in_executor(None, follower.start_and_load)
        async for events in stream.take_events(settings.batch_size, within):
            # Matching and SQLite work run off the event loop so heartbeats keep going.
            batch = [origin_of(e) for e in events]
            await loop.run_in_executor(None, processor.handle, batch)

    app.contacts_processor = processor  # type: ignore[attr-defined]
    app.settings_follower = follower  # type: ignore[attr-defined]
    return processor
