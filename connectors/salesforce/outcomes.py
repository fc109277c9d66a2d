"""What the writer keeps per command and batch: pending items, results, counters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.kafka.deadletter import Origin

# WriteResult status codes of a link command's outcome (the linker's answers).
LINKED_STATUSES = frozenset({"LINKED", "CREATED", "LINKED_BY_DUPLICATE_RULE"})
AMBIGUOUS = "ambiguous-match"
LINK_STATUSES = LINKED_STATUSES | {AMBIGUOUS}


def is_link_report(result: dict[str, Any]) -> bool:
    """A result the worker's links agent acts on: published to `salesforce.links`
    as well as to `salesforce.results` (which every other reader follows)."""
    return result.get("status_code") in LINK_STATUSES


@dataclass
class WriterStats:
    """Counters an operator (and `up`'s status line) cares about."""

    commands: int = 0
    written: int = 0
    created: int = 0
    failed: int = 0
    dead_letters: int = 0
    retries: int = 0
    throttled: int = 0
    budget_pauses: int = 0
    gave_up: int = 0
    batches: int = 0
    batch_sizes: list[int] = field(default_factory=list)


@dataclass
class Pending:
    """One decoded command waiting for Salesforce's answer."""

    origin: Origin
    command: dict[str, Any]
    result: dict[str, Any] | None = None
    attempts: int = 0
    # Results published before `result`: an Account refused ahead of its Contact.
    also: list[dict[str, Any]] = field(default_factory=list)

def avro_values(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in values.items()
        if v is None or isinstance(v, str | bool | int | float)
    }


def result(
    command: dict[str, Any],
    success: bool,
    status: str,
    message: str | None,
    salesforce_id: str | None = None,
    created: bool | None = None,
    fields: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "event_id": command["command_id"],
        "object": command["sobject"],
        "operation": command["operation"],
        "success": success,
        "salesforce_id": salesforce_id,
        "created": created,
        "status_code": status,
        "message": message,
        "fields": list(fields),
        "written_at": datetime.now(UTC),
    }
