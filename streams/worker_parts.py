"""What a worker holds besides its agents, built and loaded in one order.

The live worker (`streams/app.py`) and `replay` of the activity topic
(`streams/replay.py`) both need the same parts: the settings follower, Engage's
copy of contacts, the users directory and the parked-activity index, joined in
the activity agent's `Context`, loaded in the order below before the first batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.kafka.settings_topic import SettingsFollower
from ground.settings import KafkaSettings
from streams.activity.parking import ParkedIndex
from streams.activity.processor import Context
from streams.contacts import agents as contact_agents
from streams.contacts.processor import ContactsProcessor
from streams.users.directory import UserDirectory


@dataclass
class WorkerParts:
    """The state a worker reads, each part following its topic."""

    follower: SettingsFollower
    contacts: ContactsProcessor
    users: UserDirectory
    parked: ParkedIndex
    context: Context

    @classmethod
    def build(cls, kafka: KafkaSettings) -> WorkerParts:
        """Create the parts; nothing connects until they are loaded."""
        follower = SettingsFollower(kafka)
        contacts = contact_agents.build(kafka, follower)
        users = UserDirectory(kafka, lambda: follower.settings)
        parked = ParkedIndex(kafka)
        context = Context(contacts, users, lambda: follower.settings, parked)
        return cls(follower, contacts, users, parked, context)

    def load_steps(self) -> list[Callable[[], object]]:
        """The loads in their order: settings first (the others read them), then
        users, parked activities, and Engage's copy (the longest) last."""
        return [
            self.follower.start_and_load,
            self.users.load,
            self.parked.load,
            self.contacts.load,
        ]

    def load(self) -> None:
        """Load every part, in order, on this thread."""
        for step in self.load_steps():
            step()

    def stop(self) -> None:
        for part in (self.follower, self.users, self.contacts):
            part.stop()
