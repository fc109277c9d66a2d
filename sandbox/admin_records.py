"""Direct record writes for tests: bypass rules, faults and API counting."""

from __future__ import annotations

from typing import Any

from sandbox import ids
from sandbox.dml import Dml, derive, mark_deleted
from sandbox.metadata import Field, SObject
from sandbox.values import format_datetime, now, parse_date, parse_datetime

Record = dict[str, Any]
_STAMPS = ("CreatedDate", "LastModifiedDate", "SystemModstamp")


class AdminInputError(ValueError):
    """Bad admin request; answered as 400 {"error": ...}."""


def _loose(f: Field, value: Any) -> Any:
    """Coerce leniently: only normalize formats, never enforce rules."""
    if value == "" and f.type != "boolean":
        return None
    if value is None:
        return False if f.type == "boolean" else None
    if f.type == "datetime":
        dt = parse_datetime(str(value))
        if dt is None:
            raise AdminInputError(f"{f.name}: not a datetime: {value}")
        return format_datetime(dt)
    if f.type == "date":
        d = parse_date(str(value)[:10])
        if d is None:
            raise AdminInputError(f"{f.name}: not a date: {value}")
        return d.isoformat()
    if f.type in ("id", "reference"):
        try:
            return ids.to18(str(value))
        except ValueError as exc:
            raise AdminInputError(f"{f.name}: {exc}") from None
    return value


def _fields(obj: SObject, data: Record) -> Record:
    out: Record = {}
    for name, value in data.items():
        if name == "attributes":
            continue
        f = obj.field(name)
        if f is None:
            raise AdminInputError(
                f"No such column '{name}' on sobject of type {obj.name}"
            )
        out[f.name] = _loose(f, value)
    return out


class AdminRecords:
    def __init__(self, dml: Dml) -> None:
        self.dml = dml
        self.state = dml.state

    def put(
        self, obj: SObject, data: Record, touch_parents: bool = False
    ) -> tuple[str, bool]:
        """Insert (no/unknown Id) or update (known Id) one record: (id, created)."""
        fields = _fields(obj, data)
        current = format_datetime(now())
        given = {k: fields.pop(k) for k in _STAMPS if fields.get(k)}
        rid = fields.pop("Id", None)
        existing = self.state.store.get(rid) if rid else None
        if existing and existing[0] != obj.name:
            raise AdminInputError(f"{rid} is a {existing[0]}, not a {obj.name}")
        if rid and ids.object_for(rid) != obj.name:
            raise AdminInputError(f"{rid} does not have the {obj.name} key prefix")
        before = existing[1] if existing else None
        if before is None:
            record = self.dml.new_record(obj, current)
            if rid:
                record["Id"] = rid
        else:
            record = dict(before)
        record.update(fields)
        sms = given.get("SystemModstamp", current)
        lmd = given.get("LastModifiedDate", given.get("SystemModstamp", current))
        record["SystemModstamp"], record["LastModifiedDate"] = sms, lmd
        if before is None:
            record["CreatedDate"] = given.get("CreatedDate", lmd)
        elif "CreatedDate" in given:
            record["CreatedDate"] = given["CreatedDate"]
        derive(obj.name, record, before, sms)
        self.state.store.put(obj.name, record)
        if touch_parents and obj.name == "Task":
            self.dml.touch_parents(record, sms)
        return str(record["Id"]), before is None

    def _live(self, rid: str, expected: str | None = None) -> tuple[str, Record]:
        try:
            found = self.state.store.get(ids.to18(rid))
        except ValueError:
            found = None
        if found is None or found[1].get("IsDeleted"):
            raise AdminInputError(f"no live record with id {rid}")
        if expected and found[0] != expected:
            raise AdminInputError(f"{rid} is a {found[0]}, not a {expected}")
        return found

    def delete(self, rid: str) -> str:
        sobject, record = self._live(rid)
        mark_deleted(self.state, sobject, record)
        return str(record["Id"])

    def merge(self, master_id: str, loser_ids: list[str]) -> dict[str, Any]:
        """Salesforce merge: losers deleted with MasterRecordId, activities move."""
        sobject, master = self._live(master_id)
        stamp = format_datetime(now())
        moved = []
        for loser_id in loser_ids:
            _, loser = self._live(loser_id, sobject)
            for task in self.state.store.all("Task"):
                if task.get("WhoId") == loser["Id"]:
                    task.update(WhoId=master["Id"], SystemModstamp=stamp)
                    self.state.store.put("Task", task)
                    moved.append(task["Id"])
            mark_deleted(self.state, sobject, loser, master_id=master["Id"])
        master.update(SystemModstamp=stamp, LastModifiedDate=stamp)
        self.state.store.put(sobject, master)
        return {"master_id": master["Id"], "loser_ids": loser_ids, "moved_tasks": moved}

    def convert(
        self, lead_id: str, contact_id: str | None = None, account_id: str | None = None
    ) -> dict[str, Any]:
        """Lead conversion: creates the Account/Contact unless given."""
        _, lead = self._live(lead_id, "Lead")
        schema = self.state.schema
        if account_id is None and contact_id:
            account_id = self._live(contact_id, "Contact")[1].get("AccountId")
        if account_id is None:
            account_id, _ = self.put(
                schema.objects["Account"],
                {"Name": lead.get("Company") or lead["LastName"]},
            )
        if contact_id is None:
            copied = {
                k: lead.get(k)
                for k in (
                    "FirstName",
                    "LastName",
                    "Salutation",
                    "Title",
                    "Email",
                    "Phone",
                    "MobilePhone",
                    "HasOptedOutOfEmail",
                )
            }
            contact_id, _ = self.put(
                schema.objects["Contact"], {**copied, "AccountId": account_id}
            )
        stamp = format_datetime(now())
        lead.update(
            IsConverted=True,
            ConvertedContactId=ids.to18(contact_id),
            ConvertedAccountId=ids.to18(account_id),
            Status="Closed - Converted",
            ConvertedDate=stamp[:10],
            SystemModstamp=stamp,
            LastModifiedDate=stamp,
        )
        self.state.store.put("Lead", lead)
        return {
            "lead_id": lead["Id"],
            "contact_id": lead["ConvertedContactId"],
            "account_id": lead["ConvertedAccountId"],
        }
