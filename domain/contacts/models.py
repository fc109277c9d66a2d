"""Engage's copy of a contact, as kept on the compacted `engage.contacts` topic."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

# Engage fields with own columns in `EngageContact`; other mapped ones go to `fields`.
CORE_FIELDS = (
    "email", "first_name", "last_name", "phone", "company", "title", "status"
)


@dataclass(frozen=True)
class EngageContact:
    """One Engage contact and its link to Salesforce.

    `field_times` holds, per Engage field, when its current value was made (epoch ms):
    Salesforce's LastModifiedDate for values read from Salesforce, the edit's
    `occurred_at` for Engage-side edits. "Most recent wins" compares these.
    """

    engage_contact_id: str
    salesforce_id: str | None = None
    salesforce_object: str | None = None  # "Lead" | "Contact"
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    status: str | None = None
    fields: dict[str, str | None] = field(default_factory=dict)
    in_scope: bool = True
    updated_at_ms: int = 0
    field_times: dict[str, int] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        if name in CORE_FIELDS:
            return getattr(self, name)  # type: ignore[no-any-return]
        return self.fields.get(name)

    def with_values(
        self,
        values: dict[str, str | None],
        times: dict[str, int],
        **attributes: Any,
    ) -> EngageContact:
        """The contact with `values` (and their `times`) applied, and `attributes`
        (e.g. the link, scope and update time) set, in one copy."""
        if not values:
            return replace(self, **attributes) if attributes else self
        # Any: mypy cannot see that the keys are all `str | None` fields.
        core: dict[str, Any] = {}
        extra: dict[str, str | None] = {}
        for name, value in values.items():
            (core if name in CORE_FIELDS else extra)[name] = value
        return replace(
            self,
            **core,
            **attributes,
            fields={**self.fields, **extra} if extra else self.fields,
            field_times={**self.field_times, **times},
        )

    def content(self) -> tuple[Any, ...]:
        """All but the update time: two contacts with equal content need no update."""
        return (
            self.engage_contact_id, self.salesforce_id, self.salesforce_object,
            *(getattr(self, f) for f in CORE_FIELDS),
            tuple(sorted(self.fields.items())), self.in_scope,
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "engage_contact_id": self.engage_contact_id,
            "salesforce_id": self.salesforce_id,
            "salesforce_object": self.salesforce_object,
            **{f: getattr(self, f) for f in CORE_FIELDS},
            "fields": dict(self.fields),
            "in_scope": self.in_scope,
            "updated_at": self.updated_at_ms,
            "field_times": dict(self.field_times),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> EngageContact:
        # Any: a datetime (Avro timestamp-millis), epoch ms, or None.
        updated: Any = record.get("updated_at")
        updated_ms = (
            int(updated.timestamp() * 1000)
            if hasattr(updated, "timestamp")
            else int(updated or 0)
        )
        return cls(
            engage_contact_id=record["engage_contact_id"],
            salesforce_id=record.get("salesforce_id"),
            salesforce_object=record.get("salesforce_object"),
            **{f: record.get(f) for f in CORE_FIELDS},
            fields=dict(record.get("fields") or {}),
            in_scope=bool(record.get("in_scope", True)),
            updated_at_ms=updated_ms,
            field_times={
                k: int(v) for k, v in (record.get("field_times") or {}).items()
            },
        )
