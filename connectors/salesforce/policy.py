"""The write policy: the complete list of writes Engage may make in Salesforce."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TASK_EXTERNAL_ID = "Engage_Activity_Id__c"

# Task fields the activity agent fills (plus OwnerId); nothing else is ever sent.
TASK_FIELDS = frozenset(
    {
        "Subject",
        "Description",
        "Status",
        "ActivityDate",
        "WhoId",
        "OwnerId",
        "TaskSubtype",
        "CallDisposition",
        "CallType",
        "CallDurationInSeconds",
        "Engage_Call_Duration_Minutes__c",
        TASK_EXTERNAL_ID,
    }
)


@dataclass(frozen=True)
class Allowed:
    """One kind of write the policy allows."""

    operation: str
    sobject: str
    fields: frozenset[str]
    external_id_field: str | None = None


ALLOWED: tuple[Allowed, ...] = (
    Allowed("UPSERT", "Task", TASK_FIELDS, TASK_EXTERNAL_ID),
)


class PolicyRefusal(ValueError):
    """A command asks for a write Engage must never make."""


def check(command: Mapping[str, Any]) -> None:
    """Raise PolicyRefusal unless the command is one of the allowed writes."""
    operation, sobject = command["operation"], command["sobject"]
    fields = set(command["fields"])
    for rule in ALLOWED:
        if rule.operation != operation or rule.sobject != sobject:
            continue
        key = command.get("external_id_field")
        if rule.external_id_field != key:
            raise PolicyRefusal(
                f"{operation} {sobject} must be keyed by "
                f"{rule.external_id_field}, not {key}"
            )
        extra = sorted(fields - rule.fields)
        if extra:
            raise PolicyRefusal(
                f"{operation} {sobject} may not write field(s) {', '.join(extra)}"
            )
        if rule.external_id_field and not command["fields"].get(rule.external_id_field):
            raise PolicyRefusal(f"{operation} {sobject} needs {rule.external_id_field}")
        return
    raise PolicyRefusal(f"{operation} on {sobject} is not a write Engage may make")
