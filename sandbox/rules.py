"""Validation and duplicate rules: plain-JSON definitions and their evaluation."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.errors import ApiError, record_error

DEFAULT_DUPLICATE_MESSAGE = (
    "You're creating a duplicate record. We recommend you use an existing record "
    "instead."
)
COLLECTION_DUPLICATE_MESSAGE = "Use one of these records?"
# How a duplicate rule compares values: trimmed and case-insensitive, or as company
# names (Salesforce's standard Account rule matches names without legal suffixes).
MATCH_METHODS = ("exact", "company_name")
LEGAL_SUFFIXES = frozenset(
    {"inc", "incorporated", "corp", "corporation", "co", "company", "llc", "ltd",
     "limited", "plc", "gmbh", "ag", "sa", "bv"}
)
CONDITION_KINDS = frozenset(
    {"required", "min_digits", "regex", "max_length", "equals", "any", "all"}
)


class RuleError(ValueError):
    """A rule definition that cannot be used."""


def company_key(value: Any) -> str:
    """`The Initech, Inc.` -> `initech`: the name without case, punctuation,
    a leading "the" or trailing legal suffixes (exact match of that, not fuzzy)."""
    text = str(value or "").lower().replace("&", " and ")
    words = re.sub(r"[^\w\s]", " ", text).split()
    if words[:1] == ["the"]:
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_condition(cond: dict[str, Any]) -> None:
    kind = cond.get("kind")
    if kind not in CONDITION_KINDS:
        raise RuleError(f"unknown condition kind: {kind!r}")
    if kind in ("any", "all"):
        subs = cond.get("conditions")
        if not isinstance(subs, list) or not subs:
            raise RuleError(f"'{kind}' needs a non-empty 'conditions' list")
        for sub in subs:
            check_condition(sub)
        return
    if not isinstance(cond.get("field"), str):
        raise RuleError(f"condition {kind!r} needs a 'field'")
    if kind == "regex":
        try:
            re.compile(cond.get("pattern", ""))
        except re.error as exc:
            raise RuleError(f"bad regex: {exc}") from exc
    if kind in ("min_digits", "max_length"):
        key = "digits" if kind == "min_digits" else "length"
        if not isinstance(cond.get(key), int):
            raise RuleError(f"condition {kind!r} needs an integer '{key}'")


def violated(cond: dict[str, Any], record: dict[str, Any]) -> bool:
    """True when the record breaks the condition (i.e. the save must fail)."""
    kind = cond["kind"]
    if kind == "any":
        return any(violated(c, record) for c in cond["conditions"])
    if kind == "all":
        return all(violated(c, record) for c in cond["conditions"])
    value = record.get(cond["field"])
    if kind == "required":
        return _blank(value)
    if _blank(value):
        # Like "ISBLANK(x) || ..." guards in real formulas: unset fields pass.
        return False
    text = str(value)
    if kind == "min_digits":
        return sum(ch.isdigit() for ch in text) < cond["digits"]
    if kind == "max_length":
        return len(text) > cond["length"]
    if kind == "regex":
        return re.fullmatch(cond["pattern"], text) is None
    expected = cond.get("value")
    if isinstance(expected, str):
        return text.lower() == expected.lower()
    return bool(value == expected)


@dataclass(frozen=True)
class ValidationRule:
    object: str
    name: str
    condition: dict[str, Any]
    message: str
    error_field: str | None = None
    active: bool = True
    on_create: bool = True
    on_update: bool = True

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ValidationRule:
        for key in ("object", "name", "condition", "message"):
            if key not in data:
                raise RuleError(f"validation rule needs '{key}'")
        check_condition(data["condition"])
        return cls(
            data["object"],
            data["name"],
            data["condition"],
            data["message"],
            data.get("error_field"),
            bool(data.get("active", True)),
            bool(data.get("on_create", True)),
            bool(data.get("on_update", True)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "name": self.name,
            "condition": self.condition,
            "message": self.message,
            "error_field": self.error_field,
            "active": self.active,
            "on_create": self.on_create,
            "on_update": self.on_update,
        }


@dataclass(frozen=True)
class DuplicateRule:
    object: str
    name: str
    action: str  # "block" or "alert"
    match_objects: tuple[str, ...] = ("Lead", "Contact")
    match_field: str = "Email"
    active: bool = True
    on_create: bool = True
    on_update: bool = True
    message: str = DEFAULT_DUPLICATE_MESSAGE
    match_method: str = "exact"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DuplicateRule:
        for key in ("object", "name"):
            if key not in data:
                raise RuleError(f"duplicate rule needs '{key}'")
        action = str(data.get("action", "block")).lower()
        if action not in ("block", "alert"):
            raise RuleError("duplicate rule action must be 'block' or 'alert'")
        method = str(data.get("match_method", "exact"))
        if method not in MATCH_METHODS:
            raise RuleError(f"duplicate rule match_method: one of {MATCH_METHODS}")
        return cls(
            data["object"],
            data["name"],
            action,
            tuple(data.get("match_objects", ("Lead", "Contact"))),
            data.get("match_field", "Email"),
            bool(data.get("active", True)),
            bool(data.get("on_create", True)),
            bool(data.get("on_update", True)),
            data.get("message", DEFAULT_DUPLICATE_MESSAGE),
            method,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "name": self.name,
            "action": self.action,
            "match_objects": list(self.match_objects),
            "match_field": self.match_field,
            "active": self.active,
            "on_create": self.on_create,
            "on_update": self.on_update,
            "message": self.message,
            "match_method": self.match_method,
        }


def duplicate_error(
    rule_name: str,
    entity: str,
    matches: dict[str, list[str]],
    allow_save: bool,
    message: str,
    version: str,
) -> ApiError:
    """DUPLICATES_DETECTED with the duplicateResult body of a single-record call."""
    results = []
    base = f"/services/data/v{version}/sobjects"
    for match_type, match_ids in matches.items():
        results.append(
            {
                "entityType": match_type,
                "errors": [],
                "matchEngine": "FuzzyMatchEngine",
                "matchRecords": [
                    {
                        "additionalInformation": [],
                        "fieldDiffs": [],
                        "matchConfidence": 100.0,
                        "record": {
                            "attributes": {
                                "type": match_type,
                                "url": f"{base}/{match_type}/{rid}",
                            },
                            "Id": rid,
                        },
                    }
                    for rid in match_ids
                ],
                "rule": f"Standard_{match_type}_Match_Rule_v1_1",
                "size": len(match_ids),
                "success": True,
            }
        )
    extra = {
        "duplicateResult": {
            "allowSave": allow_save,
            "duplicateRule": rule_name,
            "duplicateRuleEntityType": entity,
            "errorMessage": message,
            "matchResults": results,
        }
    }
    return ApiError(
        400,
        "DUPLICATES_DETECTED",
        message,
        extra=extra,
        item_message=COLLECTION_DUPLICATE_MESSAGE,
    )


class RuleSet:
    """The org's active rules; JSON in, JSON out (see module docs in the report)."""

    def __init__(
        self,
        validation: list[ValidationRule] | None = None,
        duplicate: list[DuplicateRule] | None = None,
    ) -> None:
        self.validation = validation or []
        self.duplicate = duplicate or []

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RuleSet:
        data = data or {}
        return cls(
            [ValidationRule.from_json(r) for r in data.get("validation_rules", [])],
            [DuplicateRule.from_json(r) for r in data.get("duplicate_rules", [])],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "validation_rules": [r.to_json() for r in self.validation],
            "duplicate_rules": [r.to_json() for r in self.duplicate],
        }

    def validate(self, sobject: str, record: dict[str, Any], creating: bool) -> None:
        """Raise FIELD_CUSTOM_VALIDATION_EXCEPTION for the first broken rule."""
        for rule in self.validation:
            if not rule.active or rule.object.lower() != sobject.lower():
                continue
            if not (rule.on_create if creating else rule.on_update):
                continue
            if violated(rule.condition, record):
                fields = [rule.error_field] if rule.error_field else []
                raise record_error(
                    "FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message, fields
                )

    def check_duplicates(
        self,
        sobject: str,
        record: dict[str, Any],
        creating: bool,
        allow_save: bool,
        find: Callable[[str, str, Any], list[str]],
        version: str,
        scan: Callable[[str], list[dict[str, Any]]] | None = None,
    ) -> None:
        """Raise DUPLICATES_DETECTED when a rule matches other live records.

        find(object, field, value) returns ids of live (not deleted) matches;
        scan(object) the live records, for rules that compare company names.
        """
        for rule in self.duplicate:
            if not rule.active or rule.object.lower() != sobject.lower():
                continue
            if not (rule.on_create if creating else rule.on_update):
                continue
            if rule.action == "alert" and allow_save:
                continue
            value = record.get(rule.match_field)
            if _blank(value):
                continue
            matches: dict[str, list[str]] = {}
            for other in rule.match_objects:
                if rule.match_method == "company_name" and scan is not None:
                    key = company_key(value)
                    found = [
                        str(r["Id"])
                        for r in scan(other)
                        if company_key(r.get(rule.match_field)) == key
                    ]
                else:
                    found = find(other, rule.match_field, value)
                hits = [h for h in found if h != record.get("Id")]
                if hits:
                    matches[other] = hits
            if matches:
                raise duplicate_error(
                    rule.name,
                    sobject,
                    matches,
                    rule.action == "alert",
                    rule.message,
                    version,
                )
