"""Validation and duplicate rule definitions and evaluation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sandbox.errors import ApiError
from sandbox.rules import RuleError, RuleSet, violated

PHONE_RULE = {
    "object": "Lead",
    "name": "Phone_10_Digits",
    "condition": {"kind": "min_digits", "field": "Phone", "digits": 10},
    "message": "Phone must have at least 10 digits",
    "error_field": "Phone",
}


@pytest.mark.parametrize(
    ("cond", "record", "broken"),
    [
        ({"kind": "required", "field": "Title"}, {"Title": None}, True),
        ({"kind": "required", "field": "Title"}, {"Title": "  "}, True),
        ({"kind": "required", "field": "Title"}, {"Title": "CEO"}, False),
        (
            {"kind": "min_digits", "field": "Phone", "digits": 10},
            {"Phone": None},
            False,
        ),
        (
            {"kind": "min_digits", "field": "Phone", "digits": 10},
            {"Phone": "(415) 555-012"},
            True,
        ),
        (
            {"kind": "min_digits", "field": "Phone", "digits": 10},
            {"Phone": "+1 (415) 555-0123"},
            False,
        ),
        (
            {"kind": "regex", "field": "Email", "pattern": r".+@corp\.com"},
            {"Email": "a@corp.com"},
            False,
        ),
        (
            {"kind": "regex", "field": "Email", "pattern": r".+@corp\.com"},
            {"Email": "a@corp.com.evil"},
            True,
        ),
        (
            {"kind": "max_length", "field": "Title", "length": 3},
            {"Title": "abcd"},
            True,
        ),
        (
            {"kind": "equals", "field": "Status", "value": "bad"},
            {"Status": "BAD"},
            True,
        ),
        (
            {
                "kind": "any",
                "conditions": [
                    {"kind": "required", "field": "A"},
                    {"kind": "required", "field": "B"},
                ],
            },
            {"A": "x"},
            True,
        ),
        (
            {
                "kind": "all",
                "conditions": [
                    {"kind": "required", "field": "A"},
                    {"kind": "required", "field": "B"},
                ],
            },
            {"A": "x"},
            False,
        ),
    ],
)
def test_conditions(
    cond: dict[str, object], record: dict[str, object], broken: bool
) -> None:
    assert violated(cond, record) is broken


def test_validation_rule_error_body() -> None:
    rules = RuleSet.from_json({"validation_rules": [PHONE_RULE]})
    with pytest.raises(ApiError) as info:
        rules.validate("lead", {"Phone": "555-1234"}, creating=True)
    assert info.value.body() == [
        {
            "message": "Phone must have at least 10 digits",
            "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "fields": ["Phone"],
        }
    ]
    assert info.value.item() == {
        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "message": "Phone must have at least 10 digits",
        "fields": ["Phone"],
    }
    rules.validate("Contact", {"Phone": "555"}, creating=True)  # other object
    rules.validate("Lead", {"Phone": "4155550123"}, creating=True)


def test_inactive_and_create_only_rules() -> None:
    rules = RuleSet.from_json(
        {
            "validation_rules": [
                {**PHONE_RULE, "active": False},
                {**PHONE_RULE, "name": "x", "on_update": False},
            ]
        }
    )
    rules.validate("Lead", {"Phone": "1"}, creating=False)
    with pytest.raises(ApiError):
        rules.validate("Lead", {"Phone": "1"}, creating=True)


def test_rules_json_round_trip() -> None:
    data = {
        "validation_rules": [PHONE_RULE],
        "duplicate_rules": [
            {"object": "Lead", "name": "Lead_Email", "action": "alert"}
        ],
    }
    rules = RuleSet.from_json(data)
    again = RuleSet.from_json(rules.to_json())
    assert again.to_json() == rules.to_json()
    assert rules.to_json()["duplicate_rules"][0]["match_objects"] == ["Lead", "Contact"]


@pytest.mark.parametrize(
    "bad",
    [
        {
            "validation_rules": [
                {
                    "object": "Lead",
                    "name": "x",
                    "message": "m",
                    "condition": {"kind": "nope", "field": "A"},
                }
            ]
        },
        {
            "validation_rules": [
                {
                    "object": "Lead",
                    "name": "x",
                    "message": "m",
                    "condition": {"kind": "regex", "field": "A", "pattern": "("},
                }
            ]
        },
        {
            "validation_rules": [
                {
                    "object": "Lead",
                    "name": "x",
                    "condition": {"kind": "required", "field": "A"},
                }
            ]
        },
        {"duplicate_rules": [{"object": "Lead", "name": "x", "action": "shout"}]},
    ],
)
def test_bad_rule_definitions_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(RuleError):
        RuleSet.from_json(bad)


def _finder(
    existing: dict[tuple[str, str], list[str]],
) -> Callable[[str, str, object], list[str]]:
    def find(obj: str, field: str, value: object) -> list[str]:
        return existing.get((obj, str(value).strip().lower()), [])

    return find


def test_duplicate_block_body_lists_matches_per_entity() -> None:
    rules = RuleSet.from_json(
        {
            "duplicate_rules": [
                {"object": "Lead", "name": "Lead_Email_Block", "action": "block"}
            ]
        }
    )
    find = _finder({("Contact", "a@b.com"): ["003A"], ("Lead", "a@b.com"): ["00QA"]})
    with pytest.raises(ApiError) as info:
        rules.check_duplicates("Lead", {"Email": " A@B.com "}, True, True, find, "59.0")
    body = info.value.body()[0]
    assert body["errorCode"] == "DUPLICATES_DETECTED"
    assert body["message"] == (
        "You're creating a duplicate record. We recommend you "
        "use an existing record instead."
    )
    result = body["duplicateResult"]
    assert result["allowSave"] is False
    assert result["duplicateRule"] == "Lead_Email_Block"
    assert [m["entityType"] for m in result["matchResults"]] == ["Lead", "Contact"]
    contact_match = result["matchResults"][1]
    assert contact_match["matchRecords"][0]["record"] == {
        "attributes": {
            "type": "Contact",
            "url": "/services/data/v59.0/sobjects/Contact/003A",
        },
        "Id": "003A",
    }
    assert info.value.item() == {
        "statusCode": "DUPLICATES_DETECTED",
        "message": "Use one of these records?",
        "fields": [],
    }


def test_duplicate_alert_honours_allow_save_and_ignores_self() -> None:
    rules = RuleSet.from_json(
        {"duplicate_rules": [{"object": "Lead", "name": "Alert", "action": "alert"}]}
    )
    find = _finder({("Lead", "a@b.com"): ["00QA"]})
    rules.check_duplicates("Lead", {"Email": "a@b.com"}, True, True, find, "59.0")
    rules.check_duplicates(
        "Lead", {"Id": "00QA", "Email": "a@b.com"}, False, False, find, "59.0"
    )
    with pytest.raises(ApiError) as info:
        rules.check_duplicates("Lead", {"Email": "a@b.com"}, True, False, find, "59.0")
    assert info.value.body()[0]["duplicateResult"]["allowSave"] is True
