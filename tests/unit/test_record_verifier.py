"""Ids Engage was given are read in batches (one queryAll per object and hop) and
followed: a converted Lead to its Contact, a merge loser to its master."""

from __future__ import annotations

import re
from typing import Any

from connectors.salesforce.verify import RecordVerifier, id18

LEAD, CONVERTED, LOSER, DELETED, GONE = (
    id18(f"00Q00000000000{i}") for i in range(1, 6)
)
CONTACT, MASTER, FROM_LEAD = (id18(f"00300000000000{i}") for i in range(1, 4))


class FakeOrg:
    """The client port: answers `... WHERE Id IN (...)` from rows, counting queries."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = {r["Id"]: r for r in rows}
        self.queries: list[tuple[str, bool]] = []

    def query_all(self, soql: str, include_deleted: bool = False) -> list[dict]:
        self.queries.append((soql.split(" FROM ")[1].split()[0], include_deleted))
        ids = re.findall(r"'(\w+)'", soql)
        found = [self.rows[i] for i in ids if i in self.rows]
        return [r for r in found if include_deleted or not r.get("IsDeleted")]


def _org() -> FakeOrg:
    return FakeOrg(
        [
            {"Id": LEAD, "LastName": "Lovelace"},
            {"Id": CONVERTED, "IsConverted": True, "ConvertedContactId": FROM_LEAD},
            {"Id": FROM_LEAD, "LastName": "Converted"},
            {"Id": CONTACT, "LastName": "Hopper"},
            {"Id": LOSER, "IsDeleted": True, "MasterRecordId": LEAD},
            {"Id": MASTER, "LastName": "Master"},
            {"Id": DELETED, "IsDeleted": True},
        ]
    )


def test_each_id_ends_at_the_record_to_link_or_says_why_not() -> None:
    org = _org()
    verdicts = RecordVerifier(org, lambda obj: ["Id", "LastName"]).verify(  # type: ignore[arg-type]
        [LEAD, CONTACT, CONVERTED, LOSER, DELETED, GONE, "00Qbad"]
    )

    assert {rid: (v.status, v.salesforce_id) for rid, v in verdicts.items()} == {
        LEAD: ("LINKED", LEAD),
        CONTACT: ("LINKED", CONTACT),
        CONVERTED: ("LINKED", FROM_LEAD),
        LOSER: ("LINKED", LEAD),
        DELETED: ("record-deleted", None),
        GONE: ("record-not-found", None),
        "00Qbad": ("record-not-found", None),
    }
    assert verdicts[CONVERTED].sobject == "Contact"
    assert verdicts[CONVERTED].values == {"Id": FROM_LEAD, "LastName": "Converted"}
    assert f"converted to Contact {FROM_LEAD}" in (verdicts[CONVERTED].message or "")
    assert f"merged into {LEAD}" in (verdicts[LOSER].message or "")
    assert "deleted" in (verdicts[DELETED].message or "")


def test_a_batch_costs_one_query_all_per_object_and_hop() -> None:
    org = _org()

    RecordVerifier(org, lambda obj: ["Id"]).verify(  # type: ignore[arg-type]
        [LEAD, CONTACT, CONVERTED, LOSER, DELETED, GONE]
    )

    # Hop 1 reads both objects; hop 2 the converted Lead's Contact and the master.
    assert org.queries == [
        ("Lead", True),
        ("Contact", True),
        ("Lead", True),
        ("Contact", True),
    ]


def test_a_15_character_id_is_found_by_its_18_character_form() -> None:
    verdicts = RecordVerifier(_org(), lambda obj: ["Id"]).verify([LEAD[:15]])  # type: ignore[arg-type]

    assert verdicts[LEAD[:15]].salesforce_id == LEAD
