"""What a row's result on `salesforce.results` means for the admin's report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["matched", "created", "already linked", "not created", "failed"]
KINDS: tuple[Kind, ...] = (
    "matched",
    "created",
    "already linked",
    "not created",
    "failed",
)
_MATCHED = {"LINKED", "LINKED_BY_DUPLICATE_RULE", "ambiguous-match"}


@dataclass(frozen=True)
class RowOutcome:
    """One row's line of the report."""

    kind: Kind
    sobject: str | None = None
    salesforce_id: str | None = None
    reason: str | None = None


def outcome_of(result: dict[str, Any]) -> RowOutcome | None:
    """The report's line for a WriteResult, or None for one that is not the row's
    own (the Account result a new Contact's refused Account adds)."""
    if result.get("object") == "Account":
        return None
    code, sobject = str(result["status_code"]), result.get("object")
    sf_id = result.get("salesforce_id")
    if result["success"] and code in _MATCHED:
        note = None
        if code == "ambiguous-match":
            note = "several records matched: " + ", ".join(
                result.get("candidates") or []
            )
        elif code == "LINKED_BY_DUPLICATE_RULE":
            note = "found by the org's duplicate rule"
        return RowOutcome("matched", sobject, sf_id, note)
    if result["success"] and code == "CREATED":
        return RowOutcome("created", sobject, sf_id)
    if result["success"] and code == "already-linked":
        return RowOutcome("already linked", sobject, sf_id)
    if result["success"] and code == "NO_MATCH":
        return RowOutcome(
            "not created",
            None,
            None,
            "no match, and sync settings create none (engage_created_contacts: none)",
        )
    message = result.get("message")
    return RowOutcome(
        "failed", sobject, sf_id, f"{code}: {message}" if message else code
    )
