"""The one place declaring every topic: name, partitions, configs and value schema."""

from __future__ import annotations

from dataclasses import dataclass, field

from ground.settings import KafkaSettings

COMPACT = {"cleanup.policy": "compact"}


@dataclass(frozen=True)
class TopicSpec:
    """A topic we read or write, with the schema of its values."""

    name: str
    partitions: int
    value_schema: str | None
    key: str
    config: dict[str, str] = field(default_factory=dict)


class Topics:
    """Topic names of one deployment (an optional prefix isolates tests and tenants)."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.prefix = p = settings.topic_prefix
        n = settings.partitions
        self.calls = TopicSpec(
            f"{p}engage.dialer.calls", n, "CallLogged", "engage_contact_id"
        )
        self.emails = TopicSpec(
            f"{p}engage.email.events", n, "EmailEvent", "engage_contact_id"
        )
        self.contact_actions = TopicSpec(
            f"{p}engage.contacts.actions", n, "ContactEvent", "engage_contact_id"
        )
        self.users = TopicSpec(f"{p}engage.users", n, "UserEvent", "user_id", COMPACT)
        self.commands = TopicSpec(
            f"{p}salesforce.commands", n, "SalesforceCommand", "parent record id"
        )
        self.results = TopicSpec(f"{p}salesforce.results", n, "WriteResult", "event_id")
        # The link reports of `results` again: what the worker's links agent reads,
        # so it never consumes a Task's result.
        self.links = TopicSpec(f"{p}salesforce.links", n, "WriteResult", "event_id")
        self.parked = TopicSpec(
            f"{p}engage.activities.parked", n, "ParkedActivity", "event_id", COMPACT
        )
        self.records = TopicSpec(
            f"{p}salesforce.records", n, "SalesforceRecord", "salesforce_id"
        )
        self.contacts = TopicSpec(
            f"{p}engage.contacts", n, "EngageContact", "engage_contact_id", COMPACT
        )
        self.accounts = TopicSpec(
            f"{p}engage.accounts", n, "EngageAccount", "engage_account_id", COMPACT
        )
        self.settings = TopicSpec(
            f"{p}engage.settings", 1, "CrmSettingsDocument", "crm-settings", COMPACT
        )
        self.poller_state = TopicSpec(
            f"{p}engage.poller.state", 1, "PollerState", "<kind>:<object>", COMPACT
        )
        self.api_usage = TopicSpec(
            f"{p}salesforce.api-usage", 1, "ApiUsage", "<role>:<process id>", COMPACT
        )
        # The dead-letter topic keeps the original key/value bytes, whatever they are.
        self.dlq = TopicSpec(f"{p}engage.dlq", n, None, "original key")
        # JSON: who resubmitted which dead letter, when, and its outcome.
        self.resubmissions = TopicSpec(
            f"{p}engage.dlq.resubmissions",
            1,
            None,
            "<dlq>/<partition>/<offset>",
            COMPACT,
        )

    def all(self) -> list[TopicSpec]:
        return [
            self.calls,
            self.emails,
            self.contact_actions,
            self.users,
            self.commands,
            self.results,
            self.links,
            self.parked,
            self.records,
            self.contacts,
            self.accounts,
            self.settings,
            self.poller_state,
            self.api_usage,
            self.dlq,
            self.resubmissions,
        ]

    def by_name(self, name: str) -> TopicSpec:
        """Find a topic by its full name or its documented name (without the prefix)."""
        for spec in self.all():
            if name in (spec.name, spec.name.removeprefix(self.prefix)):
                return spec
        raise KeyError(f"unknown topic {name!r}; known: {[s.name for s in self.all()]}")

    @property
    def activity_inputs(self) -> dict[str, str]:
        return {self.calls.name: "CallLogged", self.emails.name: "EmailEvent"}
