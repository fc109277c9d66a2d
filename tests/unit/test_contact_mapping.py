"""Tests for applying the field mapping to Salesforce records and Engage-side edits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from domain.contacts.mapping import (
    apply_engage_edit,
    apply_salesforce,
    changed,
    salesforce_fields,
    to_engage_value,
)
from domain.contacts.models import EngageContact
from domain.crm_settings.models import Direction, MappingRow, default_mapping

S2E: Direction = "salesforce_to_engage"
BI: Direction = "bidirectional_most_recent"
PREFER: Direction = "prefer_salesforce_unless_blank"

ENGAGE_TIME = 1_700_000_000_000
SF_TIMES = {
    "salesforce_newer": ENGAGE_TIME + 60_000,
    "engage_newer": ENGAGE_TIME - 60_000,
    "equal_times": ENGAGE_TIME,
}
BLANKS = {"none": None, "empty": "", "whitespace": "   \t"}


def _contact(**kwargs: Any) -> EngageContact:
    return EngageContact(engage_contact_id="ec-1", **kwargs)


def _titled(
    value: str | None = "Engage Title", time: int = ENGAGE_TIME
) -> EngageContact:
    return _contact(title=value, field_times={"title": time})


def _row(direction: Direction, default: str | None = None) -> MappingRow:
    return MappingRow(
        engage="title", salesforce="Title", direction=direction, default=default
    )


# --- salesforce_fields --------------------------------------------------------


def test_salesforce_fields_lists_mapped_fields_in_order() -> None:
    rows = [
        MappingRow(engage="last_name", salesforce="LastName"),
        MappingRow(engage="first_name", salesforce="FirstName", direction=BI),
        MappingRow(engage="email", salesforce="Email"),
    ]
    assert salesforce_fields(rows) == ["LastName", "FirstName", "Email"]


def test_do_not_read_write_rows_are_not_listed_in_salesforce_fields() -> None:
    rows = default_mapping("Lead")
    fields = salesforce_fields(rows)
    assert "street" not in {f.casefold() for f in fields}
    assert None not in fields
    assert len(fields) == len([r for r in rows if not r.do_not_read_write])


def test_contact_mapping_queries_the_account_name_relationship_field() -> None:
    fields = salesforce_fields(default_mapping("Contact"))
    assert "Account.Name" in fields
    assert "Company" not in fields


def test_salesforce_field_mapped_to_two_engage_fields_is_queried_once() -> None:
    rows = [
        MappingRow(engage="company", salesforce="Account.Name"),
        MappingRow(engage="account_name", salesforce="Account.Name"),
    ]
    assert salesforce_fields(rows) == ["Account.Name"]


# --- apply_salesforce: direction x timing x value x default ------------------

# Expected title after applying Salesforce, per (direction, timing), for a
# present Salesforce value, a blank one with a default, and a blank one without.
EXPECTED = {
    (S2E, "salesforce_newer"): ("SF Title", "Default", None),
    (S2E, "engage_newer"): ("SF Title", "Default", None),
    (S2E, "equal_times"): ("SF Title", "Default", None),
    (BI, "salesforce_newer"): ("SF Title", "Default", None),
    (BI, "engage_newer"): ("Engage Title", "Engage Title", "Engage Title"),
    (BI, "equal_times"): ("SF Title", "Default", None),
    (PREFER, "salesforce_newer"): ("SF Title", "Engage Title", "Engage Title"),
    (PREFER, "engage_newer"): ("SF Title", "Engage Title", "Engage Title"),
    (PREFER, "equal_times"): ("SF Title", "Engage Title", "Engage Title"),
}
CASES = [
    pytest.param(d, t, v, default, EXPECTED[d, t][i], id=f"{d}-{t}-{vid}-{did}")
    for (d, t) in EXPECTED
    for (vid, v, i_default, i_plain) in [
        ("present", "SF Title", 0, 0),
        *((f"blank_{k}", b, 1, 2) for k, b in BLANKS.items()),
    ]
    for (did, default, i) in [
        ("default", "Default", i_default),
        ("no_default", None, i_plain),
    ]
]


@pytest.mark.parametrize(
    ("direction", "timing", "sf_value", "default", "expected"), CASES
)
def test_salesforce_value_is_applied_per_direction_timing_blankness_and_default(
    direction: Direction,
    timing: str,
    sf_value: str | None,
    default: str | None,
    expected: str | None,
) -> None:
    modified = SF_TIMES[timing]
    after = apply_salesforce(
        _titled(), {"Title": sf_value}, [_row(direction, default)], modified
    )
    assert after.title == expected
    kept_engage = expected == "Engage Title"
    assert after.field_times["title"] == (ENGAGE_TIME if kept_engage else modified)


def test_salesforce_owned_field_takes_salesforce_even_when_engage_is_newer() -> None:
    after = apply_salesforce(
        _titled(), {"Title": "SF Title"}, [_row(S2E)], SF_TIMES["engage_newer"]
    )
    assert after.title == "SF Title"


def test_bidirectional_keeps_newer_engage_edit_over_older_salesforce_change() -> None:
    after = apply_salesforce(
        _titled(), {"Title": "SF Title"}, [_row(BI)], SF_TIMES["engage_newer"]
    )
    assert after.title == "Engage Title"
    assert after.field_times["title"] == ENGAGE_TIME


def test_bidirectional_takes_newer_salesforce_change_over_engage_edit() -> None:
    after = apply_salesforce(
        _titled(), {"Title": "SF Title"}, [_row(BI)], SF_TIMES["salesforce_newer"]
    )
    assert after.title == "SF Title"
    assert after.field_times["title"] == SF_TIMES["salesforce_newer"]


def test_bidirectional_tie_goes_to_salesforce() -> None:
    after = apply_salesforce(_titled(), {"Title": "SF Title"}, [_row(BI)], ENGAGE_TIME)
    assert after.title == "SF Title"


def test_bidirectional_field_without_a_recorded_time_takes_salesforce() -> None:
    contact = _contact(title="Engage Title")
    after = apply_salesforce(contact, {"Title": "SF Title"}, [_row(BI)], 1)
    assert after.title == "SF Title"
    assert after.field_times == {"title": 1}


@pytest.mark.parametrize(
    "existing", [None, "", "  "], ids=["none", "empty", "whitespace"]
)
@pytest.mark.parametrize("sf_value", list(BLANKS.values()), ids=list(BLANKS))
def test_prefer_salesforce_fills_a_blank_engage_value_with_the_default(
    existing: str | None, sf_value: str | None
) -> None:
    after = apply_salesforce(
        _titled(existing),
        {"Title": sf_value},
        [_row(PREFER, "Default")],
        ENGAGE_TIME + 1,
    )
    assert after.title == "Default"
    assert after.field_times["title"] == ENGAGE_TIME + 1


@pytest.mark.parametrize(
    "existing", [None, "", "  "], ids=["none", "empty", "whitespace"]
)
def test_prefer_salesforce_with_both_blank_and_no_default_leaves_no_value(
    existing: str | None,
) -> None:
    after = apply_salesforce(_titled(existing), {"Title": " "}, [_row(PREFER)], 5)
    assert after.title is None


def test_prefer_salesforce_keeps_engage_value_and_time_when_sf_blank() -> None:
    before = _titled()
    after = apply_salesforce(before, {"Title": ""}, [_row(PREFER, "Default")], 10**13)
    assert after.title == "Engage Title"
    assert after.field_times == {"title": ENGAGE_TIME}


def test_prefer_salesforce_overwrites_engage_value_when_salesforce_has_one() -> None:
    after = apply_salesforce(
        _titled(), {"Title": "SF Title"}, [_row(PREFER)], SF_TIMES["engage_newer"]
    )
    assert after.title == "SF Title"
    assert after.field_times["title"] == SF_TIMES["engage_newer"]


def test_salesforce_value_that_is_only_padded_is_kept_verbatim() -> None:
    after = apply_salesforce(_titled(), {"Title": " CTO "}, [_row(S2E, "Default")], 1)
    assert after.title == " CTO "


def test_blank_default_counts_as_no_default() -> None:
    after = apply_salesforce(_titled(), {"Title": None}, [_row(S2E, "  ")], 1)
    assert after.title is None


def test_field_missing_from_the_record_is_treated_as_null() -> None:
    after = apply_salesforce(_titled(), {}, [_row(S2E, "Default")], ENGAGE_TIME + 1)
    assert after.title == "Default"


def test_record_keys_are_matched_case_insensitively_when_not_exact() -> None:
    row = MappingRow(engage="company", salesforce="account.name")
    after = apply_salesforce(_contact(), {"Account.Name": "Acme"}, [row], 1)
    assert after.company == "Acme"


# --- Do Not Read/Write, relationship fields, extra fields ---------------------


def test_do_not_read_write_field_is_neither_read_nor_defaulted() -> None:
    contact = _contact(fields={"street": "1 Engage Way"}, field_times={"street": 5})
    row = MappingRow(engage="street", salesforce=None, direction=S2E, default="Nowhere")
    after = apply_salesforce(
        contact, {"Street": "805 Broadway St", "street": "x"}, [row], 10**13
    )
    assert after.fields == {"street": "1 Engage Way"}
    assert after.field_times == {"street": 5}


def test_do_not_read_write_field_does_not_become_blank_when_absent() -> None:
    row = MappingRow(engage="street", salesforce=None)
    after = apply_salesforce(_contact(), {"Street": "805 Broadway St"}, [row], 1)
    assert "street" not in after.fields


def test_contact_company_is_read_from_the_flattened_account_name() -> None:
    record = {"LastName": "Doe", "FirstName": "Jane", "Account.Name": "Acme Corp"}
    after = apply_salesforce(_contact(), record, default_mapping("Contact"), 1_000)
    assert after.company == "Acme Corp"
    assert after.last_name == "Doe"
    assert after.first_name == "Jane"
    assert after.field_times["company"] == 1_000


def test_contact_without_an_account_gets_no_company() -> None:
    contact = _contact(company="Old Co", field_times={"company": 1})
    record = {"LastName": "Doe", "Account.Name": None}
    after = apply_salesforce(contact, record, default_mapping("Contact"), 2)
    assert after.company is None


def test_non_core_engage_fields_are_stored_in_fields() -> None:
    rows = [MappingRow(engage="salutation", salesforce="Salutation", direction=BI)]
    after = apply_salesforce(
        _contact(fields={"other": "x"}), {"Salutation": "Dr."}, rows, 7
    )
    assert after.fields == {"other": "x", "salutation": "Dr."}
    assert after.field_times == {"salutation": 7}


def test_full_lead_record_maps_every_readable_default_field() -> None:
    record = {
        "LastName": "Doe",
        "FirstName": "Jane",
        "Salutation": "Ms.",
        "Title": "CTO",
        "Company": "Acme",
        "Email": "Jane@Acme.com",
        "Phone": "(415) 555-0132",
        "Street": "805 Broadway St",
    }
    after = apply_salesforce(_contact(), record, default_mapping("Lead"), 42)
    assert (after.last_name, after.first_name, after.title, after.company) == (
        "Doe",
        "Jane",
        "CTO",
        "Acme",
    )
    assert (after.email, after.phone) == ("Jane@Acme.com", "(415) 555-0132")
    assert after.fields == {"salutation": "Ms."}
    assert set(after.field_times) == {
        "last_name",
        "first_name",
        "salutation",
        "title",
        "company",
        "email",
        "phone",
    }


def test_apply_salesforce_leaves_link_scope_and_update_time_alone() -> None:
    contact = _contact(
        salesforce_id="00Q000000000001",
        salesforce_object="Lead",
        in_scope=False,
        updated_at_ms=123,
    )
    record = {"Title": "CTO", "Id": "00Q000000000999"}
    after = apply_salesforce(contact, record, [_row(S2E)], 999)
    assert after.title == "CTO"
    assert (after.salesforce_id, after.salesforce_object) == ("00Q000000000001", "Lead")
    assert (after.in_scope, after.updated_at_ms) == (False, 123)


def _counting_copies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count `dataclasses.replace` copies made of contacts (the models' import)."""
    import domain.contacts.models as models

    copies: list[int] = []
    real = models.replace

    def counted(obj: Any, /, **changes: Any) -> Any:
        copies.append(1)
        return real(obj, **changes)

    monkeypatch.setattr(models, "replace", counted)
    return copies


def test_apply_salesforce_sets_link_scope_and_time_in_the_values_one_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copies = _counting_copies(monkeypatch)
    rows = [_row(S2E), MappingRow(engage="salutation", salesforce="Salutation")]
    after = apply_salesforce(
        _contact(in_scope=False),
        {"Title": "CTO", "Salutation": "Dr."},
        rows,
        999,
        salesforce_id="00Q000000000001",
        salesforce_object="Lead",
        in_scope=True,
        updated_at_ms=1234,
    )
    assert (after.title, after.fields) == ("CTO", {"salutation": "Dr."})
    assert after.field_times == {"title": 999, "salutation": 999}
    assert (after.salesforce_id, after.salesforce_object) == ("00Q000000000001", "Lead")
    assert (after.in_scope, after.updated_at_ms) == (True, 1234)
    assert len(copies) == 1


def test_apply_salesforce_sets_the_attributes_when_no_value_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copies = _counting_copies(monkeypatch)
    before = _titled("Engage", ENGAGE_TIME)
    # An older Salesforce change of a most-recent-wins field: no value is taken.
    after = apply_salesforce(
        before, {"Title": "Old"}, [_row(BI)], ENGAGE_TIME - 1, salesforce_id="003X"
    )
    assert (after.title, after.field_times) == ("Engage", before.field_times)
    assert after.salesforce_id == "003X"
    assert len(copies) == 1


def test_apply_salesforce_does_not_mutate_the_input_contact() -> None:
    before = _contact(
        title="Old", fields={"salutation": "Mr."}, field_times={"title": 1}
    )
    rows = [_row(S2E), MappingRow(engage="salutation", salesforce="Salutation")]
    apply_salesforce(before, {"Title": "New", "Salutation": "Dr."}, rows, 2)
    assert before.title == "Old"
    assert before.fields == {"salutation": "Mr."}
    assert before.field_times == {"title": 1}


# --- value conversion --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (3.0, "3"),
        (-12.0, "-12"),
        (2.5, "2.5"),
        (42, "42"),
        (0, "0"),
        (0.0, "0"),
        (Decimal("150000.00"), "150000"),
        (Decimal("19.99"), "19.99"),
        ("text", "text"),
    ],
)
def test_salesforce_values_are_converted_to_engage_text(
    raw: Any, expected: str
) -> None:
    assert to_engage_value(raw) == expected
    row = MappingRow(engage="revenue", salesforce="AnnualRevenue", default="n/a")
    after = apply_salesforce(_contact(), {"AnnualRevenue": raw}, [row], 1)
    assert after.fields["revenue"] == expected


def test_null_salesforce_value_converts_to_none() -> None:
    assert to_engage_value(None) is None


# --- apply_engage_edit ----------------------------------------------------------

EDIT_TIMES = {
    "engage_newer": ENGAGE_TIME + 60_000,
    "engage_older": ENGAGE_TIME - 60_000,
    "equal_times": ENGAGE_TIME,
}


@pytest.mark.parametrize("timing", list(EDIT_TIMES))
def test_engage_edit_of_a_salesforce_owned_field_is_ignored(timing: str) -> None:
    before = _titled("SF Title")
    after = apply_engage_edit(
        before, {"title": "Mine"}, EDIT_TIMES[timing], [_row(S2E)]
    )
    assert after.title == "SF Title"
    assert after.field_times == {"title": ENGAGE_TIME}


def test_bidirectional_field_takes_a_newer_engage_edit() -> None:
    occurred = EDIT_TIMES["engage_newer"]
    after = apply_engage_edit(
        _titled("SF Title"), {"title": "Mine"}, occurred, [_row(BI)]
    )
    assert after.title == "Mine"
    assert after.field_times["title"] == occurred


@pytest.mark.parametrize("timing", ["engage_older", "equal_times"])
def test_bidirectional_field_ignores_an_engage_edit_not_newer_than_salesforce(
    timing: str,
) -> None:
    after = apply_engage_edit(
        _titled("SF Title"), {"title": "Mine"}, EDIT_TIMES[timing], [_row(BI)]
    )
    assert after.title == "SF Title"
    assert after.field_times["title"] == ENGAGE_TIME


@pytest.mark.parametrize(
    "existing", [None, "", "   "], ids=["none", "empty", "whitespace"]
)
@pytest.mark.parametrize("timing", list(EDIT_TIMES))
def test_prefer_salesforce_field_takes_an_engage_edit_when_blank(
    existing: str | None, timing: str
) -> None:
    occurred = EDIT_TIMES[timing]
    after = apply_engage_edit(
        _titled(existing), {"title": "Mine"}, occurred, [_row(PREFER)]
    )
    assert after.title == "Mine"
    assert after.field_times["title"] == occurred


@pytest.mark.parametrize("timing", list(EDIT_TIMES))
def test_prefer_salesforce_field_ignores_an_engage_edit_when_it_has_a_value(
    timing: str,
) -> None:
    after = apply_engage_edit(
        _titled("SF Title"), {"title": "Mine"}, EDIT_TIMES[timing], [_row(PREFER)]
    )
    assert after.title == "SF Title"


def test_engage_edit_of_a_do_not_read_write_field_is_applied() -> None:
    row = MappingRow(engage="street", salesforce=None)
    contact = _contact(fields={"street": "old"}, field_times={"street": 10**13})
    after = apply_engage_edit(contact, {"street": "805 Broadway St"}, 1, [row])
    assert after.fields["street"] == "805 Broadway St"
    assert after.field_times["street"] == 1


def test_engage_edit_of_an_unmapped_engage_only_field_is_applied() -> None:
    after = apply_engage_edit(
        _contact(), {"linkedin": "in/jane", "status": "hot"}, 9, []
    )
    assert after.fields == {"linkedin": "in/jane"}
    assert after.status == "hot"
    assert after.field_times == {"linkedin": 9, "status": 9}


def test_null_values_in_an_engage_edit_are_not_edits() -> None:
    contact = _contact(title="CTO", fields={"street": "x"})
    after = apply_engage_edit(contact, {"title": None, "street": None}, 5, [])
    assert (after.title, after.fields) == ("CTO", {"street": "x"})
    assert after.field_times == {}


def test_engage_edit_with_an_empty_string_clears_an_engage_only_field() -> None:
    after = apply_engage_edit(_contact(fields={"street": "x"}), {"street": ""}, 5, [])
    assert after.fields == {"street": ""}


def test_engage_edit_cannot_set_link_or_scope_attributes() -> None:
    contact = _contact(salesforce_id="003A", in_scope=True)
    edits = {"salesforce_id": "003B", "in_scope": "false", "engage_contact_id": "x"}
    after = apply_engage_edit(contact, edits, 5, [])
    assert after == contact


def test_engage_edit_applies_each_field_by_its_own_direction() -> None:
    rows = [
        MappingRow(engage="last_name", salesforce="LastName", direction=S2E),
        MappingRow(engage="first_name", salesforce="FirstName", direction=BI),
        MappingRow(engage="title", salesforce="Title", direction=PREFER),
    ]
    contact = _contact(
        last_name="Doe",
        first_name="Jane",
        title=None,
        field_times={"last_name": 1, "first_name": 1},
    )
    edits = {"last_name": "Smith", "first_name": "Janet", "title": "CTO"}
    after = apply_engage_edit(contact, edits, 2, rows)
    assert (after.last_name, after.first_name, after.title) == ("Doe", "Janet", "CTO")
    assert after.field_times == {"last_name": 1, "first_name": 2, "title": 2}


def test_engage_edit_then_older_salesforce_change_keeps_the_edit() -> None:
    rows = [_row(BI)]
    edited = apply_engage_edit(
        _titled("SF Title", time=100), {"title": "Mine"}, 200, rows
    )
    after = apply_salesforce(edited, {"Title": "Stale"}, rows, 150)
    assert after.title == "Mine"
    newer = apply_salesforce(edited, {"Title": "Fresh"}, rows, 250)
    assert newer.title == "Fresh"


# --- changed -------------------------------------------------------------------


def test_new_contact_counts_as_changed() -> None:
    assert changed(None, _contact()) is True


def test_time_only_differences_are_not_changes() -> None:
    before = _contact(title="CTO", updated_at_ms=1, field_times={"title": 1})
    after = _contact(title="CTO", updated_at_ms=2, field_times={"title": 2})
    assert changed(before, after) is False


@pytest.mark.parametrize(
    "difference",
    [
        {"title": "CEO"},
        {"fields": {"salutation": "Dr."}},
        {"in_scope": False},
        {"salesforce_id": "003B"},
    ],
)
def test_value_scope_or_link_differences_are_changes(
    difference: dict[str, Any],
) -> None:
    base: dict[str, Any] = {
        "title": "CTO",
        "fields": {"salutation": "Mr."},
        "in_scope": True,
        "salesforce_id": "003A",
    }
    assert changed(_contact(**base), _contact(**{**base, **difference})) is True


def test_reapplying_the_same_salesforce_record_later_is_not_a_change() -> None:
    rows = default_mapping("Lead")
    record = {"LastName": "Doe", "FirstName": "Jane", "Company": "Acme"}
    first = apply_salesforce(_contact(), record, rows, 1)
    second = apply_salesforce(first, record, rows, 2)
    assert second.field_times["last_name"] == 2
    assert changed(first, second) is False
