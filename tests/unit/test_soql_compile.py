"""SOQL text building: literals, escaping, sync rules as WHERE clauses, query shapes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.salesforce.soql import (
    count,
    datetime_literal,
    like_quote,
    literal,
    quote,
    select,
    where_clause,
)
from domain.rules.evaluate import RuleTypeError
from domain.rules.models import Condition, Group
from sandbox import ids
from sandbox.metadata import Schema
from sandbox.soql import Comparison, StringLit, parse, tokenize
from sandbox.soql_eval import execute, like_regex

TYPES = {
    "Title": "string",
    "Email": "email",
    "AnnualRevenue": "currency",
    "NumberOfEmployees": "int",
    "IsConverted": "boolean",
    "ConvertedDate": "date",
    "CreatedDate": "datetime",
    "OwnerId": "reference",
}
SCHEMA = Schema()
OWNER = ids.make_id("005", 42)


def where(field: str, op: str, value: Any = None) -> str:
    return where_clause(Group(all=[Condition(field=field, op=op, value=value)]), TYPES)


def sandbox_accepts(where_text: str) -> None:
    """Parse and bind the query in the sandbox (raises ApiError if it refuses)."""
    execute(
        SCHEMA, select("Lead", ["Id"], where_text), lambda _: [], lambda _: None, "59.0"
    )


# -- quoting ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "'plain'"),
        ("it's", r"'it\'s'"),
        ("C:\\dir", r"'C:\\dir'"),
        ("a\nb\r\tc", r"'a\nb\r\tc'"),
        ("100%_x", "'100%_x'"),
        ("été 東京 🚀", "'été 東京 🚀'"),
        ("\x00\x1f\x7f\u2028", r"'\u0000\u001f\u007f\u2028'"),
        ("", "''"),
    ],
)
def test_quote_escapes_quotes_backslashes_and_control_characters(
    value: str, expected: str
) -> None:
    assert quote(value) == expected


def test_like_patterns_escape_wildcards_too() -> None:
    assert like_quote("100%_a\\'b", "%", "%") == r"'%100\%\_a\\\'b%'"


# -- literals -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "type_", "expected"),
    [
        ("Sales", "string", "'Sales'"),
        (12345, "string", "'12345'"),
        ("", "string", "''"),
        (None, "string", "null"),
        (1000000, "currency", "1000000"),
        (1e22, "currency", "10000000000000000000000"),
        (1e-7, "double", "0.0000001"),
        (2.0, "double", "2"),
        (-1.25, "percent", "-1.25"),
        ("42", "int", "42"),
        (" 4.5 ", "double", "4.5"),
        (True, "boolean", "true"),
        ("FALSE", "boolean", "false"),
        ("2024-05-01", "date", "2024-05-01"),
        (date(2024, 5, 1), "date", "2024-05-01"),
        ("2024-05-01T14:30:00+02:00", "datetime", "2024-05-01T12:30:00.000Z"),
        ("2024-05-01T12:30:00.123456Z", "datetime", "2024-05-01T12:30:00.123Z"),
        ("2024-05-01T12:30:00.000+0000", "datetime", "2024-05-01T12:30:00.000Z"),
        (OWNER[:15], "reference", f"'{OWNER}'"),
    ],
)
def test_literals_are_formatted_by_field_type(
    value: Any, type_: str, expected: str
) -> None:
    assert literal(value, type_) == expected


@pytest.mark.parametrize(
    ("value", "type_"),
    [
        ("abc", "currency"),
        (True, "int"),
        ("1,000", "double"),
        ("nope", "boolean"),
        ("2024-13-01", "date"),
        ("yesterday", "datetime"),
        ("x", "id"),
    ],
)
def test_literals_that_do_not_fit_raise(value: Any, type_: str) -> None:
    with pytest.raises(RuleTypeError):
        literal(value, type_)


def test_datetime_literal_is_utc_with_milliseconds() -> None:
    dt = datetime(2024, 5, 1, 14, 0, 0, 987654, tzinfo=timezone(timedelta(hours=2)))
    assert datetime_literal(dt) == "2024-05-01T12:00:00.987Z"
    assert tokenize(datetime_literal(dt))[0].value == datetime(
        2024, 5, 1, 12, 0, 0, 987000, tzinfo=UTC
    )


def test_datetime_literal_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        datetime_literal(datetime(2024, 5, 1))  # noqa: DTZ001 - the point of the test


# -- where clauses ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("Title", "equals", "VP", "(Title = 'VP')"),
        ("Title", "not_equals", "VP", "(Title != 'VP')"),
        ("Title", "contains", "Sa%les", r"(Title LIKE '%Sa\%les%')"),
        ("Title", "does_not_contain", "a_b", r"((NOT Title LIKE '%a\_b%'))"),
        ("Title", "starts_with", "O'Neil", r"(Title LIKE 'O\'Neil%')"),
        ("Title", "in", ["a", "b"], "(Title IN ('a', 'b'))"),
        ("Title", "not_in", ["a", None], "(Title NOT IN ('a', null))"),
        ("Title", "is_empty", None, "(Title = null)"),
        ("Title", "is_not_empty", None, "(Title != null)"),
        ("AnnualRevenue", "greater_than", "1000000", "(AnnualRevenue > 1000000)"),
        ("AnnualRevenue", "less_than", 0.5, "(AnnualRevenue < 0.5)"),
        ("NumberOfEmployees", "greater_or_equal", 10, "(NumberOfEmployees >= 10)"),
        ("NumberOfEmployees", "less_or_equal", -3, "(NumberOfEmployees <= -3)"),
        ("NumberOfEmployees", "in", [1, 2], "(NumberOfEmployees IN (1, 2))"),
        ("IsConverted", "equals", "true", "(IsConverted = true)"),
        ("IsConverted", "not_equals", False, "(IsConverted != false)"),
        ("ConvertedDate", "less_than", "2024-05-01", "(ConvertedDate < 2024-05-01)"),
        (
            "CreatedDate",
            "greater_than",
            "2024-05-01",
            "(CreatedDate > 2024-05-01T00:00:00.000Z)",
        ),
        (
            "CreatedDate",
            "not_in",
            ["2024-05-01T00:00:00Z"],
            "(CreatedDate NOT IN (2024-05-01T00:00:00.000Z))",
        ),
        ("OwnerId", "equals", OWNER[:15], f"(OwnerId = '{OWNER}')"),
    ],
)
def test_each_op_compiles_to_soql_the_sandbox_accepts(
    field: str, op: str, value: Any, expected: str
) -> None:
    text = where(field, op, value)
    assert text == expected
    sandbox_accepts(text)


def test_nested_groups_are_all_parenthesised() -> None:
    tree = Group.model_validate(
        {
            "any": [
                {"field": "Title", "op": "contains", "value": "Sales"},
                {
                    "all": [
                        {"field": "AnnualRevenue", "op": "greater_than", "value": 1},
                        {
                            "any": [
                                {"field": "IsConverted", "op": "equals", "value": True},
                                {
                                    "field": "Email",
                                    "op": "does_not_contain",
                                    "value": "x",
                                },
                            ]
                        },
                    ]
                },
            ]
        }
    )
    text = where_clause(tree, TYPES)
    assert text == (
        "(Title LIKE '%Sales%' OR (AnnualRevenue > 1 AND "
        "(IsConverted = true OR (NOT Email LIKE '%x%'))))"
    )
    sandbox_accepts(text)


def test_empty_text_compiles_to_the_empty_literal() -> None:
    assert where("Title", "equals", "") == "(Title = '')"


def test_type_errors_surface_when_compiling() -> None:
    with pytest.raises(RuleTypeError, match="'contains' does not apply"):
        where("AnnualRevenue", "contains", "1")
    with pytest.raises(RuleTypeError, match="does not fit a currency field"):
        where("AnnualRevenue", "greater_than", "abc")


def test_field_names_cannot_smuggle_soql() -> None:
    with pytest.raises(RuleTypeError, match="not a Salesforce field name"):
        where_clause(
            Group(all=[Condition(field="Title = 'x' OR Id", op="is_empty")]),
            {"Title = 'x' OR Id": "string"},
        )


# -- query shapes -------------------------------------------------------------------
def test_select_with_every_clause() -> None:
    text = select(
        "Lead",
        ["Id", "Title", "Owner.Name"],
        "(Title = 'x')",
        ["SystemModstamp  asc", "Id"],
        200,
    )
    assert text == (
        "SELECT Id, Title, Owner.Name FROM Lead WHERE (Title = 'x') "
        "ORDER BY SystemModstamp asc, Id LIMIT 200"
    )
    assert parse(text).limit == 200


def test_select_without_where() -> None:
    assert select("Contact", ["Id"]) == "SELECT Id FROM Contact"


def test_count_query() -> None:
    assert (
        count("Lead", "(Title = null)")
        == "SELECT COUNT() FROM Lead WHERE (Title = null)"
    )
    assert count("Lead") == "SELECT COUNT() FROM Lead"
    assert parse(count("Lead", "(Title = null)")).count_only


@pytest.mark.parametrize(
    "kwargs",
    [
        {"object": "Lead; DROP", "fields": ["Id"]},
        {"object": "Lead", "fields": []},
        {"object": "Lead", "fields": ["Id, (SELECT Id FROM Tasks)"]},
        {"object": "Lead", "fields": ["Id"], "order_by": ["Id; x"]},
        {"object": "Lead", "fields": ["Id"], "limit": -1},
    ],
)
def test_select_refuses_malformed_parts(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        select(**kwargs)


# -- no injection, whatever the user writes -----------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_round_trips_as_one_string_literal(text: str) -> None:
    tokens = tokenize(f"Title = {quote(text)} AND Email = 'z'")
    assert [t.kind for t in tokens] == [
        "ident",
        "op",
        "string",
        "keyword",
        "ident",
        "op",
        "string",
        "eof",
    ]
    assert tokens[2].value.value == text


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_any_text_in_a_like_pattern_matches_only_itself(needle: str, hay: str) -> None:
    text = where("Title", "contains", needle)
    cond = parse(f"SELECT Id FROM Lead WHERE {text}").where
    assert isinstance(cond, Comparison)
    assert isinstance(cond.value, StringLit)
    regex = like_regex(cond.value.pattern)
    assert regex.fullmatch(f"{hay}{needle}{hay}")
    assert (regex.fullmatch(hay) is not None) == (needle in hay)
