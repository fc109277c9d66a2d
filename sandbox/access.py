"""What the API user may do: object permissions, field-level security, the org's
edition and whether it has API access at all.

The sandbox has one API user (the integration user every token belongs to), so its
profile is the org's: `OrgAccess` holds that user's object permissions (read,
create, edit, delete per sObject) and field-level security (visible, createable,
updateable per field). The REST layer sees the schema through `api_schema`, as a
real org's describe and SOQL reflect the user's permissions: an object without
Read is gone (describe 404, SOQL INVALID_TYPE), a hidden field is absent
(describe, SOQL INVALID_FIELD, writes INVALID_FIELD), a read-only one is neither
createable nor updateable (INVALID_FIELD_FOR_INSERT_UPDATE). Defaults: everything
allowed, Enterprise Edition, API enabled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from sandbox.errors import ApiError
from sandbox.fields import Field, SObject
from sandbox.metadata import Schema

# Organization.OrganizationType ("Edition" in Setup) as the API reports it.
EDITIONS = (
    "Enterprise Edition",
    "Unlimited Edition",
    "Developer Edition",
    "Performance Edition",
    "Professional Edition",
    "Team Edition",
    "Base Edition",
    "Personal Edition",
    "Contact Manager Edition",
)
OPERATIONS = ("read", "create", "edit", "delete")
# What a REST call on an org without API access answers (Professional Edition
# without the API add-on, or API access switched off for the org).
API_DISABLED = ApiError(
    403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."
)
_DENIED = (
    "You do not have the level of access necessary to perform the operation you "
    "requested. Please contact the owner of the record or your administrator if "
    "access is necessary."
)


@dataclass(frozen=True)
class ObjectAccess:
    """Object permissions of the user's profile and permission sets on one sObject."""

    read: bool = True
    create: bool = True
    edit: bool = True
    delete: bool = True


@dataclass(frozen=True)
class FieldAccess:
    """Field-level security of one field (create/update also need the field's own
    createable/updateable)."""

    visible: bool = True
    createable: bool = True
    updateable: bool = True


# The org's own record: readable by every user, never written through the API.
_ORGANIZATION_ACCESS = ObjectAccess(read=True, create=False, edit=False, delete=False)


def _flags(cls: type[Any], name: str, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{name}: expected an object of flags")
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(
            f"{name}: unknown flag(s) {sorted(unknown)}; use {sorted(known)}"
        )
    return cls(**{k: bool(v) for k, v in data.items()})


@dataclass(frozen=True)
class OrgAccess:
    """The integration user's permissions, the org's edition and its API access."""

    edition: str = "Enterprise Edition"
    api_enabled: bool = True
    objects: dict[str, ObjectAccess] = field(default_factory=dict)
    fields: dict[str, FieldAccess] = field(default_factory=dict)  # "Task.Subject"

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> OrgAccess:
        data = data or {}
        unknown = set(data) - {"edition", "api_enabled", "objects", "fields"}
        if unknown:
            raise ValueError(f"unknown access key(s): {sorted(unknown)}")
        edition = str(data.get("edition", cls.edition))
        if edition not in EDITIONS:
            raise ValueError(f"edition {edition!r} is not one of {list(EDITIONS)}")
        return cls(
            edition=edition,
            api_enabled=bool(data.get("api_enabled", True)),
            objects={
                k: _flags(ObjectAccess, k, v)
                for k, v in (data.get("objects") or {}).items()
            },
            fields={
                k: _flags(FieldAccess, k, v)
                for k, v in (data.get("fields") or {}).items()
            },
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "edition": self.edition,
            "api_enabled": self.api_enabled,
            "objects": {k: vars(v) for k, v in self.objects.items()},
            "fields": {k: vars(v) for k, v in self.fields.items()},
        }

    def on_object(self, name: str) -> ObjectAccess:
        if name == "Organization":
            return _ORGANIZATION_ACCESS
        return self.objects.get(name, ObjectAccess())

    def require(self, sobject: str, operation: str) -> None:
        """Raise INSUFFICIENT_ACCESS_OR_READONLY unless the user may `operation`."""
        if not getattr(self.on_object(sobject), operation):
            raise ApiError(403, "INSUFFICIENT_ACCESS_OR_READONLY", _DENIED, fields=[])

    def _field(self, obj: str, f: Field) -> Field | None:
        fls = self.fields.get(f"{obj}.{f.name}", FieldAccess())
        if not fls.visible:
            return None
        return replace(
            f,
            createable=f.createable and fls.createable,
            updateable=f.updateable and fls.updateable,
        )

    def restrict(self, obj: SObject) -> SObject | None:
        """`obj` as the user sees it; None without Read."""
        if not self.on_object(obj.name).read:
            return None
        kept = (self._field(obj.name, f) for f in obj.fields)
        return SObject(obj.name, obj.label, tuple(f for f in kept if f is not None))


def organization() -> SObject:
    """The Organization object, with the fields a client asks about the org."""

    def ro(name: str, type_: str, label: str, **kw: Any) -> Field:
        return Field(name, type_, label, createable=False, updateable=False, **kw)

    return SObject(
        "Organization",
        "Organization",
        (
            ro("Id", "id", "Organization ID", length=18, nillable=False),
            ro("Name", "string", "Name", length=80, nillable=False, name_field=True),
            ro("OrganizationType", "picklist", "Edition", length=40, picklist=EDITIONS),
            ro("IsSandbox", "boolean", "Is Sandbox", nillable=False, defaulted=True),
            ro("InstanceName", "string", "Instance Name", length=5),
        ),
    )


def organization_row(org_id: str, access: OrgAccess) -> dict[str, Any]:
    """The org's one Organization row (it plays a production org)."""
    return {
        "Id": org_id,
        "IsDeleted": False,
        "Name": "Engage Sync Sandbox",
        "OrganizationType": access.edition,
        "IsSandbox": False,
        "InstanceName": "LOCAL",
    }


def api_schema(schema: Schema, access: OrgAccess) -> Schema:
    """The schema the API user sees: their objects and fields, plus Organization."""
    seen = [access.restrict(obj) for obj in schema.objects.values()]
    return Schema(schema.config, [o for o in seen if o is not None] + [organization()])
