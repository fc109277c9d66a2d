"""Read, check and write the CRM settings document (YAML or JSON, one per org).

`parse_document` turns the text into a `CrmSettings`, refusing an invalid document
with a `SettingsError` whose problems name the bad field by its path in the
document (`objects.Lead.rules.any[1].op: ...`). `check_against_describe` checks a
valid document against the org's Salesforce describe (fields exist, rule ops fit
field types, Lead status targets are active picklist values). `dump_document`
writes a document that `parse_document` reads back to an equal `CrmSettings`.
"""

from __future__ import annotations

import re
from types import UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from domain.crm_settings.models import CrmSettings, MappingRow
from domain.rules.models import Condition, Group

__all__ = [
    "SettingsError",
    "dump_document",
    "parse_document",
]

ROOT = "document"

# -- the error ---------------------------------------------------------------------


class SettingsError(ValueError):
    """An invalid settings document; `problems` holds one `"<path>: <why>"` each."""

    def __init__(self, problems: list[str], filename: str = "") -> None:
        self.problems = list(problems)
        self.filename = filename
        where = f" in {filename}" if filename else ""
        count = len(self.problems)
        header = f"invalid CRM settings document{where}: {count} problem"
        header += "" if count == 1 else "s"
        super().__init__("\n  ".join([header, *self.problems]))


# -- reading -------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys and keeps dates as plain strings.

    Dates stay `"2024-01-31"` (as JSON would give them), so rule values have the
    same type whichever syntax the admin used.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "a key must be text, not a list or mapping",
                key_node.start_mark,
            ) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' appears twice", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    why = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"{ROOT}: not valid YAML or JSON ({why})"
    return f"line {mark.line + 1}, column {mark.column + 1}: {why}"


def parse_document(text: str, filename: str = "") -> CrmSettings:
    """Parse and validate a settings document (YAML, or JSON which YAML reads too)."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise SettingsError([_yaml_problem(exc)], filename) from None
    if data is None:
        raise SettingsError(
            [f"{ROOT}: is empty; it needs at least 'objects'"], filename
        )
    if not isinstance(data, dict):
        raise SettingsError(
            [f"{ROOT}: must be a mapping with 'objects' (got {_kind(data)})"], filename
        )
    try:
        return CrmSettings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(validation_problems(exc, data), filename) from None


# -- pydantic errors -> document paths -------------------------------------------------


class _Tag(str):
    """A union-branch marker in a pydantic error location (not a document key)."""

    @property
    def label(self) -> str:
        match = re.fullmatch(r"function-\w+\[.*, (\w+)\]", self)
        return match[1] if match else str(self)


_BRANCH_MODELS: dict[str, type[BaseModel]] = {"Condition": Condition, "Group": Group}
_BRANCH_WORDS = frozenset({"bool", "str", "int", "float", "list", "dict", "none"})
_BRANCH_NAMES = {
    "Condition": "a condition {field, op, value}",
    "Group": "a rule group {all: [...]} or {any: [...]}",
    "bool": "true/false",
    "str": "text",
    "int": "a whole number",
}


def _looks_like_tag(seg: str) -> bool:
    return (
        seg.startswith("function-")
        or "[" in seg
        or seg in _BRANCH_WORDS
        or seg in ("Condition", "Group")
    )


def _split_loc(loc: tuple[Any, ...], data: Any) -> list[Any]:
    """Walk `loc` through the input, marking the segments that are union branches."""
    out: list[Any] = []
    for seg in loc:
        if seg == "[key]":  # the error is about the dict key just named
            continue
        if isinstance(data, dict) and seg in data:
            out.append(seg)
            data = data[seg]
        elif isinstance(seg, int) and isinstance(data, list) and 0 <= seg < len(data):
            out.append(seg)
            data = data[seg]
        elif isinstance(seg, str) and _looks_like_tag(seg):
            out.append(_Tag(seg))
        else:  # e.g. a required key that is missing
            out.append(seg)
            data = None
    return out


_Error = tuple[list[Any], dict[str, Any]]


def _is_type_error(err: dict[str, Any]) -> bool:
    kind = str(err["type"])
    return kind.endswith(("_type", "_parsing")) or kind == "model_attributes_type"


def _branch_score(errors: list[_Error], depth: int) -> tuple[int, int, int, int]:
    """Lower is the branch the admin more likely meant."""
    root_type = extra = missing = 0
    for segs, err in errors:
        rest = segs[depth + 1 :]
        if not rest and _is_type_error(err):
            root_type += 1
        if len(rest) == 1 and err["type"] == "extra_forbidden":
            extra += 1
        if len(rest) == 1 and err["type"] == "missing":
            missing += 1
    return (1 if root_type else 0, extra, missing, len(errors))


def _resolve_unions(errors: list[_Error]) -> list[_Error]:
    """Keep, at each union, only the errors of the branch the input was closest to."""
    plain: list[_Error] = []
    sites: dict[tuple[Any, ...], list[_Error]] = {}
    for segs, err in errors:
        first = next((i for i, s in enumerate(segs) if isinstance(s, _Tag)), None)
        if first is None:
            plain.append((segs, err))
        else:
            sites.setdefault(tuple(segs[:first]), []).append((segs, err))
    out = list(plain)
    for prefix, site_errors in sites.items():
        depth = len(prefix)
        branches: dict[str, list[_Error]] = {}
        for segs, err in site_errors:
            branches.setdefault(segs[depth], []).append((segs, err))
        scored = sorted(branches.items(), key=lambda kv: _branch_score(kv[1], depth))
        best_tag, best = scored[0]
        if _branch_score(best, depth)[0]:  # the value fits no branch at all
            names = [_BRANCH_NAMES.get(_Tag(t).label, "a mapping") for t in branches]
            got = _describe_input(site_errors[0][1].get("input"))
            why = f"must be {' or '.join(dict.fromkeys(names))} (got {got})"
            out.append((list(prefix), {"type": "_union", "msg": why}))
            continue
        label = _Tag(best_tag).label
        stripped = []
        for segs, err in best:
            rest = segs[depth + 1 :]
            err = {**err, "_branch": label} if len(rest) <= 1 else err
            if label == "Condition" and not rest and err["type"] == "value_error":
                rest = ["value"]  # the condition's own check is about its value
            stripped.append((segs[:depth] + rest, err))
        out.extend(_resolve_unions(stripped))
    return out


def _format_path(segs: list[Any]) -> str:
    text = ""
    for seg in segs:
        if isinstance(seg, int) and not isinstance(seg, bool):
            text += f"[{seg}]"
        elif re.fullmatch(r"[A-Za-z_][\w-]*", str(seg)):
            text += f".{seg}" if text else str(seg)
        else:
            text += f"[{str(seg)!r}]"
    return text or ROOT


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _describe_input(value: Any) -> str:
    if isinstance(value, dict | list):
        return _kind(value)
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return repr(value)


def _model_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _known_keys(parent: list[Any], branch: str | None) -> list[str]:
    """The keys allowed where `parent` points, when that is a settings model."""
    if branch in _BRANCH_MODELS:
        return _model_keys(_BRANCH_MODELS[branch])
    current: Any = CrmSettings
    for seg in parent:
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            if seg not in fields:
                return []
            current = fields[seg].annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return []
        models = [
            a
            for a in (get_args(current) or [current])
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if get_origin(current) in (Union, UnionType):
            if len(models) != 1:
                return []
            current = models[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return _model_keys(current)
    return []


def _why(segs: list[Any], err: dict[str, Any]) -> str:
    kind = err["type"]
    msg = str(err.get("msg", ""))
    given = err.get("input")
    if kind in ("value_error", "assertion_error"):
        why = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        scalar = not isinstance(given, dict | list)
        if scalar and why.startswith(("a ", "an ")):  # names what is expected
            return f"must be {why} (got {_describe_input(given)})"
        return why
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        return f"{_describe_input(given)} is not one of {', '.join(expected)}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        keys = _known_keys(segs[:-1], err.get("_branch"))
        return "is not a known key" + (f" (known: {', '.join(keys)})" if keys else "")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a mapping (got {_describe_input(given)})"
    if kind == "list_type":
        return f"must be a list (got {_describe_input(given)})"
    if kind == "string_too_short" and err.get("ctx", {}).get("min_length") == 1:
        return "must not be empty"
    if msg.startswith("Input should be "):
        why = "must be " + msg.removeprefix("Input should be ")
        return f"{why} (got {_describe_input(given)})"
    return msg[:1].lower() + msg[1:]


_EMBEDDED_PATH = re.compile(r"((?:objects|sync_settings|users)[\w.\[\]-]*): (.+)", re.S)


def validation_problems(exc: ValidationError, data: Any) -> list[str]:
    """One `"<path>: <why>"` line per real problem in a pydantic `ValidationError`."""
    raw = [(_split_loc(tuple(err["loc"]), data), dict(err)) for err in exc.errors()]
    problems: list[str] = []
    for segs, err in _resolve_unions(raw):
        why = _why(segs, err)
        if not segs and (embedded := _EMBEDDED_PATH.fullmatch(why)):
            problems.append(f"{embedded[1]}: {embedded[2]}")  # a model-level check
        else:
            problems.append(f"{_format_path(segs)}: {why}")
    return list(dict.fromkeys(problems))


# -- checking against Salesforce describe ---------------------------------------------


def _duration(seconds: int) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _rules_data(group: Group) -> dict[str, Any]:
    children: list[Any] = []
    for child in group.children:
        if isinstance(child, Group):
            children.append(_rules_data(child))
        else:
            cond: dict[str, Any] = {"field": child.field, "op": child.op}
            if child.value is not None:
                cond["value"] = child.value
            children.append(cond)
    return {group.combinator: children}


def _mapping_row(row: MappingRow) -> dict[str, Any]:
    out: dict[str, Any] = {"engage": row.engage, "salesforce": row.salesforce}
    out["direction"] = row.direction
    if row.default is not None:
        out["default"] = row.default
    return out


def document_data(settings: CrmSettings) -> dict[str, Any]:
    """The document as plain data, in the form an admin would write it."""
    objects: dict[str, Any] = {}
    for name, obj in settings.objects.items():
        entry: dict[str, Any] = {
            "sync": obj.sync,
            "poll_interval": _duration(obj.poll_interval),
        }
        if obj.rules is not None:
            entry["rules"] = _rules_data(obj.rules)
        entry["mapping"] = [_mapping_row(row) for row in obj.mapping]
        if obj.status_values is not None:
            entry["status_values"] = dict(obj.status_values)
        objects[name] = entry
    return {
        "objects": objects,
        "sync_settings": settings.sync_settings.model_dump(mode="json"),
        "users": dict(settings.users),
    }


def dump_document(settings: CrmSettings) -> str:
    """YAML that `parse_document` reads back to an equal `CrmSettings`."""
    return yaml.safe_dump(
        document_data(settings), sort_keys=False, allow_unicode=True, width=88
    )
