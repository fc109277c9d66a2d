"""Record writes (create/update/upsert/delete) with system fields, rules, faults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox import ids
from sandbox.errors import ApiError, entity_deleted, not_found, record_error
from sandbox.faults import INJECTED_VALIDATION_MESSAGE
from sandbox.metadata import CLOSED_TASK_STATUSES, SObject
from sandbox.rules import duplicate_error
from sandbox.state import OrgState
from sandbox.validation import coerce_changes, missing_required
from sandbox.values import format_datetime, now

Record = dict[str, Any]


@dataclass(frozen=True)
class WriteOptions:
    version: str = "59.0"
    # Sforce-Duplicate-Rule-Header: allowSave=true lets Alert rules through.
    allow_save: bool = False


def multiple_matches(sobject: str, rids: list[str], version: str) -> ApiError:
    urls = [f"/services/data/v{version}/sobjects/{sobject}/{rid}" for rid in rids]
    return ApiError(
        300, "MULTIPLE_CHOICES", "more than one record found", raw_body=urls
    )


def derive(sobject: str, record: Record, before: Record | None, stamp: str) -> None:
    """Recompute read-only fields that follow from others (Name, IsClosed, ...)."""
    if sobject in ("Lead", "Contact", "User"):
        parts = [record.get("FirstName"), record.get("LastName")]
        record["Name"] = " ".join(p for p in parts if p) or None
    if sobject == "Task":
        closed = record.get("Status") in CLOSED_TASK_STATUSES
        record["IsClosed"] = closed
        record["IsHighPriority"] = record.get("Priority") == "High"
        was_closed = bool(before and before.get("IsClosed"))
        if closed and not was_closed:
            record["CompletedDateTime"] = stamp
        elif not closed:
            record["CompletedDateTime"] = None


class Dml:
    """All API writes go through here so every path applies the same rules."""

    def __init__(self, state: OrgState) -> None:
        self.state = state

    # -- helpers ------------------------------------------------------------
    def object(self, name: str) -> SObject:
        """The object as the API user sees it (their field-level security)."""
        obj = self.state.api_schema.get(name)
        if obj is None:
            raise not_found()
        return obj

    def _allowed(self, obj: SObject, operation: str) -> SObject:
        """The whole object, once the user may `operation` on it: defaults, required
        fields and rules apply to fields the user cannot see too."""
        self.state.access.require(obj.name, operation)
        return self.state.schema.objects[obj.name]

    def existing(self, obj: SObject, rid: str) -> Record:
        try:
            rid18 = ids.to18(rid)
        except ValueError:
            raise not_found(
                f"Provided external ID field does not exist or is not accessible: {rid}"
            ) from None
        found = self.state.store.get(rid18)
        if found is None or found[0] != obj.name:
            raise not_found()
        if found[1].get("IsDeleted"):
            raise entity_deleted()
        return found[1]

    def _fault(self, obj: SObject, record_id: str | None, opts: WriteOptions) -> None:
        fault = self.state.faults.record_fault()
        if fault == "UNABLE_TO_LOCK_ROW":
            suffix = f" or 1 records: {record_id}" if record_id else ""
            raise record_error(
                "UNABLE_TO_LOCK_ROW",
                f"unable to obtain exclusive access to this record{suffix}",
                [],
            )
        if fault == "DUPLICATES_DETECTED":
            raise duplicate_error(
                f"Standard_{obj.name}_Duplicate_Rule",
                obj.name,
                {},
                False,
                "You're creating a duplicate record. We "
                "recommend you use an existing record instead.",
                opts.version,
            )
        if fault == "FIELD_CUSTOM_VALIDATION_EXCEPTION":
            raise record_error(
                "FIELD_CUSTOM_VALIDATION_EXCEPTION", INJECTED_VALIDATION_MESSAGE, []
            )

    def _find_live(self, sobject: str, field: str, value: Any) -> list[str]:
        hits = self.state.store.find(sobject, field, value)
        if sobject != "Lead":
            return hits
        # Converted leads live on as Contacts; they no longer count as duplicates.
        rows = self.state.store.get_many(hits)
        return [h for h in hits if not rows.get(h, {}).get("IsConverted")]

    def _check(
        self,
        obj: SObject,
        record: Record,
        changes: Record,
        creating: bool,
        opts: WriteOptions,
    ) -> None:
        err = missing_required(obj, record)
        if err:
            raise err
        store = self.state.store
        for name, value in changes.items():
            f = obj.field(name)
            if f is None or f.type != "reference" or value is None:
                continue
            target = ids.object_for(value)
            if target is None or self.state.schema.get(target) is None:
                continue  # an object the sandbox does not host: accept as is
            found = store.get(value)
            if found is None or found[1].get("IsDeleted"):
                raise record_error(
                    "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name]
                )
        if (
            obj.name == "Task"
            and record.get("WhatId")
            and ids.object_for(record.get("WhoId") or "") == "Lead"
        ):
            raise record_error(
                "FIELD_INTEGRITY_EXCEPTION",
                f"Related To ID: id value of incorrect type: {record['WhatId']}",
                ["WhatId"],
            )
        for f in obj.fields:
            value = record.get(f.name)
            if not f.unique or value is None or f.name not in changes:
                continue
            others = [
                o for o in store.find(obj.name, f.name, value) if o != record["Id"]
            ]
            if others:
                raise record_error(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {f.name} "
                    f"duplicates value on record with id: {others[0]}",
                    [],
                )
        self.state.rules.validate(obj.name, record, creating)
        self.state.rules.check_duplicates(
            obj.name, record, creating, opts.allow_save, self._find_live, opts.version,
            self.state.store.all,
        )

    def _parents(self, task: Record) -> dict[str, tuple[str, Record] | None]:
        """The Task's Who and What as stored (read once per save)."""
        pids = {task.get(k) for k in ("WhoId", "WhatId")}
        return {pid: self.state.store.get(pid) for pid in pids if pid}

    def touch_parents(
        self,
        task: Record,
        stamp: str,
        parents: dict[str, tuple[str, Record] | None] | None = None,
    ) -> None:
        """A Task bumps its Who's SystemModstamp and LastActivityDate, never its
        LastModifiedDate (the same holds for an Account in WhatId)."""
        activity = task.get("ActivityDate") or datetime.now(UTC).date().isoformat()
        if parents is None:
            parents = self._parents(task)
        for key in ("WhoId", "WhatId"):
            pid = task.get(key)
            found = parents.get(pid) if pid else None
            if found is None or found[0] not in ("Lead", "Contact", "Account"):
                continue
            sobject, parent = found
            if parent.get("IsDeleted"):
                continue
            parent["SystemModstamp"] = stamp
            if (parent.get("LastActivityDate") or "") < activity:
                parent["LastActivityDate"] = activity
            self.state.store.put(sobject, parent)

    def _task_account(
        self, record: Record, parents: dict[str, tuple[str, Record] | None]
    ) -> None:
        who = record.get("WhoId")
        found = parents.get(who) if who else None
        if found and found[0] == "Contact" and found[1].get("AccountId"):
            record["AccountId"] = found[1]["AccountId"]
        elif ids.object_for(record.get("WhatId") or "") == "Account":
            record["AccountId"] = record["WhatId"]
        else:
            record["AccountId"] = None

    def _save(
        self, obj: SObject, record: Record, before: Record | None, stamp: str
    ) -> None:
        derive(obj.name, record, before, stamp)
        if obj.name != "Task":
            self.state.store.put(obj.name, record)
            return
        parents = self._parents(record)
        self._task_account(record, parents)
        self.state.store.put(obj.name, record)
        self.touch_parents(record, stamp, parents)

    def new_record(self, obj: SObject, stamp: str) -> Record:
        record: Record = {}
        for f in obj.fields:
            if f.type == "boolean":
                record[f.name] = bool(f.default)
            elif f.default is not None:
                record[f.name] = f.default
        record.update(
            {
                "Id": self.state.store.next_id(obj.name),
                "IsDeleted": False,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
                "CreatedById": self.state.creds.user_id,
                "LastModifiedById": self.state.creds.user_id,
            }
        )
        if obj.field("OwnerId"):
            record["OwnerId"] = self.state.creds.user_id
        return record

    # -- operations -----------------------------------------------------------
    def create(self, sobject: str, body: Record, opts: WriteOptions) -> str:
        with self.state.store.transaction():
            return self._create(sobject, body, opts)

    def update(self, sobject: str, rid: str, body: Record, opts: WriteOptions) -> str:
        with self.state.store.transaction():
            return self._update(sobject, rid, body, opts)

    # Inside an operation's own transaction (a savepoint when nested): all or nothing.
    def _create(self, sobject: str, body: Record, opts: WriteOptions) -> str:
        seen = self.object(sobject)
        obj = self._allowed(seen, "create")
        self._fault(
            obj,
            body.get("WhoId") if isinstance(body.get("WhoId"), str) else None,
            opts,
        )
        changes = coerce_changes(seen, body, creating=True)
        stamp = format_datetime(now())
        record = self.new_record(obj, stamp)
        record.update(changes)
        self._check(obj, record, changes, True, opts)
        self._save(obj, record, None, stamp)
        return str(record["Id"])

    def _update(self, sobject: str, rid: str, body: Record, opts: WriteOptions) -> str:
        seen = self.object(sobject)
        obj = self._allowed(seen, "edit")
        current = self.existing(obj, rid)
        self._fault(obj, current["Id"], opts)
        if obj.name == "Lead" and current.get("IsConverted"):
            raise record_error(
                "CANNOT_UPDATE_CONVERTED_LEAD",
                "cannot reference converted lead",
                [],
            )
        body = {k: v for k, v in body.items() if k.lower() != "id"}
        changes = coerce_changes(seen, body, creating=False)
        stamp = format_datetime(now())
        record = dict(current)
        record.update(changes)
        record.update(
            {
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
                "LastModifiedById": self.state.creds.user_id,
            }
        )
        self._check(obj, record, changes, False, opts)
        self._save(obj, record, current, stamp)
        return str(record["Id"])

    def upsert(
        self, sobject: str, ext_field: str, value: str, body: Record, opts: WriteOptions
    ) -> tuple[str, bool]:
        """(id, created). 404 when ext_field is not an external id, 300 on >1 match."""
        obj = self.object(sobject)
        f = obj.field(ext_field)
        if f is None or not (f.external_id or f.name == "Id"):
            raise not_found()
        body = {k: v for k, v in body.items() if k.lower() != f.name.lower()}
        with self.state.store.transaction():
            if f.name == "Id":
                return self._update(obj.name, value, body, opts), False
            matches = self.state.store.find(obj.name, f.name, value)
            if len(matches) > 1:
                raise multiple_matches(obj.name, matches, opts.version)
            if matches:
                return self._update(obj.name, matches[0], body, opts), False
            return self._create(obj.name, {**body, f.name: value}, opts), True

    def delete(self, sobject: str, rid: str, opts: WriteOptions) -> None:
        obj = self._allowed(self.object(sobject), "delete")
        with self.state.store.transaction():
            record = self.existing(obj, rid)
            self._fault(obj, record["Id"], opts)
            mark_deleted(self.state, obj.name, record)


def mark_deleted(
    state: OrgState, sobject: str, record: Record, master_id: str | None = None
) -> None:
    """Soft delete (recycle bin): visible to queryAll and getDeleted."""
    stamp = format_datetime(now())
    record.update({"IsDeleted": True, "SystemModstamp": stamp, "_DeletedDate": stamp})
    if master_id:
        record["MasterRecordId"] = master_id
    state.store.put(sobject, record)
