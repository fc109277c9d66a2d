"""Checks CRM settings against the org's describe: fields, rule types, statuses."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from domain.crm_settings.document import _describe_input, _format_path
from domain.crm_settings.models import CrmSettings, MappingRow, ObjectName
from domain.rules.models import LIST_OPS, UNARY_OPS, Condition, Group

TEXT_TYPES = frozenset(
    {
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "encryptedstring",
    }
)
NUMBER_TYPES = frozenset({"number", "currency", "double", "int", "long", "percent"})
ORDERED_TYPES = NUMBER_TYPES | {"date", "datetime"}
TEXT_OPS = frozenset({"contains", "does_not_contain", "starts_with"})
ORDER_OPS = frozenset(
    {"greater_than", "less_than", "greater_or_equal", "less_or_equal"}
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")


def field_types(describe: Mapping[str, Any]) -> dict[str, str]:
    """Field name -> describe type (`string`, `currency`, `picklist`, ...)."""
    return {str(f["name"]): str(f.get("type", "")) for f in describe.get("fields", [])}


def _fields(describe: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(f["name"]): f for f in describe.get("fields", [])}


class _Resolved:
    """A field path resolved against describes: its type, or why it can't be."""

    def __init__(self, type_: str | None = None, problem: str | None = None) -> None:
        self.type = type_  # None when it could not be checked (no describe given)
        self.problem = problem


def _resolve_field(
    name: str, obj: str, describes: Mapping[str, Mapping[str, Any]]
) -> _Resolved:
    """Find `Title` or `Account.Name` starting from `obj`; unknown describes pass."""
    describe = describes.get(obj)
    if describe is None:
        return _Resolved()
    fields = _fields(describe)
    head, dot, rest = name.partition(".")
    if not dot:
        if name in fields:
            return _Resolved(str(fields[name].get("type", "")))
        hint = next((f for f in fields if f.lower() == name.lower()), None)
        suffix = f" (did you mean '{hint}'?)" if hint else ""
        return _Resolved(problem=f"no field '{name}' on {obj}{suffix}")
    ref = next((f for f in fields.values() if f.get("relationshipName") == head), None)
    if ref is None:
        return _Resolved(problem=f"no relationship '{head}' on {obj} (in '{name}')")
    targets = [str(t) for t in ref.get("referenceTo") or []]
    known = [t for t in targets if t in describes]
    if not known:
        return _Resolved()  # the related object's describe wasn't given: accept
    found = [_resolve_field(rest, t, describes) for t in known]
    for hit in found:
        if hit.problem is None:
            return hit
    where = " or ".join(known)
    return _Resolved(problem=f"no field '{rest}' on {where} (in '{name}')")


def _walk_rules(group: Group, path: str) -> Iterator[tuple[str, Condition]]:
    for i, child in enumerate(group.children):
        child_path = f"{path}.{group.combinator}[{i}]"
        if isinstance(child, Group):
            yield from _walk_rules(child, child_path)
        else:
            yield child_path, child


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return math.isfinite(value)
    if isinstance(value, str):
        try:
            return math.isfinite(float(value))
        except ValueError:
            return False
    return False


def _is_date(value: Any) -> bool:
    if isinstance(value, date) and not isinstance(value, datetime):
        return True
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: Any) -> bool:
    if isinstance(value, datetime):
        return True
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _value_problem(value: Any, type_: str) -> str | None:
    """Why `value` can't be compared with a field of describe type `type_`, or None."""
    shown = _describe_input(value)
    if type_ in NUMBER_TYPES:
        return None if _is_number(value) else f"{shown} is not a number ({type_} field)"
    if type_ == "date":
        return None if _is_date(value) else f"{shown} is not a date like 2024-01-31"
    if type_ == "datetime":
        ok = _is_datetime(value)
        return None if ok else f"{shown} is not a datetime like 2024-01-31T09:00:00Z"
    if type_ == "boolean":
        return None if isinstance(value, bool) else f"{shown} is not true or false"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return f"{shown} is not text ({type_ or 'text'} field)"
    return None


def _condition_problems(
    cond: Condition, path: str, obj: str, describes: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    hit = _resolve_field(cond.field, obj, describes)
    if hit.problem:
        return [f"{path}.field: {hit.problem}"]
    type_ = hit.type
    if type_ is None or cond.op in UNARY_OPS:
        return []
    where = f"'{cond.field}' is a {type_} field"
    if cond.op in TEXT_OPS and type_ not in TEXT_TYPES:
        return [f"{path}.op: '{cond.op}' works on text fields only; {where}"]
    if cond.op in ORDER_OPS and type_ not in ORDERED_TYPES:
        return [
            f"{path}.op: '{cond.op}' works on number, date and datetime fields only;"
            f" {where}"
        ]
    if cond.op in LIST_OPS:
        values = cond.value if isinstance(cond.value, list) else [cond.value]
        return [
            f"{path}.value[{i}]: {why}"
            for i, v in enumerate(values)
            if (why := _value_problem(v, type_))
        ]
    why = _value_problem(cond.value, type_)
    return [f"{path}.value: {why}"] if why else []


def _mapping_problems(
    settings: CrmSettings, obj: ObjectName, describes: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    own = settings.objects[obj].mapping
    rows: list[MappingRow] = settings.mapping(obj)
    problems = []
    for i, row in enumerate(rows):
        if row.salesforce is None:
            continue
        hit = _resolve_field(row.salesforce, obj, describes)
        if not hit.problem:
            continue
        if own:
            problems.append(f"objects.{obj}.mapping[{i}].salesforce: {hit.problem}")
        else:
            problems.append(
                f"objects.{obj}.mapping: the default mapping reads {hit.problem}"
                f" (for Engage field '{row.engage}'); give a mapping"
            )
    return problems


def _status_problems(
    settings: CrmSettings, obj: ObjectName, describes: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    targets = settings.objects[obj].status_values
    lead = describes.get("Lead")
    if not targets or lead is None:
        return []
    status = _fields(lead).get("Status")
    path = f"objects.{obj}.status_values"
    if status is None:
        return [f"{path}: Lead has no Status field"]
    values = status.get("picklistValues") or []
    active = [str(v["value"]) for v in values if v.get("active", True)]
    inactive = {str(v["value"]) for v in values if not v.get("active", True)}
    problems = []
    for key, target in targets.items():
        if target in active:
            continue
        state = "an inactive" if target in inactive else "not a"
        problems.append(
            f"{_format_path([*path.split('.'), key])}: '{target}' is {state} value of"
            f" Lead.Status (active: {', '.join(active)})"
        )
    return problems


CREATED_BY = {"create_lead": "Lead", "create_contact": "Contact"}


def required_on_create(describe: Mapping[str, Any]) -> list[str]:
    """Fields a create must fill: not nillable, createable, no default on create."""
    return [
        str(f["name"])
        for f in describe.get("fields", [])
        if f.get("createable") and not f.get("nillable", True)
        and not f.get("defaultedOnCreate")
    ]


def _create_problems(
    settings: CrmSettings, describes: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """The pre-flight of a create setting: every required field gets a value.

    A mapped field is taken as filled (Engage sends its value, else the row's
    default); a contact that lacks the value is refused by Salesforce and reported.
    """
    choice = settings.sync_settings.engage_created_contacts
    obj = CREATED_BY.get(choice)
    describe = describes.get(obj) if obj else None
    if obj is None or describe is None:
        return []
    filled = {
        r.salesforce.strip() for r in settings.mapping(obj)  # type: ignore[arg-type]
        if r.salesforce is not None
    }
    return [
        f"sync_settings.engage_created_contacts: {choice} needs {obj} field "
        f"'{name}' (required on create): map an Engage field to it or give it a "
        f"default in objects.{obj}.mapping"
        for name in required_on_create(describe)
        if name not in filled
    ]


def check_against_describe(
    settings: CrmSettings, describes: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Problems (`"<path>: <why>"`) of a valid document against the org's describes.

    `describes` maps object name -> Salesforce describe JSON. Objects whose describe
    is not given are not checked; nor are relationship paths (`Account.Name`) whose
    related object's describe is not given.
    """
    problems: list[str] = []
    for obj, obj_settings in settings.objects.items():
        if obj not in describes:
            continue
        problems += _mapping_problems(settings, obj, describes)
        if obj_settings.rules is not None:
            rules_path = f"objects.{obj}.rules"
            for path, cond in _walk_rules(obj_settings.rules, rules_path):
                problems += _condition_problems(cond, path, obj, describes)
        problems += _status_problems(settings, obj, describes)
    return problems + _create_problems(settings, describes)


# -- writing ---------------------------------------------------------------------------
