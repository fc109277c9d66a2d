"""The write policy: the complete list of writes Engage may make in Salesforce."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.commands import OPT_OUT_FIELD, TASK_EXTERNAL_ID
from domain.crm_settings.models import MappingRow
from domain.ids import ID_PREFIXES

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
# What a MATCH may carry to find a person (nothing is written).
PERSON_FIELDS = frozenset({"LastName", "FirstName", "Salutation", "Email", "Phone"})
LEAD_FIELDS = PERSON_FIELDS | {"Company", "Title", "Status"}
# "Account.Name": company a new Contact's Account is found (or made) by; not a field.
ACCOUNT_NAME = "Account.Name"
CONTACT_FIELDS = PERSON_FIELDS | {"Title", "AccountId", ACCOUNT_NAME}
# Read to find the person before a create; written only where the mapping sends them.
MATCH_KEY_FIELDS = frozenset({"Email", "FirstName", "LastName", "Phone"})
ACCOUNT_FIELDS = frozenset({"Name", "Website"})
OPT_OUT = OPT_OUT_FIELD
# A MATCH needs something to match on: the Email, or the LastName and the Phone.
MATCH_KEYS = (frozenset({"Email"}), frozenset({"LastName", "Phone"}))


@dataclass(frozen=True)
class Allowed:
    """One kind of write the policy allows."""

    operation: str
    sobject: str
    fields: frozenset[str]
    external_id_field: str | None = None
    required: frozenset[str] = frozenset()  # present as non-blank strings
    fixed: Mapping[str, object] = field(default_factory=dict)  # present, this value
    any_of: tuple[frozenset[str], ...] = ()  # one group present, all non-blank
    by_id: bool = False  # record_id is an id of `sobject`, else it must be absent
    needs_contact: bool = False  # engage_contact_id is non-blank
    mapped: bool = False  # also the createable fields the mapping sends (creates)

    @property
    def label(self) -> str:
        """What this write is, as a person would name it (`Lead Status update`)."""
        if self.operation == "UPSERT":
            return f"{self.sobject} upsert by {self.external_id_field}"
        if self.operation == "UPDATE":
            return f"{self.sobject} {', '.join(sorted(self.fields))} update"
        if self.operation == "MATCH":
            return f"{self.sobject} {'read by id' if self.by_id else 'match'}"
        return f"{self.sobject} {self.operation.lower().replace('_', ' ')}"


def _only(name: str) -> frozenset[str]:
    return frozenset({name})


# Lead and Contact: the fields a match may carry, and those a create must fill.
PEOPLE = {
    "Lead": (LEAD_FIELDS, frozenset({"LastName", "Company"})),
    "Contact": (CONTACT_FIELDS, frozenset({"LastName"})),
}
# Beyond the mapped fields, a create may set what Engage itself decides: a new
# Contact's Account (the linker finds or makes it from Account.Name).
CREATE_OWN = {"Lead": frozenset(), "Contact": _only("AccountId")}
# Carried to find the person (and a new Contact's Account), mapped or not.
FINDING = {"Lead": MATCH_KEY_FIELDS, "Contact": MATCH_KEY_FIELDS | {ACCOUNT_NAME}}

ALLOWED: tuple[Allowed, ...] = (
    Allowed("UPSERT", "Task", TASK_FIELDS, TASK_EXTERNAL_ID, _only(TASK_EXTERNAL_ID)),
    *(
        Allowed("CREATE", o, CREATE_OWN[o], required=r, mapped=True)
        for o, (_, r) in PEOPLE.items()
    ),
    Allowed("CREATE", "Account", ACCOUNT_FIELDS, required=_only("Name")),
    Allowed("UPDATE", "Lead", _only("Status"), required=_only("Status"), by_id=True),
    *(
        Allowed("UPDATE", o, _only(OPT_OUT), fixed={OPT_OUT: True}, by_id=True)
        for o in PEOPLE
    ),
    *(
        Allowed("MATCH", o, f, any_of=MATCH_KEYS, needs_contact=True)
        for o, (f, _) in PEOPLE.items()
    ),
    # Reading a known record into Engage's copy (after an email, call or Salesflow add).
    *(Allowed("MATCH", o, frozenset(), by_id=True, needs_contact=True) for o in PEOPLE),
    # Matched first, so it needs only something to match on; what a create then
    # writes is checked again as a CREATE of exactly that body (the linker).
    *(
        Allowed("MATCH_OR_CREATE", o, FINDING[o], needs_contact=True, mapped=True)
        for o in PEOPLE
    ),
)
# Without the org's describe: the guide's default mapping, every field createable.
_DEFAULT_PERSON = frozenset({"LastName", "FirstName", "Salutation", "Title", "Email"})
DEFAULT_CREATE_FIELDS = {
    "Lead": _DEFAULT_PERSON | {"Company", "Phone"},
    "Contact": _DEFAULT_PERSON | {"Phone"},
}


def mapped_create_fields(
    rows: Sequence[MappingRow], createable: frozenset[str]
) -> frozenset[str]:
    """The fields a create may write: mapped (not Do Not Read/Write) and createable.

    Args:
        rows: the object's mapping rows in force.
        createable: the object's fields describe reports `createable`.

    Returns:
        Those field names (a relationship path like `Account.Name` is never one).
    """
    return frozenset(r.salesforce.strip() for r in rows if r.salesforce) & createable


class PolicyRefusal(ValueError):
    """A command asks for a write Engage must never make."""


def _blank(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


def _is_id_of(value: object, sobject: str) -> bool:
    return (
        isinstance(value, str)
        and len(value) in (15, 18)
        and value.isascii()
        and value.isalnum()
        and value.startswith(ID_PREFIXES[sobject])
    )


def _problems(
    rule: Allowed, command: Mapping[str, Any], mapped: frozenset[str]
) -> Iterator[str]:
    """Why the command is not this allowed write (nothing when it is)."""
    fields: Mapping[str, Any] = command["fields"]
    allowed = rule.fields | mapped if rule.mapped else rule.fields
    key, record_id = command.get("external_id_field"), command.get("record_id")
    if key != rule.external_id_field:
        yield (
            f"must be keyed by {rule.external_id_field}, not {key}"
            if rule.external_id_field
            else f"takes no external_id_field, not {key}"
        )
    if rule.by_id and not _is_id_of(record_id, rule.sobject):
        prefix = ID_PREFIXES[rule.sobject]
        yield f"needs a {rule.sobject} id ({prefix}...) as record_id, not {record_id}"
    if not rule.by_id and record_id is not None:
        yield f"takes no record_id, not {record_id}"
    if rule.needs_contact and _blank(command.get("engage_contact_id")):
        yield "needs engage_contact_id"
    extra = sorted(set(fields) - allowed)
    if extra:
        yield f"may not write field(s) {', '.join(extra)}"
    missing = sorted(f for f in rule.required if _blank(fields.get(f)))
    if missing:
        yield f"needs {', '.join(missing)}"
    for name, value in rule.fixed.items():
        if name not in fields:
            yield f"needs {name} = {value}"
        elif fields[name] is not value:
            yield f"may only set {name} to {value}, not {fields[name]}"
    if rule.any_of and all(
        any(_blank(fields.get(f)) for f in group) for group in rule.any_of
    ):
        groups = " or ".join(" and ".join(sorted(g)) for g in rule.any_of)
        yield f"needs {groups} to match on"


def check(
    command: Mapping[str, Any],
    create_fields: Mapping[str, frozenset[str]] | None = None,
) -> Allowed:
    """The allowed write the command is; PolicyRefusal if it is none of them.

    Args:
        command: a decoded SalesforceCommand.
        create_fields: per object, the createable fields the mapping in force sends
            (`mapped_create_fields`); allowed on creates only, never on updates.
            None: the default mapping's fields.
    """
    operation, sobject = command["operation"], command["sobject"]
    rules = [r for r in ALLOWED if (r.operation, r.sobject) == (operation, sobject)]
    if not rules:
        raise PolicyRefusal(f"{operation} on {sobject} is not a write Engage may make")
    mapped = (
        DEFAULT_CREATE_FIELDS if create_fields is None else create_fields
    ).get(sobject, frozenset())
    # Of several allowed writes, explain the one the command comes closest to.
    rules.sort(key=lambda r: -len(r.fields & set(command["fields"])))
    problems = [list(_problems(rule, command, mapped)) for rule in rules]
    for rule, found in zip(rules, problems, strict=True):
        if not found:
            return rule
    raise PolicyRefusal(f"{operation} {sobject} {'; '.join(problems[0])}")
