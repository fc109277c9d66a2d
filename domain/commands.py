"""The commands Engage asks of Salesforce (`salesforce.commands`), typed, and their
one mapping to and from the `SalesforceCommand` Avro record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from domain.ids import PersonObject
from ground.frozen import fast_init

FieldValue = None | bool | int | float | str
TASK_EXTERNAL_ID: Final = "Engage_Activity_Id__c"
OPT_OUT_FIELD: Final = "HasOptedOutOfEmail"


def _now() -> datetime:
    return datetime.now(UTC)


def _record(
    command_id: str,
    issued_at: datetime,
    operation: str,
    sobject: str,
    fields: Mapping[str, FieldValue],
    *,
    external_id_field: str | None = None,
    record_id: str | None = None,
    source_event_id: str | None = None,
    source_occurred_at: datetime | None = None,
    engage_contact_id: str | None = None,
) -> dict[str, Any]:
    return {
        "command_id": command_id,
        "issued_at": issued_at,
        "operation": operation,
        "sobject": sobject,
        "external_id_field": external_id_field,
        "record_id": record_id,
        "fields": dict(fields),
        "source_event_id": source_event_id,
        "source_occurred_at": source_occurred_at,
        "engage_contact_id": engage_contact_id,
    }


@fast_init  # built once per activity
@dataclass(frozen=True, kw_only=True, slots=True)
class TaskUpsert:
    """An activity's Task, upserted by its external id (the activity's event id)."""

    command_id: str
    fields: Mapping[str, FieldValue]
    source_event_id: str | None = None
    source_occurred_at: datetime | None = None
    issued_at: datetime = field(default_factory=_now)

    @classmethod
    def for_activity(
        cls, event_id: str, fields: Mapping[str, FieldValue], occurred_at: datetime
    ) -> TaskUpsert:
        """The Task upsert of one call or email: its id is the activity's."""
        return cls(
            command_id=event_id,
            fields=fields,
            source_event_id=event_id,
            source_occurred_at=occurred_at,
        )

    def to_avro(self) -> dict[str, Any]:
        """This command as a `SalesforceCommand` record."""
        # `_record`'s record, written out: one per activity, where the keyword call
        # cost as much as the rest of this method.
        return {
            "command_id": self.command_id,
            "issued_at": self.issued_at,
            "operation": "UPSERT",
            "sobject": "Task",
            "external_id_field": TASK_EXTERNAL_ID,
            "record_id": None,
            "fields": dict(self.fields),
            "source_event_id": self.source_event_id,
            "source_occurred_at": self.source_occurred_at,
            "engage_contact_id": None,
        }


@dataclass(frozen=True, kw_only=True)
class LinkRequest:
    """Find the Lead or Contact matching `fields` and link it to the Engage contact;
    with `create`, make one when none matches (MATCH_OR_CREATE, else MATCH)."""

    command_id: str
    sobject: PersonObject
    fields: Mapping[str, FieldValue]
    engage_contact_id: str
    create: bool
    issued_at: datetime = field(default_factory=_now)

    def to_avro(self) -> dict[str, Any]:
        """This command as a `SalesforceCommand` record."""
        operation = "MATCH_OR_CREATE" if self.create else "MATCH"
        return _record(
            self.command_id,
            self.issued_at,
            operation,
            self.sobject,
            self.fields,
            engage_contact_id=self.engage_contact_id,
        )


@dataclass(frozen=True, kw_only=True)
class _ByRecordId:
    """What the commands about one known Lead or Contact (by its id) share."""

    command_id: str
    record_id: str
    engage_contact_id: str
    issued_at: datetime = field(default_factory=_now)

    def _about(
        self, operation: str, sobject: str, fields: Mapping[str, FieldValue]
    ) -> dict[str, Any]:
        return _record(
            self.command_id,
            self.issued_at,
            operation,
            sobject,
            fields,
            record_id=self.record_id,
            engage_contact_id=self.engage_contact_id,
        )


@dataclass(frozen=True, kw_only=True)
class ReadById(_ByRecordId):
    """Read a known record into Engage's copy and link it (a MATCH with record_id):
    the writer follows a merge to its master and a converted Lead to its Contact."""

    sobject: PersonObject

    def to_avro(self) -> dict[str, Any]:
        """This command as a `SalesforceCommand` record."""
        return self._about("MATCH", self.sobject, {})


@dataclass(frozen=True, kw_only=True)
class OptOut(_ByRecordId):
    """Write back an unsubscribe: HasOptedOutOfEmail = true on the linked record."""

    sobject: PersonObject

    def to_avro(self) -> dict[str, Any]:
        """This command as a `SalesforceCommand` record."""
        return self._about("UPDATE", self.sobject, {OPT_OUT_FIELD: True})


@dataclass(frozen=True, kw_only=True)
class LeadStatus(_ByRecordId):
    """Write back Engage's status as the Lead's Status (already a Salesforce value)."""

    status: str

    def to_avro(self) -> dict[str, Any]:
        """This command as a `SalesforceCommand` record."""
        return self._about("UPDATE", "Lead", {"Status": self.status})


Command = TaskUpsert | LinkRequest | ReadById | OptOut | LeadStatus


def from_avro(record: Mapping[str, Any]) -> Command:
    """The typed command a decoded `SalesforceCommand` record is.

    Args:
        record: the record as the serde decodes it.

    Returns:
        The one command class whose `to_avro()` gives this record back.

    Raises:
        ValueError: the record is no command Engage builds (e.g. a forged one).
    """
    op, sobject, fields = record["operation"], record["sobject"], record["fields"]
    common = {"command_id": record["command_id"], "issued_at": record["issued_at"]}
    ecid: str = record.get("engage_contact_id") or ""
    record_id = record.get("record_id")
    person = sobject in ("Lead", "Contact") and bool(ecid)
    by_id = common | {"record_id": record_id, "engage_contact_id": ecid}
    command: Command | None = None
    if op == "UPSERT" and sobject == "Task":
        command = TaskUpsert(
            **common,
            fields=fields,
            source_event_id=record.get("source_event_id"),
            source_occurred_at=record.get("source_occurred_at"),
        )
    elif op in ("MATCH", "MATCH_OR_CREATE") and person and record_id is None:
        command = LinkRequest(
            **common,
            sobject=sobject,
            fields=fields,
            engage_contact_id=ecid,
            create=op == "MATCH_OR_CREATE",
        )
    elif op == "MATCH" and person and record_id and not fields:
        command = ReadById(**by_id, sobject=sobject)
    elif op == "UPDATE" and person and record_id and fields == {OPT_OUT_FIELD: True}:
        command = OptOut(**by_id, sobject=sobject)
    elif op == "UPDATE" and sobject == "Lead" and ecid and record_id:
        status = fields.get("Status")
        if set(fields) == {"Status"} and isinstance(status, str):
            command = LeadStatus(**by_id, status=status)
    if command is None or command.to_avro() != {**_defaults(), **record}:
        raise ValueError(f"not a command Engage builds: {op} {sobject}")
    return command


def _defaults() -> dict[str, Any]:
    # The schema's optional fields, null unless the record sets them.
    return dict.fromkeys(
        (
            "external_id_field",
            "record_id",
            "source_event_id",
            "source_occurred_at",
            "engage_contact_id",
        ),
    )
