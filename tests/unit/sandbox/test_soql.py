"""SOQL parser and evaluator semantics: nulls, case, LIKE escapes, typing, ordering."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import ids
from sandbox.errors import ApiError
from sandbox.metadata import Schema
from sandbox.soql import Not, StringLit, parse, tokenize
from sandbox.soql_eval import execute

SCHEMA = Schema()
ACME = ids.make_id("001", 1)
GLOBEX = ids.make_id("001", 2)


def _lead(n: int, **fields: Any) -> dict[str, Any]:
    base = {
        "Id": ids.make_id("00Q", n),
        "IsDeleted": False,
        "LastName": f"L{n}",
        "Company": "Co",
        "HasOptedOutOfEmail": False,
    }
    base.update(fields)
    return base


LEADS = [
    _lead(
        1,
        FirstName="Ann",
        Title="VP Sales",
        Email="Ann@Acme.com",
        AnnualRevenue=500000.0,
        CreatedDate="2024-05-01T10:00:00.000+0000",
        ConvertedDate="2024-05-01",
    ),
    _lead(
        2,
        FirstName="bob",
        Title="sales rep",
        Email="bob@globex.io",
        AnnualRevenue=1500000.0,
        CreatedDate="2024-05-02T10:00:00.000+0000",
        HasOptedOutOfEmail=True,
    ),
    _lead(
        3,
        FirstName="Cy",
        Title=None,
        Email=None,
        AnnualRevenue=None,
        CreatedDate="2024-05-03T10:00:00.000+0000",
    ),
    _lead(
        4,
        FirstName="Di",
        Title="100% Engineer",
        Email="di@x_y.com",
        AnnualRevenue=1000000.0,
        CreatedDate="2024-05-01T09:59:59.000+0000",
    ),
    _lead(
        5,
        FirstName="Ed",
        Title="C:\\Path_Owner",
        Email="ed@acme.com",
        AnnualRevenue=1000000.0,
        IsDeleted=True,
        CreatedDate="2024-05-04T00:00:00.000+0000",
    ),
]
CONTACTS = [
    {
        "Id": ids.make_id("003", 1),
        "IsDeleted": False,
        "LastName": "Smith",
        "AccountId": ACME,
    },
    {
        "Id": ids.make_id("003", 2),
        "IsDeleted": False,
        "LastName": "Jones",
        "AccountId": None,
    },
    {
        "Id": ids.make_id("003", 3),
        "IsDeleted": False,
        "LastName": "Brown",
        "AccountId": GLOBEX,
    },
]
ACCOUNTS = {
    ACME: {"Id": ACME, "IsDeleted": False, "Name": "Acme", "Industry": "Retail"},
    GLOBEX: {"Id": GLOBEX, "IsDeleted": False, "Name": "Globex", "Industry": None},
}


def run(text: str, include_deleted: bool = False) -> list[dict[str, Any]]:
    return query(text, include_deleted)[1]


def query(text: str, include_deleted: bool = False) -> tuple[int, list[dict[str, Any]]]:
    def rows_for(name: str) -> list[dict[str, Any]]:
        rows = {"Lead": LEADS, "Contact": CONTACTS}.get(name, [])
        return [r for r in rows if include_deleted or not r["IsDeleted"]]

    result = execute(SCHEMA, text, rows_for, ACCOUNTS.get, "59.0")
    return result.total, result.records


def names(text: str, include_deleted: bool = False) -> list[str]:
    return [r["FirstName"] for r in run(text, include_deleted)]


def error(text: str) -> ApiError:
    with pytest.raises(ApiError) as info:
        run(text)
    return info.value


# -- parser -----------------------------------------------------------------
def test_tokenizer_recognizes_literals() -> None:
    toks = tokenize("x >= 2024-05-01T12:34:56Z AND d = 2024-05-01 AND n = -1.5")
    kinds = [t.kind for t in toks]
    assert kinds == [
        "ident",
        "op",
        "datetime",
        "keyword",
        "ident",
        "op",
        "date",
        "keyword",
        "ident",
        "op",
        "number",
        "eof",
    ]


@pytest.mark.parametrize(
    ("raw", "value", "pattern"),
    [
        (r"'it\'s'", "it's", "it's"),
        (r"'a\\b'", "a\\b", "a\\\\b"),
        (r"'tab\there'", "tab\there", "tab\there"),
        (r"'\n\r\b\f\"'", '\n\r\b\f"', '\n\r\b\f"'),
        (r"'100\%'", "100%", "100\\%"),
        (r"'a\_b'", "a_b", "a\\_b"),
        (r"'\u00e9t\u00E9'", "été", "été"),
    ],
)
def test_string_escapes(raw: str, value: str, pattern: str) -> None:
    lit = tokenize(f"x = {raw}")[2].value
    assert lit == StringLit(value, pattern)


def test_bad_escape_is_malformed() -> None:
    err = error(r"SELECT Id FROM Lead WHERE Title = 'a\qb'")
    assert err.error_code == "MALFORMED_QUERY"
    assert "Illegal character sequence '\\q'" in err.message


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("SELECT Id FRM Lead", "'FRM'"),
        ("SELECT Id FROM Lead WHERE", "<EOF>"),
        ("SELECT FROM Lead", "'FROM'"),
        (
            "SELECT Id FROM Lead WHERE Title = 'x' AND Email = 'y' OR Company = 'z'",
            "'OR'",
        ),
        ("SELECT Id FROM Lead LIMIT x", "'x'"),
    ],
)
def test_malformed_queries(text: str, token: str) -> None:
    err = error(text)
    assert err.status == 400
    assert err.error_code == "MALFORMED_QUERY"
    assert err.message == f"unexpected token: {token}"
    assert err.body() == [{"message": err.message, "errorCode": "MALFORMED_QUERY"}]


def test_unterminated_string_is_malformed() -> None:
    assert (
        error("SELECT Id FROM Lead WHERE Title = 'abc").error_code == "MALFORMED_QUERY"
    )


def test_not_field_like_parses_as_negation() -> None:
    where = parse("SELECT Id FROM Lead WHERE NOT Title LIKE 'x%'").where
    assert isinstance(where, Not)


# -- schema errors ----------------------------------------------------------
def test_unknown_column_is_invalid_field_with_location() -> None:
    err = error("SELECT Foo FROM Lead")
    assert err.error_code == "INVALID_FIELD"
    assert err.message.startswith(
        "\nSELECT Foo FROM Lead\n       ^\nERROR at Row:1:Column:8\n"
        "No such column 'Foo' on entity 'Lead'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name."
    )


def test_unknown_object_is_invalid_type() -> None:
    err = error("SELECT Id FROM Leed")
    assert err.error_code == "INVALID_TYPE"
    assert "sObject type 'Leed' is not supported." in err.message
    assert "ERROR at Row:1:Column:16" in err.message


def test_unknown_relationship_is_invalid_field() -> None:
    err = error("SELECT Acount.Name FROM Contact")
    assert err.error_code == "INVALID_FIELD"
    assert "Didn't understand relationship 'Acount'" in err.message


@pytest.mark.parametrize(
    ("where", "needed"),
    [
        ("AnnualRevenue > '5'", "double and should not be enclosed in quotes"),
        ("Title = 5", "string and should be enclosed in quotes"),
        ("HasOptedOutOfEmail = 'true'", "boolean and should not be enclosed"),
        ("CreatedDate > 2024-05-01", "dateTime and should not be enclosed"),
        ("ConvertedDate > 2024-05-01T00:00:00Z", "date and should not be enclosed"),
    ],
)
def test_literal_type_must_match_field_type(where: str, needed: str) -> None:
    err = error(f"SELECT Id FROM Lead WHERE {where}")
    assert err.error_code == "INVALID_FIELD"
    assert needed in err.message


def test_long_textarea_cannot_be_filtered() -> None:
    err = error("SELECT Id FROM Lead WHERE Description = 'x'")
    assert "can not be filtered" in err.message


def test_invalid_id_literal() -> None:
    err = error("SELECT Id FROM Lead WHERE Id = 'nope'")
    assert err.error_code == "INVALID_QUERY_FILTER_OPERATOR"
    assert err.message.endswith("invalid ID field: nope")


# -- null semantics -----------------------------------------------------------
def test_equals_null_and_not_equals_null() -> None:
    assert names("SELECT FirstName FROM Lead WHERE Title = null") == ["Cy"]
    assert names("SELECT FirstName FROM Lead WHERE Title != null") == [
        "Ann",
        "bob",
        "Di",
    ]


def test_not_equals_value_includes_nulls() -> None:
    assert names("SELECT FirstName FROM Lead WHERE Title != 'vp sales'") == [
        "bob",
        "Cy",
        "Di",
    ]
    assert names("SELECT FirstName FROM Lead WHERE Title <> 'VP SALES'") == [
        "bob",
        "Cy",
        "Di",
    ]


def test_ordering_comparisons_exclude_nulls() -> None:
    assert names("SELECT FirstName FROM Lead WHERE AnnualRevenue < 2000000") == [
        "Ann",
        "bob",
        "Di",
    ]
    assert names("SELECT FirstName FROM Lead WHERE AnnualRevenue >= 0") == [
        "Ann",
        "bob",
        "Di",
    ]


def test_in_excludes_nulls_and_not_in_includes_them() -> None:
    assert names("SELECT FirstName FROM Lead WHERE Title IN ('VP SALES', 'x')") == [
        "Ann"
    ]
    assert names("SELECT FirstName FROM Lead WHERE Title NOT IN ('vp sales')") == [
        "bob",
        "Cy",
        "Di",
    ]
    assert names("SELECT FirstName FROM Lead WHERE Title IN ('x', null)") == ["Cy"]
    assert names("SELECT FirstName FROM Lead WHERE Title NOT IN ('x', null)") == [
        "Ann",
        "bob",
        "Di",
    ]


def test_like_excludes_nulls_and_not_like_includes_them() -> None:
    assert names("SELECT FirstName FROM Lead WHERE Title LIKE '%sales%'") == [
        "Ann",
        "bob",
    ]
    assert names("SELECT FirstName FROM Lead WHERE Title NOT LIKE '%sales%'") == [
        "Cy",
        "Di",
    ]
    assert names("SELECT FirstName FROM Lead WHERE NOT Title LIKE '%sales%'") == [
        "Cy",
        "Di",
    ]


def test_not_of_comparison_is_two_valued() -> None:
    assert names("SELECT FirstName FROM Lead WHERE NOT (Title = 'VP Sales')") == [
        "bob",
        "Cy",
        "Di",
    ]
    assert names("SELECT FirstName FROM Lead WHERE NOT (AnnualRevenue > 0)") == ["Cy"]


def test_empty_string_literal_means_null_for_text_fields() -> None:
    assert names("SELECT FirstName FROM Lead WHERE Title = ''") == ["Cy"]
    assert names("SELECT FirstName FROM Lead WHERE Title != ''") == ["Ann", "bob", "Di"]
    assert names("SELECT FirstName FROM Lead WHERE Title IN ('')") == ["Cy"]


# -- case and LIKE ----------------------------------------------------------------
def test_string_equality_is_case_insensitive() -> None:
    assert names("SELECT FirstName FROM Lead WHERE Email = 'ann@acme.COM'") == ["Ann"]
    assert names("SELECT FirstName FROM Lead WHERE FirstName = 'BOB'") == ["bob"]


def test_like_wildcards_and_case() -> None:
    assert names("SELECT FirstName FROM Lead WHERE Email LIKE '%@ACME.com'") == ["Ann"]
    assert names("SELECT FirstName FROM Lead WHERE FirstName LIKE '_o_'") == ["bob"]
    assert names("SELECT FirstName FROM Lead WHERE FirstName LIKE 'b%'") == ["bob"]
    assert names("SELECT FirstName FROM Lead WHERE FirstName LIKE 'bo'") == []


def test_like_escaped_wildcards_are_literal() -> None:
    assert names(r"SELECT FirstName FROM Lead WHERE Title LIKE '100\%%'") == ["Di"]
    assert names(r"SELECT FirstName FROM Lead WHERE Title LIKE '%\%%'") == ["Di"]
    assert names(r"SELECT FirstName FROM Lead WHERE Email LIKE '%x\_y%'") == ["Di"]
    # An unescaped _ matches any character, so it matches "x_y" as well.
    assert names(r"SELECT FirstName FROM Lead WHERE Email LIKE 'di@x_y.com'") == ["Di"]
    assert names(r"SELECT FirstName FROM Lead WHERE Email LIKE 'di@x\_z.com'") == []


def test_like_escaped_backslash_then_wildcard() -> None:
    assert names(
        r"SELECT FirstName FROM Lead WHERE Title LIKE 'c:\\%'", include_deleted=True
    ) == ["Ed"]
    assert names(
        r"SELECT FirstName FROM Lead WHERE Title LIKE '%\_owner'", include_deleted=True
    ) == ["Ed"]


def test_regex_metacharacters_are_literal_in_like() -> None:
    assert names("SELECT FirstName FROM Lead WHERE Email LIKE 'ann@acme.c.m'") == []
    assert names("SELECT FirstName FROM Lead WHERE Email LIKE 'ann@acme_c_m'") == [
        "Ann"
    ]


def test_like_on_non_text_field_is_rejected() -> None:
    err = error("SELECT Id FROM Lead WHERE AnnualRevenue LIKE '1%'")
    assert err.error_code == "INVALID_QUERY_FILTER_OPERATOR"


# -- typed comparisons -----------------------------------------------------------
def test_numeric_comparison_is_numeric_not_lexical() -> None:
    assert names("SELECT FirstName FROM Lead WHERE AnnualRevenue > 999999") == [
        "bob",
        "Di",
    ]
    assert names("SELECT FirstName FROM Lead WHERE AnnualRevenue = 1000000") == ["Di"]


def test_datetime_comparison_honours_offsets() -> None:
    q = "SELECT FirstName FROM Lead WHERE CreatedDate >= {}"
    assert names(q.format("2024-05-01T10:00:00Z")) == ["Ann", "bob", "Cy"]
    assert names(q.format("2024-05-01T12:00:00+02:00")) == ["Ann", "bob", "Cy"]
    assert names(q.format("2024-05-01T10:00:00.000+0000")) == ["Ann", "bob", "Cy"]
    assert names(q.format("2024-05-01T10:00:00.001Z")) == ["bob", "Cy"]


def test_date_comparison() -> None:
    assert names("SELECT FirstName FROM Lead WHERE ConvertedDate = 2024-05-01") == [
        "Ann"
    ]
    assert names("SELECT FirstName FROM Lead WHERE ConvertedDate < 2024-05-02") == [
        "Ann"
    ]


def test_boolean_comparison() -> None:
    assert names("SELECT FirstName FROM Lead WHERE HasOptedOutOfEmail = true") == [
        "bob"
    ]
    assert names("SELECT FirstName FROM Lead WHERE HasOptedOutOfEmail != TRUE") == [
        "Ann",
        "Cy",
        "Di",
    ]


def test_id_comparison_accepts_15_char_ids() -> None:
    rid = ids.make_id("00Q", 2)
    assert names(f"SELECT FirstName FROM Lead WHERE Id = '{rid[:15]}'") == ["bob"]
    assert names(f"SELECT FirstName FROM Lead WHERE Id IN ('{rid}')") == ["bob"]


def test_and_or_with_parentheses() -> None:
    q = (
        "SELECT FirstName FROM Lead WHERE (Title LIKE '%sales%' OR AnnualRevenue = "
        "1000000) AND HasOptedOutOfEmail = false"
    )
    assert names(q) == ["Ann", "Di"]
    q = (
        "SELECT FirstName FROM Lead WHERE Title LIKE '%sales%' AND (AnnualRevenue > "
        "1000000 OR FirstName = 'ann')"
    )
    assert names(q) == ["Ann", "bob"]


# -- deleted rows, ordering, limits, count ---------------------------------------
def test_deleted_rows_only_with_query_all() -> None:
    assert "Ed" not in names("SELECT FirstName FROM Lead")
    assert names(
        "SELECT FirstName FROM Lead WHERE IsDeleted = true", include_deleted=True
    ) == ["Ed"]


def test_order_by_defaults_nulls_first_asc_and_last_desc() -> None:
    assert names("SELECT FirstName FROM Lead ORDER BY Title") == [
        "Cy",
        "Di",
        "bob",
        "Ann",
    ]
    assert names("SELECT FirstName FROM Lead ORDER BY Title DESC") == [
        "Ann",
        "bob",
        "Di",
        "Cy",
    ]
    assert names("SELECT FirstName FROM Lead ORDER BY Title ASC NULLS LAST") == [
        "Di",
        "bob",
        "Ann",
        "Cy",
    ]
    assert names("SELECT FirstName FROM Lead ORDER BY Title DESC NULLS FIRST") == [
        "Cy",
        "Ann",
        "bob",
        "Di",
    ]


def test_order_by_text_is_case_insensitive() -> None:
    assert names("SELECT FirstName FROM Lead ORDER BY FirstName") == [
        "Ann",
        "bob",
        "Cy",
        "Di",
    ]


def test_order_by_ties_keep_id_order_and_secondary_key_breaks_them() -> None:
    assert names("SELECT FirstName FROM Lead ORDER BY AnnualRevenue DESC") == [
        "bob",
        "Di",
        "Ann",
        "Cy",
    ]
    assert names(
        "SELECT FirstName FROM Lead WHERE AnnualRevenue != null ORDER BY "
        "HasOptedOutOfEmail, FirstName DESC"
    ) == ["Di", "Ann", "bob"]
    assert names(
        "SELECT FirstName FROM Lead WHERE AnnualRevenue != null ORDER BY "
        "HasOptedOutOfEmail, Id DESC"
    ) == ["Di", "Ann", "bob"]


def test_order_by_datetime_then_id() -> None:
    assert names("SELECT FirstName FROM Lead ORDER BY CreatedDate, Id") == [
        "Di",
        "Ann",
        "bob",
        "Cy",
    ]


def test_limit_and_offset() -> None:
    assert names("SELECT FirstName FROM Lead ORDER BY FirstName LIMIT 2") == [
        "Ann",
        "bob",
    ]
    assert names("SELECT FirstName FROM Lead ORDER BY FirstName LIMIT 2 OFFSET 1") == [
        "bob",
        "Cy",
    ]
    assert names("SELECT FirstName FROM Lead LIMIT 0") == []


def test_count() -> None:
    assert query("SELECT COUNT() FROM Lead") == (4, [])
    assert query("SELECT COUNT() FROM Lead WHERE Title LIKE '%sales%'") == (2, [])
    assert query("SELECT COUNT() FROM Lead", include_deleted=True) == (5, [])
    assert query("SELECT COUNT() FROM Lead LIMIT 1") == (1, [])


# -- rendering ---------------------------------------------------------------------
def test_rendering_uses_canonical_names_and_attributes() -> None:
    row = run("SELECT id, firstname, TITLE FROM lead WHERE FirstName = 'Ann'")[0]
    assert list(row) == ["attributes", "Id", "FirstName", "Title"]
    assert row["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v59.0/sobjects/Lead/{row['Id']}",
    }


def test_relationship_fields_render_nested_or_null() -> None:
    rows = run(
        "SELECT LastName, Account.Name, Account.Industry FROM Contact ORDER BY LastName"
    )
    assert [r["LastName"] for r in rows] == ["Brown", "Jones", "Smith"]
    assert rows[1]["Account"] is None
    assert rows[2]["Account"] == {
        "attributes": {
            "type": "Account",
            "url": f"/services/data/v59.0/sobjects/Account/{ACME}",
        },
        "Name": "Acme",
        "Industry": "Retail",
    }
    assert rows[0]["Account"]["Industry"] is None


def test_relationship_fields_in_where_and_order_by() -> None:
    rows = run(
        "SELECT LastName FROM Contact WHERE Account.Name != 'acme' "
        "ORDER BY Account.Name DESC"
    )
    assert [r["LastName"] for r in rows] == ["Brown", "Jones"]


def test_object_name_prefix_is_accepted() -> None:
    assert [
        r["LastName"]
        for r in run(
            "SELECT Contact.LastName FROM Contact WHERE Contact.LastName = 'smith'"
        )
    ] == ["Smith"]
