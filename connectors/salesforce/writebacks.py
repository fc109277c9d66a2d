"""Engage's two write-backs: Lead Status and Email Opt Out (HasOptedOutOfEmail)."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.salesforce import soql
from connectors.salesforce.client import COLLECTION_LIMIT
from connectors.salesforce.errors import ErrorKind, classify_record_error, to_exception
from connectors.salesforce.outcomes import Pending
from connectors.salesforce.ports import Outcomes, SalesforceApi


class WriteBacks:
    """Applies UPDATE commands (already allowed by write policy) in batches of 200.

    Args:
        client: the Salesforce calls.
        outcomes: where each command's result and dead letter go.
    """

    def __init__(self, client: SalesforceApi, outcomes: Outcomes) -> None:
        self.client, self.outcomes = client, outcomes
        self._statuses: frozenset[str] | None = None

    def statuses(self) -> frozenset[str]:
        """Active Lead Status values, from describe (what Salesforce will accept)."""
        if self._statuses is None:
            fields = self.client.describe("Lead")["fields"]
            status = next(f for f in fields if f["name"] == "Status")
            self._statuses = frozenset(
                v["value"]
                for v in status.get("picklistValues", [])
                if v.get("active", True)
            )
        return self._statuses

    def apply(self, items: Sequence[Pending]) -> None:
        """Write each item's fields by id; refusals get a result and a dead letter.

        Raises:
            RetriableError: a transient refusal; the whole update is safe to redo.
        """
        todo = []
        for item in items:
            status = item.command["fields"].get("Status")
            if status is not None and status not in self.statuses():
                message = (
                    f"Lead Status '{status}' is not an active picklist value "
                    f"(valid: {', '.join(sorted(self.statuses()))}); "
                    "check status_values"
                )
                self._fail(item, "invalid-status", message)
            else:
                todo.append(item)
        for start in range(0, len(todo), COLLECTION_LIMIT):
            self._update(todo[start : start + COLLECTION_LIMIT])

    def _update(self, items: Sequence[Pending]) -> None:
        records = [
            {"attributes": {"type": i.command["sobject"]}, "id": i.command["record_id"]}
            | dict(i.command["fields"])
            for i in items
        ]
        answers = self.client.update_collection(records)
        for item, answer in zip(items, answers, strict=True):
            if answer.get("success"):
                record_id = item.command["record_id"]
                self.outcomes.result_for(item, True, "OK", None, record_id)
                continue
            problem = classify_record_error((answer.get("errors") or [{}])[0])
            if problem.kind in (ErrorKind.RETRIABLE, ErrorKind.THROTTLED):
                raise to_exception(problem)  # the whole update is safe to redo
            if problem.code == "CANNOT_UPDATE_CONVERTED_LEAD":
                self._follow_conversion(item)
            else:
                self._fail(item, problem.code, problem.message)

    def _follow_conversion(self, item: Pending) -> None:
        """A write aimed at a converted Lead goes to its Contact (Opt Out only)."""
        lead_id, fields = item.command["record_id"], item.command["fields"]
        rows = list(self.client.query_all(soql.select(
            "Lead", ["Id", "ConvertedContactId"], where=f"Id = {soql.quote(lead_id)}"
        )))
        contact = rows[0].get("ConvertedContactId") if rows else None
        if not contact or set(fields) != {"HasOptedOutOfEmail"}:
            self._fail(
                item, "lead-converted", f"Lead {lead_id} is converted; not written"
            )
            return
        answer = self.client.update_collection(
            [{"attributes": {"type": "Contact"}, "id": contact, **fields}]
        )[0]
        if answer.get("success"):
            self.outcomes.result_for(item, True, "OK", None, contact)
        else:
            problem = classify_record_error((answer.get("errors") or [{}])[0])
            self._fail(item, problem.code, problem.message)

    def _fail(self, item: Pending, status: str, message: str) -> None:
        self.outcomes.result_for(item, False, status, message)
        self.outcomes.dead_letter(item.origin, f"{status}: {message}", status)
