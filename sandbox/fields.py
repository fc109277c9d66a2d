"""Field and sObject types (what describe reports) and the describe JSON for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.ids import PREFIXES

if TYPE_CHECKING:
    from sandbox.access import ObjectAccess

TEXT_TYPES = frozenset(
    {"string", "textarea", "email", "phone", "url", "picklist", "combobox"}
)
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})
ID_TYPES = frozenset({"id", "reference"})

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


@dataclass(frozen=True)
class Field:
    """One field as describe reports it; drives write validation and SOQL typing."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted: bool = False
    default: Any = None
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    precision: int = 0
    scale: int = 0
    digits: int = 0
    custom: bool = False
    calculated: bool = False
    name_field: bool = False

    @property
    def writable(self) -> bool:
        return self.createable or self.updateable

    @property
    def required(self) -> bool:
        """Required on create: not nillable, createable, no default, not boolean."""
        return (
            not self.nillable
            and self.createable
            and not self.defaulted
            and self.type != "boolean"
        )


@dataclass(frozen=True)
class SObject:
    name: str
    label: str
    fields: tuple[Field, ...]
    _by_lower: dict[str, Field] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self._by_lower.update({f.name.lower(): f for f in self.fields})

    @property
    def key_prefix(self) -> str:
        return PREFIXES[self.name]

    def field(self, name: str) -> Field | None:
        """Case-insensitive field lookup, as the API does."""
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> Field | None:
        """The reference field whose relationshipName matches (case-insensitive)."""
        lowered = name.lower()
        for f in self.fields:
            if f.relationship and f.relationship.lower() == lowered:
                return f
        return None


def describe_field(f: Field) -> dict[str, Any]:
    picklist = [
        {
            "active": True,
            "defaultValue": v == f.default,
            "label": v,
            "validFor": None,
            "value": v,
        }
        for v in f.picklist
    ]
    return {
        "name": f.name,
        "label": f.label,
        "type": f.type,
        "length": f.length,
        "byteLength": f.length * 3,
        "digits": f.digits,
        "precision": f.precision,
        "scale": f.scale,
        "nillable": f.nillable,
        "createable": f.createable,
        "updateable": f.updateable,
        "defaultedOnCreate": f.defaulted,
        "defaultValue": f.default if f.type != "picklist" else None,
        "restrictedPicklist": f.restricted,
        "picklistValues": picklist,
        "externalId": f.external_id,
        "idLookup": f.id_lookup,
        "unique": f.unique,
        "caseSensitive": False,
        "custom": f.custom,
        "calculated": f.calculated,
        "nameField": f.name_field,
        "autoNumber": False,
        "filterable": True,
        "sortable": f.type != "textarea",
        "groupable": f.type not in NUMBER_TYPES,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship,
        "polymorphicForeignKey": len(f.reference_to) > 1,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "deprecatedAndHidden": False,
        "dependentPicklist": False,
        "htmlFormatted": False,
        "permissionable": f.nillable and not f.calculated,
    }


def _object_flags(access: ObjectAccess | None) -> dict[str, bool]:
    """describe's object flags: the user's permissions (`sandbox.access`)."""
    if access is None:
        return {
            "createable": True,
            "updateable": True,
            "deletable": True,
            "queryable": True,
        }
    return {
        "createable": access.create,
        "updateable": access.edit,
        "deletable": access.delete,
        "queryable": access.read,
    }


def describe_object(
    obj: SObject, version: str, access: ObjectAccess | None = None
) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    flags = _object_flags(access)
    return {
        "name": obj.name,
        "label": obj.label,
        "labelPlural": obj.label + "s",
        "keyPrefix": obj.key_prefix,
        "custom": False,
        **flags,
        "retrieveable": flags["queryable"],
        "searchable": flags["queryable"],
        "undeletable": flags["deletable"],
        "fields": [describe_field(f) for f in obj.fields],
        "childRelationships": [],
        "recordTypeInfos": [],
        "urls": {
            "sobject": base,
            "describe": base + "/describe",
            "rowTemplate": base + "/{ID}",
        },
    }


def describe_global_entry(
    obj: SObject, version: str, access: ObjectAccess | None = None
) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "name": obj.name,
        "label": obj.label,
        "labelPlural": obj.label + "s",
        "keyPrefix": obj.key_prefix,
        "custom": False,
        **_object_flags(access),
        "urls": {
            "sobject": base,
            "describe": base + "/describe",
            "rowTemplate": base + "/{ID}",
        },
    }
