"""The org's schema: object definitions switched by OrgConfig, looked up by name."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sandbox.fields import (
    ID_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    Field,
    SObject,
    describe_field,
    describe_global_entry,
    describe_object,
)
from sandbox.objects import (
    CLOSED_TASK_STATUSES,
    LEAD_STATUSES,
    TASK_STATUSES,
    account,
    contact,
    lead,
    task,
    user,
)

__all__ = [
    "CLOSED_TASK_STATUSES",
    "ID_TYPES",
    "LEAD_STATUSES",
    "NUMBER_TYPES",
    "TASK_STATUSES",
    "TEXT_TYPES",
    "Field",
    "OrgConfig",
    "SObject",
    "Schema",
    "describe_field",
    "describe_global_entry",
    "describe_object",
]


@dataclass(frozen=True)
class OrgConfig:
    """Schema switches the writer's start-up checks are tested against."""

    task_custom_fields: bool = True
    ext_id_unique: bool = True

    def to_json(self) -> dict[str, bool]:
        return {
            "task_custom_fields": self.task_custom_fields,
            "ext_id_unique": self.ext_id_unique,
        }

    def updated(self, data: dict[str, Any]) -> OrgConfig:
        known = {k: bool(v) for k, v in data.items() if k in self.to_json()}
        return replace(self, **known)


class Schema:
    """All objects of the org, with case-insensitive lookup."""

    def __init__(
        self, config: OrgConfig | None = None, objects: list[SObject] | None = None
    ) -> None:
        self.config = config or OrgConfig()
        objs = objects or [
            account(),
            contact(),
            lead(),
            user(),
            task(self.config.task_custom_fields, self.config.ext_id_unique),
        ]
        self.objects = {o.name: o for o in objs}
        self._by_lower = {o.name.lower(): o for o in objs}

    def get(self, name: str) -> SObject | None:
        return self._by_lower.get(name.lower())

    def external_id_fields(self) -> dict[str, tuple[str, ...]]:
        """Fields the store indexes (external ids, plus Email for duplicate rules)."""
        out: dict[str, tuple[str, ...]] = {}
        for obj in self.objects.values():
            names = [f.name for f in obj.fields if f.external_id or f.name == "Email"]
            out[obj.name] = tuple(names)
        return out
