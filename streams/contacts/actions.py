"""Engage-side contact actions (added, edited, status) and links the writer reports."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from connectors.kafka.deadletter import Origin
from connectors.kafka.serde import DecodeError
from connectors.salesforce.outcomes import LINK_STATUSES
from domain.commands import Command, LeadStatus, LinkRequest, ReadById
from domain.contacts.mapping import apply_engage_edit, apply_salesforce
from domain.contacts.models import CORE_FIELDS, EngageContact
from domain.contacts.normalize import is_blank, name_phone_key, normalize_email
from domain.crm_settings.models import CrmSettings, MappingRow
from domain.ids import PersonObject, object_of
from domain.timestamps import epoch_millis
from streams.contacts.ports import EngageCopy

log = logging.getLogger(__name__)

OPT_OUT = ("email_opt_out", "HasOptedOutOfEmail")
LEAD_STATUS = ("status", "Status")
# The result of an add whose contact was linked already (not a new link).
ALREADY_LINKED = "already-linked"


@dataclass
class ActionStats:
    actions_in: int = 0
    link_requests: int = 0
    links: int = 0
    status_writebacks: int = 0
    released: int = 0


def writes_back(rows: list[MappingRow], pair: tuple[str, str]) -> bool:
    """A write-back is allowed only when the field is mapped bi-directionally."""
    return any(
        r.engage == pair[0] and r.salesforce == pair[1]
        and r.direction == "bidirectional_most_recent"
        for r in rows
    )


def _ms(value: Any) -> int:
    return (
        int(value.timestamp() * 1000)
        if hasattr(value, "timestamp")
        else int(value or 0)
    )


class ContactActions:
    """Turns ContactEvents into Engage-copy updates and Salesforce commands.

    Args:
        contacts: Engage's copy (the inbound processor), whose store and producer
            this shares: one flush proves the copy's changes and the commands.
        release: called with (engage_contact_id, salesforce_id) when a contact links;
            returns how many parked activities it released.
        link_lock: held around "link, then release" (the activity agent holds it
            around "look up, then park").
    """

    def __init__(
        self,
        contacts: EngageCopy,
        release: Callable[[str, str], int] | None = None,
        link_lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.c = contacts
        self.release = release
        self.link_lock = link_lock or threading.RLock()
        self.stats = ActionStats()

    def handle(self, batch: list[Origin]) -> None:
        if not self.c.loaded:
            self.c.load()
        # One transaction, flushed inside it: if Kafka does not acknowledge the
        # outputs, the copy rolls back too, so redoing the batch emits them again.
        with self.c.lock, self.c.store.batch():
            for origin in batch:
                try:
                    event = self.c.serde.decode("ContactEvent", origin.value)
                except DecodeError as exc:
                    self.c.dead_letter(origin, exc, "undecodable")
                    continue
                self.stats.actions_in += 1
                self._action(event, self.c.settings() or CrmSettings(objects={}))
            self.c.producer.flush()

    def _action(self, event: dict[str, Any], crm: CrmSettings) -> None:
        ref, ecid = event["contact"], event["contact"]["engage_contact_id"]
        current = self.c.store.get(ecid)
        when = _ms(event["occurred_at"])
        if current is None and event["action"] in ("UPDATED", "STATUS_CHANGED"):
            # Engage acted on a contact its copy lacks: the reference makes the copy.
            current = self._copy_from(ref, when)
        if event["action"] in ("ADDED", "ADDED_TO_SALESFLOW"):
            base = current or EngageContact(engage_contact_id=ecid, updated_at_ms=0)
            if current is None:
                values = {f: ref.get(f) for f in CORE_FIELDS if ref.get(f)}
                # Time 0: what the add brought stands in until Salesforce answers;
                # the record found or created then wins ("Engage will use the
                # contact information from Salesforce"), later edits still compete.
                self.c.emit(None, base.with_values(values, dict.fromkeys(values, 0)))
                base = self.c.store.get(ecid) or base
            if base.salesforce_id:
                # Nothing to ask Salesforce, but the add still gets its answer, so a
                # caller waiting for one result per add (a CSV import) finishes.
                self._already_linked(base, event)
                return
            if ref.get("salesforce_id"):
                self._verify(base, ref["salesforce_id"], event)
            else:
                self._request_link(base, ref, event, crm)
        elif event["action"] == "UPDATED" and current is not None:
            obj = current.salesforce_object or "Lead"
            edits = {f: ref.get(f) for f in CORE_FIELDS if ref.get(f) is not None}
            self.c.emit(
                current,
                apply_engage_edit(current, edits, when, crm.mapping(obj)),  # type: ignore[arg-type]
            )
        elif event["action"] == "STATUS_CHANGED" and current is not None:
            self._status(current, event, crm, when)

    def _already_linked(self, contact: EngageContact, event: dict[str, Any]) -> None:
        """A result for an add of a contact Engage's copy already links: keyed and
        named like the command the add would have made."""
        kind = "verify" if event["contact"].get("salesforce_id") else "link"
        event_id = f"{kind}-{event['event_id']}"
        result = {
            "event_id": event_id,
            "object": contact.salesforce_object or "Contact",
            "operation": "MATCH",
            "success": True,
            "salesforce_id": contact.salesforce_id,
            "created": False,
            "status_code": ALREADY_LINKED,
            "message": "already linked in Engage's copy",
            "fields": [],
            "written_at": datetime.now(UTC),
            "engage_contact_id": contact.engage_contact_id,
            "record": {},
            "candidates": [],
        }
        self.c.producer.produce(
            self.c.topics.results.name,
            self.c.serde.encode("WriteResult", result),
            event_id.encode(),
        )

    def _copy_from(self, ref: dict[str, Any], when: int) -> EngageContact:
        """Engage's copy of a contact made from an event's contact reference."""
        ecid = ref["engage_contact_id"]
        values = {f: ref.get(f) for f in CORE_FIELDS if ref.get(f)}
        contact = EngageContact(engage_contact_id=ecid, updated_at_ms=0).with_values(
            values, {k: when for k in values}
        )
        linked = ref.get("salesforce_id")
        if linked:
            obj = object_of(linked) or "Contact"
            contact = replace(contact, salesforce_id=linked, salesforce_object=obj)
        self.c.emit(None, contact)
        return self.c.store.get(ecid) or contact

    def _verify(
        self, contact: EngageContact, salesforce_id: str, event: dict[str, Any]
    ) -> None:
        """An id the add carries links only once the writer read it: it may be
        deleted, merged (-> its master) or a converted Lead (-> its Contact)."""
        command = ReadById(
            command_id=f"verify-{event['event_id']}",
            sobject=object_of(salesforce_id) or "Contact",
            record_id=salesforce_id,
            engage_contact_id=contact.engage_contact_id,
        )
        self._command(command, salesforce_id)
        self.stats.link_requests += 1

    def _request_link(
        self,
        contact: EngageContact,
        ref: dict[str, Any],
        event: dict[str, Any],
        crm: CrmSettings,
    ) -> None:
        choice = crm.sync_settings.engage_created_contacts
        sobject: PersonObject = "Contact" if choice == "create_contact" else "Lead"
        # What Engage knows of the person: the event's values, else its copy's.
        known = {
            name: ref.get(name) if ref.get(name) else contact.get(name)
            for name in {*CORE_FIELDS, *(r.engage for r in crm.mapping(sobject))}
        }
        # Read to match on (email, then name + phone) whatever the mapping says;
        # the linker writes only the mapped ones when it creates.
        fields: dict[str, Any] = {
            "Email": known["email"], "FirstName": known["first_name"],
            "LastName": known["last_name"], "Phone": known["phone"],
        }
        if sobject == "Contact" and choice != "none":
            # The Account a new Contact is associated with is found by company.
            fields["Account.Name"] = known["company"]
        if choice != "none":
            fields |= self._mapped_values(sobject, known, crm)
        fields = {k: v for k, v in fields.items() if v not in (None, "")}
        region = crm.sync_settings.phone_region
        # Keyed by person, so two adds of one new person meet in one writer, in order.
        key = normalize_email(fields.get("Email")) or name_phone_key(
            known["first_name"], known["last_name"], fields.get("Phone"), region
        ) or contact.engage_contact_id
        command = LinkRequest(
            command_id=f"link-{event['event_id']}",
            sobject=sobject,
            fields=fields,
            engage_contact_id=contact.engage_contact_id,
            create=choice != "none",
        )
        self._command(command, key)
        self.stats.link_requests += 1

    @staticmethod
    def _mapped_values(
        sobject: str, known: dict[str, Any], crm: CrmSettings
    ) -> dict[str, Any]:
        """What the mapping sends on a create: every mapped field (not Do Not
        Read/Write) with Engage's value, else the row's default; nothing invented."""
        out: dict[str, Any] = {}
        for row in crm.mapping(sobject):  # type: ignore[arg-type]
            if row.salesforce is None:
                continue
            value = known.get(row.engage)
            if is_blank(value):
                value = None if is_blank(row.default) else row.default
            if value is not None and sobject == "Lead" and row.salesforce == "Status":
                # Engage's status names the Lead status through status_values.
                lead = crm.objects.get("Lead")
                value = (lead.status_values or {}).get(value, value) if lead else value
            if value is not None:
                out[row.salesforce.strip()] = value
        return out

    def _status(
        self, contact: EngageContact, event: dict[str, Any], crm: CrmSettings, when: int
    ) -> None:
        status = event.get("status")
        if not status:
            return
        obj = contact.salesforce_object or "Lead"
        self.c.emit(
            contact,
            apply_engage_edit(contact, {"status": status}, when, crm.mapping(obj)),  # type: ignore[arg-type]
        )
        # Not linked yet: the status waits in Engage's copy (with its time) and is
        # written when the link arrives (`_status_after_link`).
        if contact.salesforce_object != "Lead" or not contact.salesforce_id:
            return
        self._write_status(
            f"status-{event['event_id']}", contact, status, contact.salesforce_id, crm
        )

    def _write_status(
        self,
        command_id: str,
        contact: EngageContact,
        status: str,
        lead_id: str,
        crm: CrmSettings,
        current: str | None = None,
    ) -> None:
        """An UPDATE of Lead.Status to Engage's `status` (through `status_values`),
        where the mapping writes it back and it differs from `current`."""
        if not writes_back(crm.mapping("Lead"), LEAD_STATUS):
            return
        lead = crm.objects.get("Lead")
        value = (lead.status_values or {}).get(status, status) if lead else status
        if value == current:
            return
        command = LeadStatus(
            command_id=command_id,
            record_id=lead_id,
            status=value,
            engage_contact_id=contact.engage_contact_id,
        )
        self._command(command, lead_id)
        self.stats.status_writebacks += 1

    def _command(self, command: Command, key: str) -> None:
        self.c.producer.produce(
            self.c.topics.commands.name,
            self.c.serde.encode("SalesforceCommand", command.to_avro()),
            key.encode(),
        )

    # -- links reported by the writer -------------------------------------------------
    def handle_results(self, batch: list[Origin]) -> None:
        if not self.c.loaded:
            self.c.load()
        for origin in batch:
            try:
                result = self.c.serde.decode("WriteResult", origin.value)
            except DecodeError:
                continue
            self.on_result(result)
        self.c.producer.flush()

    def on_result(self, result: dict[str, Any]) -> None:
        """A link the writer reports: Engage's copy takes it, then parked activities
        and a status set before the link follow."""
        wanted = result["engage_contact_id"] and result["salesforce_id"]
        if not (result["success"] and wanted):
            return
        if result["status_code"] not in LINK_STATUSES:
            return
        with self.link_lock:
            # The link is in Engage's copy before releasing; rolled back with it if
            # Kafka does not acknowledge it, so a redone batch links again.
            with self.c.lock, self.c.store.batch():
                linked = self._link(result)
                self.c.producer.flush()
            if linked and self.release is not None:
                ecid, sf_id = result["engage_contact_id"], result["salesforce_id"]
                self.stats.released += self.release(ecid, sf_id)

    def _link(self, result: dict[str, Any]) -> bool:
        ecid = result["engage_contact_id"]
        # A contact Engage hasn't copied (e.g. emailed from Salesforce) is copied now.
        contact = self.c.store.get(ecid) or EngageContact(engage_contact_id=ecid)
        obj = result["object"] if result["object"] in ("Lead", "Contact") else (
            object_of(result["salesforce_id"]) or "Contact"
        )
        crm = self.c.settings() or CrmSettings(objects={})
        stamp = str(result["record"].get("LastModifiedDate") or "")
        modified = epoch_millis(stamp) or _ms(result["written_at"])
        # Found or created: Engage takes Salesforce's values for the mapped fields.
        linked = apply_salesforce(
            contact,
            result["record"],
            crm.mapping(obj),
            modified,
            salesforce_id=result["salesforce_id"],
            salesforce_object=obj,
        )
        self.c.emit(contact, linked)
        self.stats.links += 1
        status_time = linked.field_times.get("status", 0)
        if obj == "Lead" and linked.status and status_time > modified:
            # Set in Engage before the link and newer than the Lead's last change:
            # the newest status wins, as it would have had the link come first.
            self._write_status(
                f"status-{ecid}-{status_time}", linked, linked.status,
                result["salesforce_id"], crm, current=result["record"].get("Status"),
            )
        return True
