"""Checks ids Engage was given: live, converted (to a Contact), merged, or gone."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from connectors.salesforce import soql
from connectors.salesforce.ports import SalesforceApi
from connectors.salesforce.records import flatten

PREFIXES = {"00Q": "Lead", "003": "Contact"}
# What says where a record went; queried beside the mapped fields, never copied.
FOLLOW = {
    "Lead": ("IsDeleted", "MasterRecordId", "IsConverted", "ConvertedContactId"),
    "Contact": ("IsDeleted", "MasterRecordId"),
}
MAX_HOPS = 5  # a merge of a merge of a converted Lead ...: bounded, never a loop
IDS_PER_QUERY = 200  # ~4,500 characters of SOQL: well inside the URI limit
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


@dataclass(frozen=True)
class Verdict:
    """What an id turned out to be: the record to link to, or why there is none."""

    status: str  # LINKED, record-deleted, record-not-found, record-not-resolved
    salesforce_id: str | None = None
    sobject: str | None = None
    values: dict[str, Any] | None = None
    message: str | None = None

    @property
    def linked(self) -> bool:
        return self.values is not None


def object_of(record_id: str) -> str | None:
    """`Lead` or `Contact` by the id's key prefix, else None."""
    return PREFIXES.get(record_id[:3])


def id18(record_id: str) -> str | None:
    """The 18-character form Salesforce answers with, or None for a malformed id.

    Salesforce refuses a whole query over one malformed id (`invalid ID field`), so
    ids are checked here first: ASCII letters and digits, 15 characters, or 18 whose
    last three are the checksum of the first 15 (case-insensitive by design).
    """
    if not (record_id.isascii() and record_id.isalnum()):
        return None
    if len(record_id) not in (15, 18):
        return None
    suffix = ""
    for start in (0, 5, 10):
        chunk = record_id[start : start + 5]
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _CHECKSUM[bits]
    if len(record_id) == 18 and record_id[15:].upper() != suffix:
        return None
    return record_id[:15] + suffix


class RecordVerifier:
    """Reads a batch of ids with queryAll (deleted and merged rows are only there),
    one query per object and hop, following conversions and merges.

    Args:
        client: the Salesforce client.
        fields: the fields to read of an object (its mapped and matching fields).
    """

    def __init__(
        self, client: SalesforceApi, fields: Callable[[str], list[str]]
    ) -> None:
        self.client, self._fields = client, fields

    def verify(self, record_ids: Iterable[str]) -> dict[str, Verdict]:
        """A verdict for each id given (keyed as given)."""
        at: dict[str, str] = {}
        verdicts: dict[str, Verdict] = {}
        for rid in dict.fromkeys(record_ids):
            full = id18(rid)
            if full is None:
                verdicts[rid] = Verdict(
                    "record-not-found", message=f"{rid!r} is not a Salesforce id"
                )
            else:
                at[rid] = full
        trail: dict[str, list[str]] = {rid: [] for rid in at}
        for _ in range(MAX_HOPS + 1):
            if not at:
                break
            rows = self._read(set(at.values()))
            moved: dict[str, str] = {}
            for asked, current in at.items():
                verdict, onward = self._judge(current, rows.get(current), trail[asked])
                if onward is not None:
                    moved[asked] = onward
                elif verdict is not None:
                    verdicts[asked] = verdict
            at = moved
        for asked in at:
            verdicts[asked] = Verdict(
                "record-not-resolved",
                message=f"{asked}: more than {MAX_HOPS} merges and conversions "
                f"({'; '.join(trail[asked])})",
            )
        return verdicts

    def _judge(
        self, rid: str, found: tuple[str, dict[str, Any]] | None, trail: list[str]
    ) -> tuple[Verdict | None, str | None]:
        """The verdict on one record, or the id it points on to."""
        if found is None:
            what = f"no {object_of(rid) or 'record'} {rid} in Salesforce"
            why = "never existed, emptied from the recycle bin, or not visible to us"
            return _gone("record-not-found", f"{what} ({why})", trail)
        obj, row = found
        if row.get("IsDeleted"):
            onward = row.get("MasterRecordId")
            step = f"{obj} {rid} was merged into {onward}"
            gone = ("record-deleted", f"{obj} {rid} is deleted (in the recycle bin)")
        elif obj == "Lead" and row.get("IsConverted"):
            onward = row.get("ConvertedContactId")
            step = f"Lead {rid} was converted to Contact {onward}"
            gone = ("record-not-found", f"Lead {rid} was converted to no Contact")
        else:
            values = {k: v for k, v in row.items() if k not in FOLLOW[obj]}
            return Verdict("LINKED", rid, obj, values, "; ".join(trail) or None), None
        if onward:
            trail.append(step)
            return None, str(onward)
        return _gone(*gone, trail)

    def _read(self, ids: set[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Id -> (object, flattened row) of every id found, deleted ones too."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for obj in ("Lead", "Contact"):
            wanted = sorted(i for i in ids if object_of(i) == obj)
            fields = list(dict.fromkeys([*self._fields(obj), *FOLLOW[obj]]))
            for start in range(0, len(wanted), IDS_PER_QUERY):
                chunk = wanted[start : start + IDS_PER_QUERY]
                where = f"Id IN ({', '.join(soql.quote(i) for i in chunk)})"
                query = soql.select(obj, fields, where=where)
                for row in self.client.query_all(query, include_deleted=True):
                    out[str(row["Id"])] = (obj, flatten(row, fields))
        return out


def _gone(
    status: str, last: str, trail: list[str]
) -> tuple[Verdict | None, str | None]:
    """No record to link: the verdict says why, after the steps that led there."""
    return Verdict(status, message="; ".join([*trail, last])), None
