"""In-stream sync-rule evaluation: every op on every field type, SOQL nulls and case."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.rules.evaluate import RuleTypeError, matches, predicate
from domain.rules.models import Condition, Group
from sandbox import ids

TYPES = {
    "Title": "string",
    "Email": "email",
    "Industry": "picklist",
    "Phone": "phone",
    "Website": "url",
    "Street": "textarea",
    "AnnualRevenue": "currency",
    "NumberOfEmployees": "int",
    "Probability": "percent",
    "Score__c": "double",
    "IsConverted": "boolean",
    "ConvertedDate": "date",
    "CreatedDate": "datetime",
    "OwnerId": "reference",
    "Id": "id",
    "Account.Name": "string",
    "Tags__c": "multipicklist",
}
OWNER = ids.make_id("005", 42)


def rule(field: str, op: str, value: Any = None) -> Group:
    return Group(all=[Condition(field=field, op=op, value=value)])


def hit(field: str, op: str, value: Any, record_value: Any) -> bool:
    return matches(rule(field, op, value), {field: record_value}, TYPES)


def test_no_rules_match_every_record() -> None:
    assert matches(None, {}, TYPES)
    assert matches(None, {"Title": None}, TYPES)


# -- text ---------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["Title", "Email", "Industry", "Phone", "Website"])
def test_text_equals_ignores_case_on_every_text_type(field: str) -> None:
    assert hit(field, "equals", "Sales@X.com", "sales@x.COM")
    assert not hit(field, "equals", "Sales@X.com", "sales@x.co")


@pytest.mark.parametrize(
    ("op", "value", "record", "expected"),
    [
        ("equals", "VP Sales", "vp sales", True),
        ("equals", "VP Sales", None, False),
        ("equals", "VP Sales", "VP Sales ", False),
        ("not_equals", "VP Sales", "vp SALES", False),
        ("not_equals", "VP Sales", "CEO", True),
        ("not_equals", "VP Sales", None, True),
        ("contains", "sales", "Head of SALES EMEA", True),
        ("contains", "sales", "Marketing", False),
        ("contains", "sales", None, False),
        ("does_not_contain", "sales", "Head of Sales", False),
        ("does_not_contain", "sales", "Marketing", True),
        ("does_not_contain", "sales", None, True),
        ("starts_with", "vp", "VP Sales", True),
        ("starts_with", "vp", "SVP", False),
        ("starts_with", "vp", None, False),
        ("in", ["CEO", "CTO"], "cto", True),
        ("in", ["CEO", "CTO"], "CFO", False),
        ("in", ["CEO", "CTO"], None, False),
        ("not_in", ["CEO", "CTO"], "ceo", False),
        ("not_in", ["CEO", "CTO"], "CFO", True),
        ("not_in", ["CEO", "CTO"], None, True),
        ("is_empty", None, None, True),
        ("is_empty", None, "x", False),
        ("is_not_empty", None, None, False),
        ("is_not_empty", None, "x", True),
    ],
)
def test_text_ops_follow_soql(op: str, value: Any, record: Any, expected: bool) -> None:
    assert hit("Title", op, value, record) is expected


def test_empty_text_in_a_record_is_null_as_salesforce_stores_it() -> None:
    assert hit("Title", "is_empty", None, "")
    assert not hit("Title", "is_not_empty", None, "")
    assert hit("Title", "not_equals", "x", "")
    assert not hit("Title", "contains", "", "")


def test_whitespace_is_not_empty() -> None:
    assert hit("Title", "is_not_empty", None, " ")
    assert hit("Title", "equals", " ", " ")


def test_empty_text_value_means_null_like_a_soql_empty_literal() -> None:
    assert hit("Title", "equals", "", None)
    assert not hit("Title", "equals", "", "x")
    assert hit("Title", "not_equals", "", "x")
    assert not hit("Title", "not_equals", "", None)
    assert hit("Title", "in", ["a", ""], None)
    assert not hit("Title", "not_in", ["a", ""], None)


def test_contains_empty_text_matches_any_non_null_value() -> None:
    assert hit("Title", "contains", "", "x")
    assert not hit("Title", "contains", "", None)
    assert hit("Title", "starts_with", "", "x")
    assert hit("Title", "does_not_contain", "", None)


@pytest.mark.parametrize("wildcard", ["%", "_"])
def test_like_wildcards_in_rule_text_are_literal(wildcard: str) -> None:
    assert hit("Title", "contains", f"100{wildcard}", f"a 100{wildcard} b")
    assert not hit("Title", "contains", f"100{wildcard}", "a 1000 b")
    assert not hit("Title", "starts_with", wildcard, "abc")
    assert hit("Title", "starts_with", wildcard, f"{wildcard}abc")


@pytest.mark.parametrize(
    "text", ["it's", "C:\\Path", "line\nbreak", "tab\there", "Ünïcødé 東京 🚀", "\\'"]
)
def test_special_characters_compare_literally(text: str) -> None:
    record = f"<{text.upper()}>"
    assert hit("Title", "contains", text, record)
    assert hit("Title", "equals", text, text.upper())
    assert hit("Title", "starts_with", "<" + text, record)


def test_unicode_compares_case_insensitively() -> None:
    assert hit("Title", "equals", "ÉCOLE", "école")
    assert hit("Title", "contains", "STRASSE", "Hauptstrasse")


def test_numbers_in_a_text_rule_compare_as_text() -> None:
    assert hit("Title", "equals", 12345, "12345")
    assert hit("Title", "in", [1, 2], "2")


def test_textarea_supports_text_ops() -> None:
    assert hit("Street", "contains", "main", "1 Main St")


# -- numbers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field", ["AnnualRevenue", "NumberOfEmployees", "Probability", "Score__c"]
)
@pytest.mark.parametrize(
    ("op", "value", "record", "expected"),
    [
        ("equals", 100, 100.0, True),
        ("equals", "100", 100, True),
        ("equals", 100, None, False),
        ("not_equals", 100, 99, True),
        ("not_equals", 100, None, True),
        ("greater_than", 100, 101, True),
        ("greater_than", 100, 100, False),
        ("greater_than", 100, None, False),
        ("less_than", 100, 99.5, True),
        ("less_than", 100, None, False),
        ("greater_or_equal", 100, 100, True),
        ("greater_or_equal", -1.5, -2, False),
        ("less_or_equal", "1e2", 100, True),
        ("less_or_equal", 100, None, False),
        ("in", [1, 2.5], 2.5, True),
        ("in", [1, 2.5], None, False),
        ("not_in", [1, 2.5], 3, True),
        ("not_in", [1, 2.5], None, True),
        ("is_empty", None, None, True),
        ("is_empty", None, 0, False),
        ("is_not_empty", None, 0, True),
    ],
)
def test_number_ops_follow_soql(
    field: str, op: str, value: Any, record: Any, expected: bool
) -> None:
    assert hit(field, op, value, record) is expected


def test_zero_is_not_null() -> None:
    assert hit("AnnualRevenue", "equals", 0, 0)
    assert hit("AnnualRevenue", "less_than", 1, 0.0)


# -- booleans -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "value", "record", "expected"),
    [
        ("equals", True, True, True),
        ("equals", True, False, False),
        ("equals", "TRUE", True, True),
        ("equals", "false", False, True),
        ("equals", False, None, True),
        ("not_equals", True, False, True),
        ("not_equals", False, None, False),
        ("is_empty", None, None, False),
        ("is_empty", None, False, False),
        ("is_not_empty", None, False, True),
    ],
)
def test_boolean_ops_treat_null_as_false(
    op: str, value: Any, record: Any, expected: bool
) -> None:
    assert hit("IsConverted", op, value, record) is expected


# -- dates --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "value", "record", "expected"),
    [
        ("equals", "2024-05-01", "2024-05-01", True),
        ("equals", date(2024, 5, 1), "2024-05-01", True),
        ("equals", "2024-05-01", None, False),
        ("not_equals", "2024-05-01", None, True),
        ("greater_than", "2024-05-01", "2024-05-02", True),
        ("greater_than", "2024-05-01", "2024-05-01", False),
        ("greater_than", "2024-05-01", None, False),
        ("less_than", "2024-05-01", "2023-12-31", True),
        ("greater_or_equal", "2024-05-01", "2024-05-01", True),
        ("less_or_equal", "2024-05-01", "2024-05-02", False),
        ("in", ["2024-05-01", "2024-06-01"], "2024-06-01", True),
        ("not_in", ["2024-05-01"], None, True),
        ("is_empty", None, None, True),
        ("is_not_empty", None, "2024-05-01", True),
    ],
)
def test_date_ops_follow_soql(op: str, value: Any, record: Any, expected: bool) -> None:
    assert hit("ConvertedDate", op, value, record) is expected


# -- datetimes ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "value", "record", "expected"),
    [
        ("equals", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.000+0000", True),
        ("equals", "2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00.000+0000", True),
        ("equals", "2024-05-01T12:00:00", "2024-05-01T12:00:00.000+0000", True),
        ("equals", "2024-05-01T12:00:00.0009Z", "2024-05-01T12:00:00.000+0000", True),
        ("equals", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.001+0000", False),
        ("equals", "2024-05-01T12:00:00Z", None, False),
        ("not_equals", "2024-05-01T12:00:00Z", None, True),
        ("greater_than", "2024-05-01", "2024-05-01T00:00:00.001+0000", True),
        ("greater_than", "2024-05-01", "2024-05-01T00:00:00.000+0000", False),
        ("greater_than", "2024-05-01T00:00:00Z", None, False),
        ("less_than", "2024-05-01T00:00:00Z", "2024-04-30T23:59:59.999+0000", True),
        ("greater_or_equal", "2024-05-01", "2024-05-01T00:00:00.000+0000", True),
        (
            "less_or_equal",
            "2024-05-01T02:00:00+02:00",
            "2024-05-01T00:00:00.000Z",
            True,
        ),
        ("in", ["2024-05-01T12:00:00Z"], "2024-05-01T12:00:00.000+0000", True),
        ("not_in", ["2024-05-01T12:00:00Z"], None, True),
        ("is_empty", None, None, True),
        ("is_not_empty", None, "2024-05-01T12:00:00.000+0000", True),
    ],
)
def test_datetime_ops_compare_instants(
    op: str, value: Any, record: Any, expected: bool
) -> None:
    assert hit("CreatedDate", op, value, record) is expected


def test_datetime_objects_from_yaml_are_accepted() -> None:
    aware = datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert hit("CreatedDate", "equals", aware, "2024-05-01T12:00:00.000+0000")
    naive_utc = datetime(2024, 5, 1, 12)  # noqa: DTZ001 - YAML yields naive UTC
    assert hit("CreatedDate", "equals", naive_utc, "2024-05-01T12:00:00.000+0000")
    assert hit("CreatedDate", "greater_than", date(2024, 5, 1), datetime.now(UTC))


# -- ids ----------------------------------------------------------------------------
def test_ids_match_in_15_or_18_character_form() -> None:
    assert hit("OwnerId", "equals", OWNER[:15], OWNER)
    assert hit("OwnerId", "equals", OWNER, OWNER[:15])
    assert hit("OwnerId", "in", [OWNER[:15]], OWNER)
    assert hit("OwnerId", "not_equals", OWNER, None)
    assert hit("OwnerId", "is_empty", None, None)


def test_ids_compare_case_sensitively() -> None:
    other = OWNER[:15].swapcase()
    assert not hit("OwnerId", "equals", other, OWNER)


# -- trees, records -----------------------------------------------------------------
def test_any_of_all_groups_nest() -> None:
    tree = Group.model_validate(
        {
            "any": [
                {"field": "Title", "op": "contains", "value": "Sales"},
                {
                    "all": [
                        {"field": "AnnualRevenue", "op": "greater_than", "value": 10},
                        {
                            "any": [
                                {"field": "IsConverted", "op": "equals", "value": True},
                                {"field": "Email", "op": "is_empty"},
                            ]
                        },
                    ]
                },
            ]
        }
    )
    assert matches(tree, {"Title": "Sales rep"}, TYPES)
    assert matches(tree, {"Title": "CEO", "AnnualRevenue": 11, "Email": None}, TYPES)
    assert not matches(
        tree, {"Title": "CEO", "AnnualRevenue": 11, "Email": "a@b.c"}, TYPES
    )
    assert matches(
        tree,
        {"Title": "CEO", "AnnualRevenue": 11, "Email": "a@b.c", "IsConverted": True},
        TYPES,
    )
    assert not matches(tree, {"Title": None, "AnnualRevenue": None}, TYPES)


def test_relationship_fields_read_flattened_or_nested() -> None:
    tree = rule("Account.Name", "equals", "acme")
    assert matches(tree, {"Account.Name": "ACME"}, TYPES)
    assert matches(tree, {"Account": {"attributes": {}, "Name": "Acme"}}, TYPES)
    assert not matches(tree, {"Account": None}, TYPES)
    assert matches(rule("Account.Name", "is_empty"), {"Account": None}, TYPES)


def test_field_names_are_case_insensitive() -> None:
    assert matches(rule("title", "equals", "x"), {"TITLE": "X"}, TYPES)


def test_absent_fields_count_as_null() -> None:
    assert matches(rule("Title", "is_empty"), {}, TYPES)


# -- errors -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "op", "value", "message"),
    [
        ("AnnualRevenue", "greater_than", "abc", "does not fit a currency field"),
        ("AnnualRevenue", "equals", True, "does not fit a currency field"),
        ("AnnualRevenue", "equals", float("inf"), "does not fit"),
        ("NumberOfEmployees", "in", [1, "many"], "does not fit an? int field"),
        ("AnnualRevenue", "contains", "1", "'contains' does not apply"),
        ("NumberOfEmployees", "starts_with", "1", "'starts_with' does not apply"),
        ("IsConverted", "does_not_contain", "t", "does not apply"),
        ("IsConverted", "equals", "yes", "does not fit a boolean field"),
        ("IsConverted", "greater_than", True, "does not apply"),
        ("ConvertedDate", "contains", "2024", "does not apply"),
        ("ConvertedDate", "equals", "May 1st", "does not fit a date field"),
        ("ConvertedDate", "equals", "2024-02-30", "does not fit a date field"),
        ("CreatedDate", "equals", "2024-05-01", "expected a datetime"),
        ("CreatedDate", "less_than", "soon", "does not fit a datetime field"),
        ("Title", "greater_than", "m", "does not apply to a string field"),
        ("Title", "equals", True, "does not fit a string field"),
        ("OwnerId", "equals", "005-not-an-id", "does not fit a reference field"),
        ("OwnerId", "contains", "005", "does not apply"),
        ("Nope__c", "equals", "x", "unknown field 'Nope__c'"),
        ("Title OR Id", "equals", "x", "not a Salesforce field name"),
        ("Tags__c", "equals", "x", "do not support fields of type 'multipicklist'"),
    ],
)
def test_values_that_do_not_fit_the_field_type_are_rejected(
    field: str, op: str, value: Any, message: str
) -> None:
    with pytest.raises(RuleTypeError, match=message):
        matches(rule(field, op, value), {}, TYPES)


def test_rules_are_checked_when_compiled_not_per_record() -> None:
    with pytest.raises(RuleTypeError):
        predicate(rule("AnnualRevenue", "greater_than", "abc"), TYPES)
    check = predicate(rule("AnnualRevenue", "greater_than", "5"), TYPES)
    assert [check({"AnnualRevenue": v}) for v in (4, 6, None)] == [False, True, False]
