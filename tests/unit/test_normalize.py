"""Tests for normalized emails, names, phones and the name+phone matching key."""

from __future__ import annotations

import pytest

from domain.contacts.normalize import (
    is_blank,
    name_phone_key,
    normalize_email,
    normalize_name,
    normalize_phone,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jane.Doe@Example.COM", "jane.doe@example.com"),
        ("  jane.doe@example.com\t\n", "jane.doe@example.com"),
        (" JANE.DOE@EXAMPLE.COM ", "jane.doe@example.com"),
        ("Strasse@Beispiel.DE", "strasse@beispiel.de"),
    ],
)
def test_email_is_trimmed_and_casefolded(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


def test_email_casefolding_handles_unicode_beyond_lowercase() -> None:
    # casefold maps "ß" to "ss" where lower() would keep it.
    assert normalize_email("Groß@Example.com") == "gross@example.com"


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_blank_email_normalizes_to_none(raw: str | None) -> None:
    assert normalize_email(raw) is None


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("Jane", "Doe", "jane doe"),
        ("  Jane  ", "  Doe ", "jane doe"),
        ("Mary   Ann", "Van\tder  Berg", "mary ann van der berg"),
        ("JANE", None, "jane"),
        (None, "Doe", "doe"),
        ("", "Doe", "doe"),
        ("ÉLODIE", "STRAßE", "élodie strasse"),
    ],
)
def test_name_is_casefolded_with_whitespace_collapsed(
    first: str | None, last: str | None, expected: str
) -> None:
    assert normalize_name(first, last) == expected


def test_names_differing_only_in_unicode_case_normalize_equal() -> None:
    # Final sigma "ς" and capital "Σ" casefold to the same letter; "ß" to "ss".
    assert normalize_name("Σίσυφος", "Straße") == normalize_name("ΣΊΣΥΦΟΣ", "STRASSE")


@pytest.mark.parametrize(
    ("first", "last"), [(None, None), ("", ""), ("  ", "\t"), (None, " ")]
)
def test_name_is_none_when_first_and_last_are_both_blank(
    first: str | None, last: str | None
) -> None:
    assert normalize_name(first, last) is None


@pytest.mark.parametrize(
    "raw",
    [
        "(415) 555-0132",
        "415.555.0132",
        "+1 415 555 0132",
        "4155550132",
        "415-555-0132",
        " 1 (415) 555 0132 ",
    ],
)
def test_us_phone_formats_normalize_to_the_same_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+14155550132"


def test_uk_number_normalizes_with_region_gb() -> None:
    assert normalize_phone("020 7946 0018", "GB") == "+442079460018"


def test_uk_national_number_is_not_read_as_a_us_number() -> None:
    assert normalize_phone("020 7946 0018", "US") is None


def test_international_number_ignores_the_default_region() -> None:
    assert normalize_phone("+44 20 7946 0018", "US") == "+442079460018"


def test_region_is_accepted_in_lowercase() -> None:
    assert normalize_phone("020 7946 0018", "gb") == "+442079460018"


@pytest.mark.parametrize(
    "raw", ["not a phone", "abc-defg", "12", "555-0132", "+1 000 000 0000", "", "  "]
)
def test_junk_or_invalid_phone_normalizes_to_none(raw: str) -> None:
    assert normalize_phone(raw) is None


def test_missing_phone_normalizes_to_none() -> None:
    assert normalize_phone(None) is None


def test_national_number_without_a_region_is_none_instead_of_an_error() -> None:
    assert normalize_phone("4155550132", None) is None


def test_name_phone_key_combines_normalized_name_and_phone() -> None:
    key = name_phone_key("  JANE ", "Doe", "(415) 555-0132", "US")
    assert key == name_phone_key("jane", "doe", "+1 415 555 0132", "US")
    assert key == "jane doe|+14155550132"


def test_name_phone_key_uses_the_region_for_the_phone() -> None:
    assert (
        name_phone_key("Ann", "Lee", "020 7946 0018", "GB") == "ann lee|+442079460018"
    )


@pytest.mark.parametrize(
    ("first", "last", "phone"),
    [
        (None, None, "(415) 555-0132"),
        (" ", "", "(415) 555-0132"),
        ("Jane", "Doe", None),
        ("Jane", "Doe", "junk"),
    ],
)
def test_name_phone_key_is_none_unless_both_name_and_phone_normalize(
    first: str | None, last: str | None, phone: str | None
) -> None:
    assert name_phone_key(first, last, phone, "US") is None


@pytest.mark.parametrize("value", [None, "", " ", "\t\n  "])
def test_none_and_whitespace_only_strings_are_blank(value: object) -> None:
    assert is_blank(value) is True


@pytest.mark.parametrize("value", ["x", " x ", 0, 0.0, False, "0"])
def test_text_and_non_string_values_are_not_blank(value: object) -> None:
    assert is_blank(value) is False


def test_numbers_of_other_nanpa_regions_stay_valid_with_a_us_default() -> None:
    # Valid-for-the-default-region is checked first (fast); others fall back to
    # the general check: a Vancouver number is still valid, an unassigned one not.
    assert normalize_phone("+1 604 681 4949", "US") == "+16046814949"
    assert normalize_phone("415 200 0001", "US") == "+14152000001"
    assert normalize_phone("+1 415 000 0001", "US") is None
