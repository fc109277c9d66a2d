"""Applies Salesforce records to Engage's copy and publishes every real change."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from connectors.kafka.clients import AckingProducer
from connectors.kafka.deadletter import DeadLetters, Origin
from connectors.kafka.ends import Ends, TopicReader
from connectors.kafka.ports import Producer
from connectors.kafka.serde import DecodeError, RegistryUnavailable, Serde
from connectors.kafka.snapshot import follow, is_sentinel, read_to_end
from connectors.kafka.topics import Topics
from domain.contacts.mapping import apply_salesforce, changed, to_engage_value
from domain.contacts.models import EngageContact
from domain.crm_settings.models import CrmSettings, default_mapping
from ground import metrics
from ground.settings import KafkaSettings
from streams.contacts.ports import CopyStore

log = logging.getLogger(__name__)

# A header on every contact this worker publishes: a random id per start, so its
# follower skips what it published itself (the store holds it already).
ORIGIN_HEADER = "engage.origin"


def _ms(value: Any) -> int:
    return (
        int(value.timestamp() * 1000)
        if hasattr(value, "timestamp")
        else int(value or 0)
    )


@dataclass
class InboundStats:
    records_in: int = 0
    contacts_out: int = 0
    accounts_out: int = 0
    unchanged: int = 0
    out_of_scope_skipped: int = 0
    dead_letters: int = 0
    own_skipped: int = 0  # our own contacts, not read back by the follower


class ContactsProcessor:
    """The inbound agent's work: match, map, and emit only what changed.

    Args:
        kafka: where the topics are.
        store: the local copy (rebuilt from `engage.contacts` by `load`).
        settings: returns the CRM settings in force (they can change while running).
        producer: where outputs go (`AckingProducer` of `kafka` when not given).

    It is the contact actions' `EngageCopy` port (`streams/contacts/ports.py`).
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        store: CopyStore,
        settings: Callable[[], CrmSettings | None],
        producer: Producer | None = None,
    ) -> None:
        self.kafka, self.store, self._crm = kafka, store, settings
        self.topics = Topics(kafka)
        self.serde = Serde.for_kafka(kafka)
        # The producer port: Kafka's by default, an in-memory one in unit tests.
        self.producer: Producer = (
            producer if producer is not None else AckingProducer(kafka)
        )
        self.dead_letters = DeadLetters(self.producer, self.topics.dlq.name)
        self.stats = InboundStats()
        self.loaded = False
        self._may_match = True
        self._lock = threading.Lock()
        self._follower: threading.Thread | None = None
        self._stop = threading.Event()
        self.origin = uuid.uuid4().hex.encode()
        # During `handle`: what the store held per Salesforce id of the batch before
        # it (None: nothing), read in one query; an id is dropped once changed.
        self._by_sf: dict[str, EngageContact | None] | None = None

    @property
    def lock(self) -> threading.Lock:
        """Held around every use of `store`: the follower thread writes it too."""
        return self._lock

    def settings(self) -> CrmSettings | None:
        """The CRM settings in force (None before any were applied)."""
        return self._crm()

    def dead_letter(
        self, origin: Origin, error: BaseException | str, reason: str
    ) -> None:
        """Count and send a record that cannot be processed to the dead letters."""
        self.stats.dead_letters += 1
        self.dead_letters.send(origin, error, reason)

    # -- state -----------------------------------------------------------------
    def load(self) -> None:
        """Rebuild the local copy from the compacted topics, then keep on following
        from where the rebuild ended (re-reading the copy would double its cost)."""
        with TopicReader.open(self.kafka) as reader:
            ends = reader.ends([self.topics.contacts.name])
            for batch in reader.batches(ends):
                self._apply_topic_batch(batch)
            read_to_end(reader, self.topics.accounts.name, self._apply_account_record)
        self.loaded = True
        self._follower = threading.Thread(
            target=self._follow, args=(ends,), daemon=True, name="contacts-follow"
        )
        self._follower.start()
        log.info("Engage copy loaded: %d contacts", self.store.count())

    def _apply_topic_batch(self, batch: Sequence[Any]) -> None:
        """A fetched batch in one transaction: puts in order, tombstones between."""
        ops: list[EngageContact | str] = []
        for msg in batch:
            if is_sentinel(msg.key()):
                continue
            if msg.value() is None:
                ops.append((msg.key() or b"").decode())
            else:
                ops.append(
                    EngageContact.from_record(
                        self.serde.decode("EngageContact", msg.value())
                    )
                )
        with self._lock, self.store.batch():
            puts: list[EngageContact] = []
            for op in ops:
                if isinstance(op, EngageContact):
                    puts.append(op)
                    continue
                self.store.put_many_if_newer(puts)
                puts = []
                self.store.delete(op)
            self.store.put_many_if_newer(puts)

    def _apply_topic_record(self, msg: Any) -> None:
        if msg.value() is None:
            with self._lock:
                self.store.delete((msg.key() or b"").decode())
            return
        contact = EngageContact.from_record(
            self.serde.decode("EngageContact", msg.value())
        )
        with self._lock:
            self.store.put_if_newer(contact)

    def _apply_account_record(self, msg: Any) -> None:
        if msg.value() is not None:
            record = self.serde.decode("EngageAccount", msg.value())
            with self._lock:
                self.store.put_account(
                    record | {"updated_at": _ms(record["updated_at"])}
                )

    def _follow(self, start: Ends) -> None:
        # Other workers' changes keep the global view current. Our own are in the
        # store already (put with the same time before they were produced), so they
        # are skipped unread; a batch rolled back after Kafka took some of its
        # contacts is redone (retried, or rebuilt by the restart), which puts them.
        with TopicReader.open(self.kafka) as reader:
            topic = self.topics.contacts.name
            for msg in follow(reader, topic, self._stop.is_set, start):
                if self.published_here(msg.headers()):
                    self.stats.own_skipped += 1
                    continue
                try:
                    self._apply_topic_record(msg)
                except (DecodeError, RegistryUnavailable):
                    continue

    def stop(self) -> None:
        self._stop.set()

    def published_here(self, headers: object) -> bool:
        """Whether a record with these headers (a message's `headers()`: a list of
        pairs, or None) was published by this worker since it started."""
        return isinstance(headers, list) and (ORIGIN_HEADER, self.origin) in headers

    # -- look-ups for the activity agent (its ContactCopy port) -----------------
    def find(self, engage_contact_id: str, email: str | None) -> EngageContact | None:
        """The contact by Engage id, else by email; None if not in the copy."""
        with self._lock:
            return self.store.get(engage_contact_id) or self.store.by_email(email)

    def known(
        self, engage_contact_ids: list[str], salesforce_ids: list[str]
    ) -> set[str]:
        """Which of these Engage or Salesforce ids the copy holds (one query)."""
        with self._lock:
            return self.store.known(engage_contact_ids, salesforce_ids)

    # -- processing --------------------------------------------------------------
    def handle(self, batch: Sequence[Origin]) -> None:
        if not self.loaded:
            self.load()
        self.stats.records_in += len(batch)
        for topic, count in Counter(origin.topic for origin in batch).items():
            metrics.EVENTS_IN.labels(metrics.process(), topic).inc(count)
        decoded: list[tuple[dict[str, Any], CrmSettings | None]] = []
        for origin in batch:
            try:
                record = self.serde.decode("SalesforceRecord", origin.value)
            except DecodeError as exc:
                self.dead_letter(origin, exc, "undecodable")
                continue
            crm: CrmSettings | None = self.settings()
            decoded.append((record, crm))
        sf_ids = [r["salesforce_id"] for r, _ in decoded if r["object"] != "Account"]
        with self._lock, self.store.batch():
            self._may_match = self.store.has_unlinked()
            self._by_sf = dict.fromkeys(sf_ids)
            self._by_sf.update(self.store.by_salesforce_ids(sf_ids))
            try:
                for record, crm in decoded:
                    if record["object"] == "Account":
                        self._account(record, crm)
                    else:
                        self._contact(record, crm)
                # Inside the transaction: if Kafka does not acknowledge the changes,
                # the copy rolls back too, so redoing the batch emits them again
                # (the follower skips our own records: the redo is what puts them).
                self.producer.flush()
            finally:
                self._by_sf = None

    def emit(self, before: EngageContact | None, after: EngageContact) -> None:
        """Keep and publish `after` (its time moved to now), unless nothing changed."""
        self._emit(before, after, stamped=False)

    def _emit(
        self, before: EngageContact | None, after: EngageContact, stamped: bool
    ) -> None:
        # stamped: `after` carries its update time already (set in its one copy).
        if not changed(before, after):
            self.stats.unchanged += 1
            return
        if not stamped:
            after = replace(after, updated_at_ms=max(after.updated_at_ms, _now_ms()))
        self.store.put(after)
        if self._by_sf is not None:
            # Whoever holds these Salesforce ids now, the store (in this batch's
            # transaction) knows: a second record of a new person finds the first.
            for sf_id in (before and before.salesforce_id, after.salesforce_id):
                if sf_id:
                    self._by_sf.pop(sf_id, None)
        self.producer.produce(
            self.topics.contacts.name,
            self.serde.encode("EngageContact", after.to_record()),
            after.engage_contact_id.encode(),
            headers=[(ORIGIN_HEADER, self.origin)],
        )
        self.stats.contacts_out += 1

    def _change(self, contact: EngageContact, **changes: Any) -> None:
        """Emit `contact` with `changes` and its new update time, in one copy."""
        stamp = max(contact.updated_at_ms, _now_ms())
        self._emit(contact, replace(contact, **changes, updated_at_ms=stamp), True)

    def _linked(self, sf_id: str) -> EngageContact | None:
        """The contact linked to `sf_id`: from the batch's look-up while unchanged."""
        if self._by_sf is not None and sf_id in self._by_sf:
            return self._by_sf[sf_id]
        return self.store.by_salesforce_id(sf_id)

    def _contact(self, record: dict[str, Any], crm: CrmSettings | None) -> None:
        sf_id, obj = record["salesforce_id"], record["object"]
        existing = self._linked(sf_id)
        if record["is_deleted"]:
            if existing is not None:
                master = record["master_record_id"]
                # A merge loser relinks to the winner; a plain delete unlinks.
                self._change(
                    existing,
                    salesforce_id=master,
                    salesforce_object=obj if master else None,
                    in_scope=existing.in_scope if master else False,
                )
            return
        if obj == "Lead" and record["is_converted"] and record["converted_contact_id"]:
            if existing is not None:
                self._change(
                    existing,
                    salesforce_id=record["converted_contact_id"],
                    salesforce_object="Contact",
                )
            return
        if not record["in_scope"]:
            # Out of scope: Engage keeps its copy, marked, and stops taking updates.
            if existing is not None:
                self._change(existing, in_scope=False)
            else:
                self.stats.out_of_scope_skipped += 1
            return
        fields = record["fields"]
        matched = existing
        if matched is None and self._may_match:
            matched = self.store.unlinked_by_email(
                fields.get("Email")
            ) or self.store.unlinked_by_name_phone(
                fields.get("FirstName"), fields.get("LastName"), fields.get("Phone")
            )
        base = matched or EngageContact(engage_contact_id=f"sf-{sf_id}")
        rows = crm.mapping(obj) if crm else default_mapping(obj)
        after = apply_salesforce(
            base,
            fields,
            rows,
            _ms(record["last_modified"]),
            salesforce_id=sf_id,
            salesforce_object=obj,
            in_scope=True,
            updated_at_ms=max(base.updated_at_ms, _now_ms()),
        )
        self._emit(matched, after, stamped=True)

    def _account(self, record: dict[str, Any], crm: CrmSettings | None) -> None:
        ecid = f"sf-{record['salesforce_id']}"
        before = self.store.account(ecid)
        if before is None and (not record["in_scope"] or record["is_deleted"]):
            return
        fields = record["fields"]
        rows = crm.mapping("Account") if crm else default_mapping("Account")
        values = {
            r.engage: to_engage_value(fields.get(r.salesforce))
            for r in rows
            if r.salesforce
        }
        after = {
            "engage_account_id": ecid,
            "salesforce_id": None if record["is_deleted"] else record["salesforce_id"],
            "name": values.pop("name", None),
            "website": values.pop("website", None),
            "fields": values,
            "in_scope": record["in_scope"] and not record["is_deleted"],
        }
        if before is not None and {k: before.get(k) for k in after} == after:
            self.stats.unchanged += 1
            return
        after["updated_at"] = _now_ms()
        self.store.put_account(after)
        self.producer.produce(
            self.topics.accounts.name,
            self.serde.encode("EngageAccount", after),
            ecid.encode(),
        )
        self.stats.accounts_out += 1


def _now_ms() -> int:
    return int(time.time() * 1000)
