"""What the writer needs from the org's Task object, read from describe at start-up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from connectors.salesforce.errors import ErrorKind, FatalError, Problem
from connectors.salesforce.policy import TASK_EXTERNAL_ID

log = logging.getLogger(__name__)

OPTIONAL_TASK_FIELDS = ("Engage_Call_Duration_Minutes__c",)
SETUP_HINT = (
    "create a Text(255) custom field Engage_Activity_Id__c on Task with "
    "'External ID' and 'Unique' ticked (README: Salesforce setup)"
)


@dataclass(frozen=True)
class TaskContract:
    """Fields to leave out (absent in this org) and fields only settable on create."""

    absent: frozenset[str]
    create_only: frozenset[str]

    @classmethod
    def from_describe(cls, describe: dict[str, Any]) -> TaskContract:
        fields = {f["name"]: f for f in describe.get("fields", [])}
        ext = fields.get(TASK_EXTERNAL_ID)
        if ext is None:
            raise _fatal(f"Task.{TASK_EXTERNAL_ID} does not exist: {SETUP_HINT}")
        if not ext.get("externalId"):
            raise _fatal(f"Task.{TASK_EXTERNAL_ID} is not an External ID: {SETUP_HINT}")
        if not ext.get("unique"):
            raise _fatal(f"Task.{TASK_EXTERNAL_ID} is not Unique: {SETUP_HINT}")
        absent = frozenset(name for name in OPTIONAL_TASK_FIELDS if name not in fields)
        for name in sorted(absent):
            log.warning(
                "Task.%s does not exist in this org; it is left out of every Task "
                "(create it as Number(16,2) to record call minutes)",
                name,
            )
        create_only = frozenset(
            name
            for name, f in fields.items()
            if f.get("createable") and not f.get("updateable")
        )
        return cls(absent, create_only)

    def prepare(self, fields: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in fields.items() if k not in self.absent}

    def is_create_only_refusal(self, problem: Problem) -> bool:
        """Orgs refuse on update fields they accept on create: resend without them."""
        return (
            problem.code == "INVALID_FIELD_FOR_INSERT_UPDATE"
            and bool(problem.fields)
            and set(problem.fields) <= self.create_only
        )


def _fatal(message: str) -> FatalError:
    return FatalError(Problem(ErrorKind.FATAL, "TASK_SETUP", message))
