"""The CRM settings document (one per org): objects, rules, mapping, sync settings."""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.rules.models import Group

ObjectName = Literal["Lead", "Contact", "Account"]
Direction = Literal[
    "salesforce_to_engage",
    "bidirectional_most_recent",
    "prefer_salesforce_unless_blank",
]
REQUIRED_ENGAGE_FIELDS = ("last_name", "first_name")
MIN_POLL_SECONDS = 10
_DURATION = re.compile(r"(\d+)(s|m|h)")


class MappingRow(BaseModel):
    """Engage <- Salesforce field (None = Do Not Read/Write), default and direction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engage: str = Field(min_length=1)
    salesforce: str | None = None
    direction: Direction = "salesforce_to_engage"
    default: str | None = None

    @field_validator("salesforce")
    @classmethod
    def _named(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("empty field name: use null for Do Not Read/Write")
        return value

    @property
    def do_not_read_write(self) -> bool:
        return self.salesforce is None


def default_mapping(obj: ObjectName) -> list[MappingRow]:
    """The guide's default table, plus email and phone read from Salesforce."""
    return list(_default_rows(obj))


@cache
def _default_rows(obj: ObjectName) -> tuple[MappingRow, ...]:
    bi: Direction = "bidirectional_most_recent"
    rows = [
        MappingRow(engage="last_name", salesforce="LastName"),
        MappingRow(engage="first_name", salesforce="FirstName", direction=bi),
        MappingRow(engage="salutation", salesforce="Salutation", direction=bi),
        MappingRow(engage="title", salesforce="Title", direction=bi),
        # A Contact's company is its Account's name (read through the relationship).
        MappingRow(
            engage="company",
            salesforce="Company" if obj == "Lead" else "Account.Name",
            direction=bi if obj == "Lead" else "salesforce_to_engage",
        ),
        MappingRow(engage="street", salesforce=None),
        MappingRow(engage="email", salesforce="Email"),
        MappingRow(engage="phone", salesforce="Phone"),
    ]
    if obj == "Account":
        return (
            MappingRow(engage="name", salesforce="Name"),
            MappingRow(engage="website", salesforce="Website"),
        )
    return tuple(rows)


class ObjectSettings(BaseModel):
    """Sync of one Salesforce object."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sync: bool = False
    poll_interval: int = Field(300, description="seconds; written as 30s, 5m, 1h")
    rules: Group | None = None
    mapping: list[MappingRow] = Field(default_factory=list)
    status_values: dict[str, str] | None = None

    @field_validator("poll_interval", mode="before")
    @classmethod
    def _duration(cls, value: object) -> int:
        if isinstance(value, bool):
            raise ValueError("a duration like 30s, 5m or 1h")
        if isinstance(value, int):
            seconds = value  # a bare number is seconds (JSON documents, our own dumps)
        else:
            match = _DURATION.fullmatch(str(value).strip())
            if not match:
                raise ValueError(f"'{value}' is not a duration like 30s, 5m or 1h")
            seconds = int(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2]]
        if seconds < MIN_POLL_SECONDS:
            raise ValueError(f"must be at least {MIN_POLL_SECONDS}s")
        return seconds

    @field_validator("mapping")
    @classmethod
    def _unique_engage_fields(cls, rows: list[MappingRow]) -> list[MappingRow]:
        seen: set[str] = set()
        for row in rows:
            if row.engage in seen:
                raise ValueError(f"Engage field '{row.engage}' is mapped twice")
            seen.add(row.engage)
        return rows


def _default_match_order() -> list[Literal["Contact", "Lead"]]:
    return ["Contact", "Lead"]


class SyncSettings(BaseModel):
    """What happens to records created in Engage, and to activities."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engage_created_contacts: Literal["create_lead", "create_contact", "none"] = (
        "create_lead"
    )
    engage_created_accounts: Literal["create", "none"] = "none"
    # The org refused a new Contact's Account (validation or duplicate rule): create
    # the Contact without it (a private Contact) or leave the person unlinked.
    on_account_refused: Literal["create_contact_without_account", "skip_contact"] = (
        "create_contact_without_account"
    )
    auto_associate_accounts: bool = True
    write_activity_history: bool | dict[Literal["Lead", "Contact"], bool] = True
    phone_region: str = Field("US", min_length=2, max_length=2)
    match_order: list[Literal["Contact", "Lead"]] = Field(
        default_factory=_default_match_order
    )
    unmapped_user_tasks: Literal["integration_user", "hold"] = "integration_user"

    @field_validator("match_order")
    @classmethod
    def _order(cls, value: list[str]) -> list[str]:
        if not value or len(set(value)) != len(value):
            raise ValueError("list Contact and/or Lead, each once")
        return value

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str) -> str:
        import phonenumbers

        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"'{value}' is not a region code phonenumbers knows (e.g. US, GB)"
            )
        return value.upper()

    def writes_activity_for(self, obj: str) -> bool:
        if isinstance(self.write_activity_history, bool):
            return self.write_activity_history
        return self.write_activity_history.get(obj, True)  # type: ignore[call-overload]


class CrmSettings(BaseModel):
    """The whole document; only `objects` is required."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    objects: dict[ObjectName, ObjectSettings]
    sync_settings: SyncSettings = Field(default_factory=SyncSettings)
    users: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _required_fields_mapped(self) -> CrmSettings:
        for name, obj in self.objects.items():
            if name == "Account" or not obj.mapping:
                continue
            mapped = {r.engage for r in obj.mapping if not r.do_not_read_write}
            missing = [f for f in REQUIRED_ENGAGE_FIELDS if f not in mapped]
            if missing:
                raise ValueError(
                    f"objects.{name}.mapping: required Engage field(s) "
                    f"{', '.join(missing)} must be mapped to a Salesforce field"
                )
        return self

    def mapping(self, obj: ObjectName) -> list[MappingRow]:
        """The rows in force: the admin's, or the default table when none are given."""
        settings = self.objects.get(obj)
        if settings is None or not settings.mapping:
            return default_mapping(obj)
        return list(settings.mapping)

    def synced(self) -> list[ObjectName]:
        return [name for name, obj in self.objects.items() if obj.sync]
