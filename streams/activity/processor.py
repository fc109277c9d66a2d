"""Turns activity batches into Task commands, parked activities and dead letters."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.kafka.deadletter import DeadLetters, Origin
from connectors.kafka.serde import DecodeError, Serde
from connectors.kafka.topics import Topics
from domain.commands import OptOut, ReadById, TaskUpsert
from domain.ids import PersonObject, object_of
from streams.activity.formatting import call_to_task, email_to_task
from streams.activity.models import FormattedTask
from streams.activity.ports import ContactCopy, ParkedActivities, Producer, Users
from streams.activity.stats import ActivityStats, BoundMetrics
from streams.activity.validation import InvalidEvent, validate

log = logging.getLogger(__name__)

NOT_LINKED = "contact-not-linked"
COPY_CHECKS_REMEMBERED = 100_000
USER_NOT_CONNECTED = "user-not-connected"


class Context:
    """What the activity agent reads: Engage's copy, users, settings, parked index."""

    def __init__(
        self,
        contacts: ContactCopy | None = None,
        users: Users | None = None,
        settings: Callable[[], Any] | None = None,
        parked: ParkedActivities | None = None,
    ) -> None:
        self.contacts, self.users, self.parked = contacts, users, parked
        self.settings = settings or (lambda: None)
        # "Look up, then park" and "link, then release" never interleave: otherwise an
        # activity could be parked just after its contact's parked ones were released.
        self.link_lock = threading.RLock()
        # Set once settings, users and parked activities are loaded; agents wait for it.
        self.ready = asyncio.Event()
        if contacts is None and users is None and parked is None:
            self.ready.set()

    def who(self, contact: dict[str, Any]) -> str | None:
        """The contact's Salesforce id, from the event or else from Engage's copy."""
        if contact.get("salesforce_id") or self.contacts is None:
            return contact.get("salesforce_id")
        if not self.contacts.loaded:
            self.contacts.load()
        found = self.contacts.find(contact["engage_contact_id"], contact.get("email"))
        return found.salesforce_id if found is not None else None


class ActivityProcessor:
    """The activity agent's work, kept free of Faust so it is testable on its own."""

    def __init__(
        self,
        topics: Topics,
        serde: Serde,
        producer: Producer,
        context: Context | None = None,
    ) -> None:
        self.topics, self.serde, self.producer = topics, serde, producer
        self.context = context or Context()
        # Contacts already checked for a copy; bounded, since forgetting one only
        # costs a store lookup (the copy is then found and nothing is sent).
        self._copies_requested: OrderedDict[str, None] = OrderedDict()
        self._batch_copies: list[str] = []
        self.dead_letters = DeadLetters(producer, topics.dlq.name)
        self.stats = ActivityStats()
        self._inputs = topics.activity_inputs
        self._metrics = BoundMetrics(self._inputs)

    async def handle(self, batch: Sequence[Origin]) -> None:
        """Emit each message's outcome, then wait until Kafka acknowledged it all.

        Safe to redo after it raised: nothing it remembers skips an output on replay.
        """
        # This batch's own list: with the agent's loop pipelined, the next batch
        # starts (and resets `_batch_copies`) while this one's outputs are in flight.
        copies: list[str] = []
        self._batch_copies = copies
        try:
            # "Look up, then park" never interleaves with "link, then release": one
            # lock for the batch (re-entered by `route`), not one per event.
            with self.context.link_lock:
                valid = [v for v in map(self._decoded, batch) if v is not None]
                self._check_copies([event for event, _, _ in valid])
                for event, schema, origin in valid:
                    self._route_or_dead_letter(event, schema, origin)
            self._metrics.count(batch, self.stats)
            await self.producer.flush_async()
        except BaseException:
            # Copy requests of a batch that is redone must go out again.
            for ecid in copies:
                self._copies_requested.pop(ecid, None)
            raise

    def _decoded(self, origin: Origin) -> tuple[dict[str, Any], str, Origin] | None:
        """The valid event of a message, or None once it was dead-lettered."""
        self.stats.events_in += 1
        schema = self._inputs[origin.topic]
        try:
            event = self.serde.decode(schema, origin.value)
            validate(event)
        except DecodeError as exc:
            self._dead_letter(origin, exc, "undecodable")
            return None
        except (InvalidEvent, ValueError, KeyError, TypeError) as exc:
            self._dead_letter(origin, exc, "invalid-event")
            return None
        return event, schema, origin

    def _route_or_dead_letter(
        self, event: dict[str, Any], schema: str, origin: Origin
    ) -> None:
        try:
            self._route(event, schema, origin.topic)  # `handle` holds the link lock
        except (InvalidEvent, ValueError, KeyError, TypeError) as exc:
            self._dead_letter(origin, exc, "invalid-event")

    def route(self, event: dict[str, Any], schema: str, source_topic: str) -> bool:
        """Write, park or skip one valid activity; True if a Task command was sent."""
        # "Look up, then park" never interleaves with "link or connect, then
        # release": else an activity parked just after the release stays parked.
        with self.context.link_lock:
            return self._route(event, schema, source_topic)

    def _route(self, event: dict[str, Any], schema: str, source_topic: str) -> bool:
        who = self.context.who(event["contact"])
        if who is None:
            self._park(event, schema, source_topic, NOT_LINKED)
            return False
        if not event["contact"].get("salesforce_id"):
            event = event | {"contact": event["contact"] | {"salesforce_id": who}}
        else:
            self._copy_if_unknown(event["contact"], who)
        crm = self.context.settings()
        obj = object_of(who) or "Contact"
        if schema == "EmailEvent" and event["event_type"] == "UNSUBSCRIBED":
            # A legal obligation (CAN-SPAM, GDPR): written back wherever it is mapped,
            # whether the Task is then written, skipped (history off) or held.
            self._opt_out(event, who, obj, crm)
        if crm is not None and not crm.sync_settings.writes_activity_for(obj):
            self.stats.history_off_skipped += 1
            return False
        users = self.context.users
        kind, owner_id = (
            users.owner(event["user_id"]) if users else ("integration", None)
        )
        if kind == "hold":
            self._park(event, schema, source_topic, USER_NOT_CONNECTED)
            return False
        fmt = call_to_task if schema == "CallLogged" else email_to_task
        formatted = fmt(event, owner_id)
        self.stats.sentiment_dropped += formatted.sentiment_dropped
        self._emit(formatted, event)
        return True

    def _check_copies(self, events: list[dict[str, Any]]) -> None:
        """The batch's copy checks in one look-up: contacts not seen yet, with a
        Salesforce id, are asked for a copy unless Engage's copy holds them."""
        if self.context.contacts is None:
            return
        fresh: dict[str, str] = {}
        for event in events:
            contact = event["contact"]
            ecid, who = contact["engage_contact_id"], contact.get("salesforce_id")
            if who and ecid not in self._copies_requested:
                fresh.setdefault(ecid, who)
        if fresh:
            known = self.context.contacts.known(list(fresh), list(fresh.values()))
            for ecid, who in fresh.items():
                self._copy_unless(ecid, who, ecid in known or who in known)

    def _copy_if_unknown(self, contact: dict[str, Any], who: str) -> None:
        """Emailing or calling a Salesforce contact makes Engage keep a copy of it."""
        contacts, ecid = self.context.contacts, contact["engage_contact_id"]
        if contacts is None or ecid in self._copies_requested:
            return
        known = contacts.known([ecid], [who])
        self._copy_unless(ecid, who, bool(known))

    def _copy_unless(self, ecid: str, who: str, known: bool) -> None:
        self._copies_requested[ecid] = None
        self._batch_copies.append(ecid)
        if len(self._copies_requested) > COPY_CHECKS_REMEMBERED:
            self._copies_requested.popitem(last=False)
        if known:
            return
        command = ReadById(
            command_id=f"copy-{ecid}-{who}",
            sobject=object_of(who) or "Contact",
            record_id=who,
            engage_contact_id=ecid,
        )
        self.producer.produce(
            self.topics.commands.name,
            self.serde.encode("SalesforceCommand", command.to_avro()),
            who.encode(),
        )

    def _opt_out(
        self, event: dict[str, Any], who: str, obj: PersonObject, crm: Any
    ) -> None:
        from streams.contacts.actions import OPT_OUT, writes_back

        if crm is None or not writes_back(crm.mapping(obj), OPT_OUT):
            return
        command = OptOut(
            command_id=f"optout-{event['event_id']}",
            sobject=obj,
            record_id=who,
            engage_contact_id=event["contact"]["engage_contact_id"],
        )
        self.producer.produce(
            self.topics.commands.name,
            self.serde.encode("SalesforceCommand", command.to_avro()),
            who.encode(),
        )
        self.stats.opt_out_writebacks += 1

    def release(self, engage_contact_id: str, who: str) -> int:
        """Write the activities parked for a contact just linked; returns how many."""
        parked = self.context.parked
        if parked is None:
            return 0
        if not parked.loaded:
            parked.load()
        released: list[str] = []
        for item in parked.for_contact(engage_contact_id):
            if item["reason"] != NOT_LINKED:
                continue
            schema = self._inputs.get(item["source_topic"], "CallLogged")
            event = item["activity"]
            event = event | {"contact": event["contact"] | {"salesforce_id": who}}
            self.route(event, schema, item["source_topic"])
            if parked.reason(engage_contact_id, item["event_id"]) != NOT_LINKED:
                continue  # parked again, now for its user: that record must stay
            # The Task command goes out before the tombstone, acknowledged together.
            self.producer.produce(
                self.topics.parked.name, None, item["event_id"].encode()
            )
            released.append(item["event_id"])
        self.producer.flush()
        # Forgotten only once acknowledged: a release that failed is redone in full.
        for event_id in released:
            parked.remove(event_id)
        self.stats.released += len(released)
        self._metrics.count([], self.stats)
        return len(released)

    def release_held(self, user_id: str | None = None) -> int:
        """Write the activities held for a user (or for every user) who is no longer
        on hold, each once, owned as the user directory says now; returns how many.

        Called when `engage.users` connects the user, and once at start for those
        connected while no worker ran. Tombstones follow only once Kafka has every
        Task command, so a failure leaves them parked (released again, harmlessly:
        the Task upsert is keyed by the activity id).
        """
        parked, users = self.context.parked, self.context.users
        if parked is None or users is None or not parked.loaded:
            return 0  # not loaded yet: the start-up release covers it
        sent: list[dict[str, Any]] = []
        with self.context.link_lock:
            for item in parked.held(USER_NOT_CONNECTED, user_id):
                event = item["activity"]
                if users.owner(event["user_id"])[0] == "hold":
                    continue
                schema = self._inputs.get(item["source_topic"], "CallLogged")
                self._route(event, schema, item["source_topic"])
                sent.append(item)
        self.producer.flush()
        for item in sent:
            self.producer.produce(
                self.topics.parked.name, None, item["event_id"].encode()
            )
        self.producer.flush()
        for item in sent:
            if parked.reason(item["engage_contact_id"], item["event_id"]) == (
                USER_NOT_CONNECTED
            ):
                parked.remove(item["event_id"])
        self.stats.released += len(sent)
        self._metrics.count([], self.stats)
        return len(sent)

    def _emit(self, formatted: FormattedTask, event: dict[str, Any]) -> None:
        draft = formatted.draft
        command = TaskUpsert.for_activity(
            draft.event_id, draft.to_sobject(), event["occurred_at"]
        )
        # Keyed by the parent record: its Tasks land on one writer, so siblings never
        # fight over the parent's row lock from two processes.
        key = (draft.who_id or draft.event_id).encode()
        self.producer.produce(
            self.topics.commands.name,
            self.serde.encode("SalesforceCommand", command.to_avro()),
            key,
        )
        self.stats.commands_out += 1

    def _park(
        self, event: dict[str, Any], schema: str, source_topic: str, reason: str
    ) -> None:
        parked = {
            "event_id": event["event_id"],
            "reason": reason,
            "parked_at": datetime.now(UTC),
            "engage_contact_id": event["contact"]["engage_contact_id"],
            "source_topic": source_topic,
            "activity": (f"engage.events.{schema}", event),
        }
        if self.context.parked is not None:
            # Indexed as it reads back from the topic: the activity as a plain record.
            self.context.parked.add(parked | {"activity": event})
        self.producer.produce(
            self.topics.parked.name,
            self.serde.encode("ParkedActivity", parked),
            event["event_id"].encode(),
        )
        self.stats.parked += 1

    def _dead_letter(self, origin: Origin, exc: BaseException, reason: str) -> None:
        self.stats.dead_letters += 1
        self.dead_letters.send(origin, exc, reason)
