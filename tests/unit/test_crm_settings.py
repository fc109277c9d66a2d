"""The CRM settings document: parsing, error paths, describe checks, round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from domain.crm_settings.describe_check import check_against_describe, field_types
from domain.crm_settings.document import SettingsError, dump_document, parse_document
from domain.crm_settings.models import CrmSettings, MappingRow, default_mapping
from domain.rules.models import Condition, Group

EXAMPLE = (
    Path(__file__).parents[2] / "engage_sync" / "examples" / "crm-settings.example.yaml"
)
MINIMAL = "objects: {Lead: {sync: true}}\n"
LEAD_STATUSES = [
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
]


def problems_of(text: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse_document(text)
    return caught.value.problems


# -- describe factory ------------------------------------------------------------------


def sf_field(name: str, type_: str = "string", **extra: Any) -> dict[str, Any]:
    """One field as Salesforce describe reports it."""
    picklist = extra.pop("picklist", [])
    inactive = set(extra.pop("inactive", []))
    return {
        "name": name,
        "label": name,
        "type": type_,
        "length": 255 if type_ in ("string", "textarea", "picklist") else 0,
        "nillable": True,
        "createable": True,
        "updateable": True,
        "defaultedOnCreate": False,
        "restrictedPicklist": False,
        "referenceTo": [],
        "relationshipName": None,
        "picklistValues": [
            {
                "active": value not in inactive,
                "defaultValue": i == 0,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for i, value in enumerate(picklist)
        ],
        **extra,
    }


def sf_describe(name: str, *fields: dict[str, Any]) -> dict[str, Any]:
    system = [
        sf_field("Id", "id"),
        sf_field("CreatedDate", "datetime"),
        sf_field("LastModifiedDate", "datetime"),
        sf_field(
            "OwnerId", "reference", referenceTo=["User"], relationshipName="Owner"
        ),
    ]
    return {
        "name": name,
        "label": name,
        "keyPrefix": {"Lead": "00Q", "Contact": "003", "Account": "001"}[name],
        "createable": True,
        "updateable": True,
        "queryable": True,
        "fields": system + list(fields),
        "recordTypeInfos": [],
        "urls": {"sobject": f"/services/data/v59.0/sobjects/{name}"},
    }


def person_fields() -> list[dict[str, Any]]:
    return [
        sf_field("Salutation", "picklist", picklist=["Mr.", "Ms.", "Dr."]),
        sf_field("FirstName"),
        sf_field("LastName", nillable=False),
        sf_field("Title"),
        sf_field("Email", "email"),
        sf_field("Phone", "phone"),
        sf_field("HasOptedOutOfEmail", "boolean"),
        sf_field("LastActivityDate", "date"),
    ]


def org_describes(
    *, inactive_statuses: tuple[str, ...] = ()
) -> dict[str, dict[str, Any]]:
    lead = sf_describe(
        "Lead",
        *person_fields(),
        sf_field("Company", nillable=False),
        sf_field(
            "Status", "picklist", picklist=LEAD_STATUSES, inactive=inactive_statuses
        ),
        sf_field("AnnualRevenue", "currency"),
        sf_field("NumberOfEmployees", "int"),
        sf_field("Street", "textarea"),
    )
    contact = sf_describe(
        "Contact",
        *person_fields(),
        sf_field(
            "AccountId",
            "reference",
            referenceTo=["Account"],
            relationshipName="Account",
        ),
    )
    account = sf_describe(
        "Account",
        sf_field("Name", nillable=False),
        sf_field("Website", "url"),
        sf_field("Industry", "picklist", picklist=["Banking", "Retail"]),
    )
    return {"Lead": lead, "Contact": contact, "Account": account}


def lead_doc(rules: str = "", mapping: str = "", extra: str = "") -> str:
    """A Lead-only document with the given rules/mapping lines (flow YAML)."""
    lines = ["objects:", "  Lead:", "    sync: true"]
    if rules:
        lines.append(f"    rules: {rules}")
    if mapping:
        lines.append(f"    mapping: {mapping}")
    if extra:
        lines.append(f"    {extra}")
    return "\n".join(lines) + "\n"


# -- the example document --------------------------------------------------------------


def test_example_document_applies_as_written() -> None:
    settings = parse_document(EXAMPLE.read_text(), str(EXAMPLE))

    lead = settings.objects["Lead"]
    assert lead.sync is True
    assert lead.poll_interval == 300
    assert lead.rules is not None
    assert lead.rules.combinator == "any"
    assert lead.rules.children == [
        Condition(field="Title", op="contains", value="Sales"),
        Condition(field="AnnualRevenue", op="greater_than", value=1000000),
    ]
    assert len(lead.mapping) == 6
    street = next(r for r in lead.mapping if r.engage == "street")
    assert street.do_not_read_write
    company = next(r for r in lead.mapping if r.engage == "company")
    assert (company.salesforce, company.default) == ("Company", "Unknown")
    first = next(r for r in lead.mapping if r.engage == "first_name")
    assert first.direction == "bidirectional_most_recent"

    contact = settings.objects["Contact"]
    assert contact.sync is True and contact.mapping == []
    assert settings.mapping("Contact") == default_mapping("Contact")
    assert settings.synced() == ["Lead", "Contact"]
    assert settings.sync_settings.engage_created_accounts == "none"
    assert settings.users == {"u1": "005000000000001AAA"}


def test_example_document_passes_the_describe_check() -> None:
    settings = parse_document(EXAMPLE.read_text())
    assert check_against_describe(settings, org_describes()) == []


def test_example_document_passes_the_sandbox_describe() -> None:
    from sandbox.fields import describe_object
    from sandbox.objects import account, contact, lead

    describes = {
        o.name: describe_object(o, "59.0") for o in (lead(), contact(), account())
    }
    settings = parse_document(EXAMPLE.read_text())
    assert check_against_describe(settings, describes) == []


# -- defaults and values ---------------------------------------------------------------


def test_only_objects_given_fills_every_default() -> None:
    settings = parse_document("objects: {Lead: {}, Contact: {}}")

    for obj in settings.objects.values():
        assert obj.sync is False
        assert obj.poll_interval == 300
        assert obj.rules is None
        assert obj.mapping == []
    assert settings.users == {}
    assert settings.synced() == []
    sync = settings.sync_settings
    assert sync.phone_region == "US"
    assert sync.write_activity_history is True
    assert sync.match_order == ["Contact", "Lead"]
    assert sync.engage_created_contacts == "create_lead"
    assert sync.engage_created_accounts == "none"


def test_json_document_reads_like_yaml() -> None:
    yaml_settings = parse_document(EXAMPLE.read_text())
    as_json = json.dumps(yaml_settings.model_dump(mode="json", by_alias=True))
    assert parse_document(as_json, "crm.json") == yaml_settings


@pytest.mark.parametrize(
    ("written", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("10s", 10)]
)
def test_poll_interval_reads_durations(written: str, seconds: int) -> None:
    settings = parse_document(f"objects: {{Lead: {{poll_interval: {written}}}}}")
    assert settings.objects["Lead"].poll_interval == seconds


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("5", "must be at least 10s"),
        ("0s", "must be at least 10s"),
        ("9s", "must be at least 10s"),
        ("5 minutes", "'5 minutes' is not a duration like 30s, 5m or 1h"),
        ("true", "must be a duration like 30s, 5m or 1h (got true)"),
    ],
)
def test_poll_interval_refuses_bad_durations(written: str, why: str) -> None:
    problems = problems_of(f"objects: {{Lead: {{poll_interval: {written}}}}}")
    assert problems == [f"objects.Lead.poll_interval: {why}"]


def test_write_activity_history_is_a_bool() -> None:
    settings = parse_document(
        "objects: {}\nsync_settings: {write_activity_history: false}"
    )
    assert settings.sync_settings.writes_activity_for("Lead") is False
    assert settings.sync_settings.writes_activity_for("Contact") is False


def test_write_activity_history_is_a_per_object_map() -> None:
    settings = parse_document(
        "objects: {}\nsync_settings: {write_activity_history: {Lead: false}}"
    )
    assert settings.sync_settings.write_activity_history == {"Lead": False}
    assert settings.sync_settings.writes_activity_for("Lead") is False
    assert settings.sync_settings.writes_activity_for("Contact") is True


def test_write_activity_history_refuses_other_objects_and_values() -> None:
    assert problems_of(
        "objects: {}\nsync_settings: {write_activity_history: {Account: true}}"
    ) == [
        "sync_settings.write_activity_history.Account: "
        "'Account' is not one of Lead, Contact"
    ]
    assert problems_of(
        "objects: {}\nsync_settings: {write_activity_history: maybe}"
    ) == [
        "sync_settings.write_activity_history: "
        "must be true/false or a mapping (got 'maybe')"
    ]


def test_a_given_mapping_must_map_first_and_last_name() -> None:
    problems = problems_of(lead_doc(mapping="[{engage: title, salesforce: Title}]"))
    assert problems == [
        "objects.Lead.mapping: required Engage field(s) last_name, first_name "
        "must be mapped to a Salesforce field"
    ]


def test_do_not_read_write_does_not_count_as_mapped() -> None:
    mapping = (
        "[{engage: last_name, salesforce: LastName},"
        " {engage: first_name, salesforce: null}]"
    )
    assert problems_of(lead_doc(mapping=mapping)) == [
        "objects.Lead.mapping: required Engage field(s) first_name "
        "must be mapped to a Salesforce field"
    ]


def test_account_mapping_needs_no_person_fields() -> None:
    settings = parse_document(
        "objects: {Account: {mapping: [{engage: name, salesforce: Name}]}}"
    )
    assert settings.mapping("Account") == [MappingRow(engage="name", salesforce="Name")]


# -- every kind of invalid field, with its exact path ----------------------------------

NAMES = (
    "[{engage: last_name, salesforce: LastName},"
    " {engage: first_name, salesforce: FirstName}"
)
OPS = (
    "equals, not_equals, contains, does_not_contain, starts_with, greater_than, "
    "less_than, greater_or_equal, less_or_equal, in, not_in, is_empty, is_not_empty"
)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        pytest.param(
            lead_doc(
                rules="{any: [{field: Title, op: contains, value: a},"
                " {field: Title, op: bigger, value: 1}]}"
            ),
            f"objects.Lead.rules.any[1].op: 'bigger' is not one of {OPS}",
            id="unknown-op",
        ),
        pytest.param(
            lead_doc(
                rules="{all: [{any: [{field: Title, op: is_empty},"
                " {all: [{field: Status, op: in, value: Open}]}]}]}"
            ),
            "objects.Lead.rules.all[0].any[1].all[0].value: "
            "'in' takes a non-empty list of values",
            id="nested-in-without-list",
        ),
        pytest.param(
            lead_doc(rules="{all: [{field: Email, op: is_empty, value: x}]}"),
            "objects.Lead.rules.all[0].value: 'is_empty' takes no value",
            id="is-empty-with-value",
        ),
        pytest.param(
            lead_doc(rules="{all: [{field: Email, op: equals}]}"),
            "objects.Lead.rules.all[0].value: 'equals' takes one value",
            id="equals-without-value",
        ),
        pytest.param(
            lead_doc(
                rules="{all: [{field: A, op: is_empty}],"
                " any: [{field: B, op: is_empty}]}"
            ),
            "objects.Lead.rules: a rule group has exactly one of 'all' or 'any'",
            id="group-with-all-and-any",
        ),
        pytest.param(
            lead_doc(
                rules="{any: [{field: A, op: is_empty},"
                " {all: [{field: B, op: is_empty}], any: [{field: C, op: is_empty}]}]}"
            ),
            "objects.Lead.rules.any[1]: a rule group has exactly one of 'all' or 'any'",
            id="nested-group-with-all-and-any",
        ),
        pytest.param(
            lead_doc(rules="{all: []}"),
            "objects.Lead.rules: a rule group needs at least one condition",
            id="empty-group",
        ),
        pytest.param(
            lead_doc(rules="{all: [{field: Title, value: x}]}"),
            "objects.Lead.rules.all[0].op: is required",
            id="condition-without-op",
        ),
        pytest.param(
            lead_doc(rules="{all: [{field: Title, op: equals, value: x, case: no}]}"),
            "objects.Lead.rules.all[0].case: is not a known key "
            "(known: field, op, value)",
            id="unknown-condition-key",
        ),
        pytest.param(
            lead_doc(rules="{all: [5]}"),
            "objects.Lead.rules.all[0]: must be a condition {field, op, value} or a "
            "rule group {all: [...]} or {any: [...]} (got 5)",
            id="rule-not-a-mapping",
        ),
        pytest.param(
            "objects: {}\nsync_rules: {}\n",
            "sync_rules: is not a known key (known: objects, sync_settings, users)",
            id="unknown-top-level-key",
        ),
        pytest.param(
            "objects: {Opportunity: {sync: true}}\n",
            "objects.Opportunity: 'Opportunity' is not one of Lead, Contact, Account",
            id="unknown-object",
        ),
        pytest.param(
            lead_doc(
                mapping=NAMES + ", {engage: title, salesforce: Title,"
                " direction: both_ways}]"
            ),
            "objects.Lead.mapping[2].direction: 'both_ways' is not one of "
            "salesforce_to_engage, bidirectional_most_recent, "
            "prefer_salesforce_unless_blank",
            id="unknown-direction",
        ),
        pytest.param(
            lead_doc(mapping=NAMES + ", {engage: '', salesforce: Title}]"),
            "objects.Lead.mapping[2].engage: must not be empty",
            id="empty-engage-field",
        ),
        pytest.param(
            lead_doc(mapping=NAMES + ", {engage: last_name, salesforce: Name}]"),
            "objects.Lead.mapping: Engage field 'last_name' is mapped twice",
            id="engage-field-mapped-twice",
        ),
        pytest.param(
            lead_doc(mapping=NAMES + ", {engage: title, sf: Title}]"),
            "objects.Lead.mapping[2].sf: is not a known key "
            "(known: engage, salesforce, direction, default)",
            id="unknown-mapping-key",
        ),
        pytest.param(
            "objects: {Lead: {sync: sometimes}}\n",
            "objects.Lead.sync: must be a valid boolean, unable to interpret input "
            "(got 'sometimes')",
            id="sync-not-a-bool",
        ),
        pytest.param(
            "objects: {}\nsync_settings: {match_order: [Contact, Account]}\n",
            "sync_settings.match_order[1]: 'Account' is not one of Contact, Lead",
            id="match-order-object",
        ),
        pytest.param(
            "objects: {}\nsync_settings: {engage_created_contacts: create_account}\n",
            "sync_settings.engage_created_contacts: 'create_account' is not one of "
            "create_lead, create_contact, none",
            id="unknown-engage-created-contacts",
        ),
        pytest.param(
            "objects: {}\nusers: {u1: [a, b]}\n",
            "users.u1: must be a valid string (got a list)",
            id="user-not-text",
        ),
        pytest.param(
            "objects: [Lead, Contact]\n",
            "objects: must be a mapping (got a list)",
            id="objects-not-a-mapping",
        ),
        pytest.param(
            "sync_settings: {}\n",
            "objects: is required",
            id="objects-missing",
        ),
    ],
)
def test_invalid_field_is_refused_with_its_exact_path(
    document: str, problem: str
) -> None:
    assert problems_of(document) == [problem]


def test_every_problem_in_a_document_is_reported_at_once() -> None:
    document = (
        "objects:\n"
        "  Lead: {poll_interval: 1s,"
        " rules: {any: [{field: A, op: bigger, value: 1}]}}\n"
        "  Contact: {mapping: [{engage: last_name, salesforce: LastName,"
        " direction: up}]}\n"
        "colour: blue\n"
    )
    problems = problems_of(document)
    assert sorted(problems) == sorted(
        [
            "objects.Lead.poll_interval: must be at least 10s",
            f"objects.Lead.rules.any[0].op: 'bigger' is not one of {OPS}",
            "objects.Contact.mapping[0].direction: 'up' is not one of "
            "salesforce_to_engage, bidirectional_most_recent, "
            "prefer_salesforce_unless_blank",
            "colour: is not a known key (known: objects, sync_settings, users)",
        ]
    )


def test_union_noise_is_reduced_to_one_problem_per_bad_rule() -> None:
    document = lead_doc(rules="{all: [{fild: Title, op: equals, value: x}]}")
    assert problems_of(document) == [
        "objects.Lead.rules.all[0].field: is required",
        "objects.Lead.rules.all[0].fild: is not a known key (known: field, op, value)",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "document: is empty; it needs at least 'objects'"),
        ("# only a comment\n", "document: is empty; it needs at least 'objects'"),
        ("- objects\n", "document: must be a mapping with 'objects' (got a list)"),
        ("just text", "document: must be a mapping with 'objects' (got text)"),
    ],
)
def test_empty_or_non_mapping_document_is_refused(text: str, problem: str) -> None:
    assert problems_of(text) == [problem]


def test_broken_yaml_names_the_line() -> None:
    problems = problems_of("objects:\n  Lead: {sync: true\n")
    assert len(problems) == 1 and problems[0].startswith("line 3, column 1: ")


def test_duplicate_key_is_refused_not_silently_overwritten() -> None:
    problems = problems_of("objects:\n  Lead: {sync: true}\n  Lead: {sync: false}\n")
    assert problems == ["line 3, column 3: key 'Lead' appears twice"]


def test_yaml_dates_stay_text_like_json() -> None:
    settings = parse_document(
        lead_doc(
            rules="{all: [{field: LastActivityDate, op: equals, value: 2024-01-31}]}"
        )
    )
    assert settings.objects["Lead"].rules is not None
    assert settings.objects["Lead"].rules.children[0].value == "2024-01-31"  # type: ignore[union-attr]


def test_settings_error_is_a_value_error_naming_the_file() -> None:
    with pytest.raises(ValueError, match=r"crm\.yaml: 1 problem\n  foo: ") as caught:
        parse_document("objects: {}\nfoo: 1\n", "crm.yaml")
    assert isinstance(caught.value, SettingsError)


# -- against the org's describe --------------------------------------------------------


def check(document: str, **kw: Any) -> list[str]:
    return check_against_describe(parse_document(document), org_describes(**kw))


def test_field_types_maps_names_to_describe_types() -> None:
    types = field_types(org_describes()["Lead"])
    assert types["AnnualRevenue"] == "currency"
    assert types["Status"] == "picklist"
    assert types["Title"] == "string"
    assert types["CreatedDate"] == "datetime"


def test_describe_check_finds_nothing_wrong_with_a_fitting_document() -> None:
    document = (
        "objects:\n"
        "  Lead:\n"
        "    rules:\n"
        "      all:\n"
        "        - {field: AnnualRevenue, op: greater_or_equal, value: '2500.50'}\n"
        "        - {field: NumberOfEmployees, op: in, value: [10, 20]}\n"
        "        - {field: LastActivityDate, op: greater_than, value: 2024-01-31}\n"
        "        - {field: CreatedDate, op: less_than, value: '2024-01-31T09:00:00Z'}\n"
        "        - {field: HasOptedOutOfEmail, op: equals, value: false}\n"
        "        - any: [{field: Email, op: contains, value: '@acme'},"
        " {field: Phone, op: starts_with, value: 49}]\n"
        "    status_values: {replied: Working - Contacted}\n"
        "  Contact: {mapping: []}\n"
        "  Account: {mapping: [{engage: name, salesforce: Name}]}\n"
    )
    assert check(document) == []


# A Lead is created by default (create_lead): its mapping must fill Company.
COMPANY = ", {engage: company, salesforce: Company}]"


def test_describe_check_finds_an_unknown_mapped_field() -> None:
    title = ", {engage: title, salesforce: Titel}"
    document = lead_doc(mapping=NAMES + title + COMPANY)
    assert check(document) == [
        "objects.Lead.mapping[2].salesforce: no field 'Titel' on Lead"
    ]


def test_describe_check_hints_at_the_right_case() -> None:
    title = ", {engage: title, salesforce: title}"
    document = lead_doc(mapping=NAMES + title + COMPANY)
    assert check(document) == [
        "objects.Lead.mapping[2].salesforce: no field 'title' on Lead "
        "(did you mean 'Title'?)"
    ]


def test_describe_check_covers_the_default_mapping() -> None:
    describes = org_describes()
    describes["Lead"]["fields"] = [
        f for f in describes["Lead"]["fields"] if f["name"] != "Salutation"
    ]
    problems = check_against_describe(parse_document("objects: {Lead: {}}"), describes)
    assert problems == [
        "objects.Lead.mapping: the default mapping reads no field 'Salutation' on "
        "Lead (for Engage field 'salutation'); give a mapping"
    ]


def test_describe_check_follows_relationships_to_the_related_describe() -> None:
    document = (
        "objects:\n"
        "  Contact:\n"
        "    mapping:\n"
        "      - {engage: last_name, salesforce: LastName}\n"
        "      - {engage: first_name, salesforce: FirstName}\n"
        "      - {engage: company, salesforce: Account.Nmae}\n"
        "      - {engage: owner, salesforce: Owner.Name}\n"
        "      - {engage: region, salesforce: Acount.Name}\n"
    )
    assert check(document) == [
        "objects.Contact.mapping[2].salesforce: no field 'Nmae' on Account "
        "(in 'Account.Nmae')",
        "objects.Contact.mapping[4].salesforce: no relationship 'Acount' on Contact "
        "(in 'Acount.Name')",
    ]  # Owner.Name is accepted: no User describe was given


def test_describe_check_finds_an_unknown_rule_field() -> None:
    document = lead_doc(
        rules="{all: [{field: Email, op: is_not_empty},"
        " {any: [{field: Rating, op: equals, value: Hot}]}]}"
    )
    assert check(document) == [
        "objects.Lead.rules.all[1].any[0].field: no field 'Rating' on Lead"
    ]


def test_describe_check_refuses_contains_on_a_currency_field() -> None:
    document = lead_doc(
        rules="{all: [{field: AnnualRevenue, op: contains, value: '1'}]}"
    )
    assert check(document) == [
        "objects.Lead.rules.all[0].op: 'contains' works on text fields only; "
        "'AnnualRevenue' is a currency field"
    ]


def test_describe_check_refuses_greater_than_on_a_text_field() -> None:
    document = lead_doc(rules="{all: [{field: Title, op: greater_than, value: 5}]}")
    assert check(document) == [
        "objects.Lead.rules.all[0].op: 'greater_than' works on number, date and "
        "datetime fields only; 'Title' is a string field"
    ]


def test_describe_check_refuses_greater_than_with_a_non_number() -> None:
    document = lead_doc(
        rules="{all: [{field: AnnualRevenue, op: greater_than, value: lots}]}"
    )
    assert check(document) == [
        "objects.Lead.rules.all[0].value: 'lots' is not a number (currency field)"
    ]


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        (
            "{field: NumberOfEmployees, op: in, value: [10, ten]}",
            "objects.Lead.rules.all[0].value[1]: 'ten' is not a number (int field)",
        ),
        (
            "{field: LastActivityDate, op: less_than, value: 31/01/2024}",
            "objects.Lead.rules.all[0].value: '31/01/2024' is not a date like "
            "2024-01-31",
        ),
        (
            "{field: LastActivityDate, op: less_than, value: 2024-02-30}",
            "objects.Lead.rules.all[0].value: '2024-02-30' is not a date like "
            "2024-01-31",
        ),
        (
            "{field: CreatedDate, op: greater_than, value: 2024-01-31}",
            "objects.Lead.rules.all[0].value: '2024-01-31' is not a datetime like "
            "2024-01-31T09:00:00Z",
        ),
        (
            "{field: HasOptedOutOfEmail, op: equals, value: 'no'}",
            "objects.Lead.rules.all[0].value: 'no' is not true or false",
        ),
        (
            "{field: AnnualRevenue, op: equals, value: true}",
            "objects.Lead.rules.all[0].value: true is not a number (currency field)",
        ),
    ],
)
def test_describe_check_refuses_values_that_do_not_fit_the_field_type(
    condition: str, problem: str
) -> None:
    assert check(lead_doc(rules=f"{{all: [{condition}]}}")) == [problem]


def test_describe_check_refuses_an_unknown_lead_status() -> None:
    document = lead_doc(
        extra="status_values: {replied: Working, bounced: Closed - Converted}"
    )
    assert check(document) == [
        "objects.Lead.status_values.replied: 'Working' is not a value of Lead.Status "
        f"(active: {', '.join(LEAD_STATUSES)})"
    ]


def test_describe_check_refuses_an_inactive_lead_status() -> None:
    document = lead_doc(extra="status_values: {bounced: Closed - Not Converted}")
    active = ", ".join(LEAD_STATUSES[:3])
    assert check(document, inactive_statuses=("Closed - Not Converted",)) == [
        "objects.Lead.status_values.bounced: 'Closed - Not Converted' is an inactive "
        f"value of Lead.Status (active: {active})"
    ]


def test_describe_check_skips_objects_without_a_describe() -> None:
    settings = parse_document(lead_doc(rules="{all: [{field: Nope, op: is_empty}]}"))
    assert check_against_describe(settings, {}) == []
    assert check_against_describe(settings, org_describes()) != []


# -- writing the document back ---------------------------------------------------------


def test_dump_of_the_example_reads_back_equal() -> None:
    settings = parse_document(EXAMPLE.read_text())
    text = dump_document(settings)
    assert parse_document(text) == settings
    assert "poll_interval: 5m" in text
    assert "any:" in text and "any_" not in text


def test_dump_of_a_full_document_reads_back_equal() -> None:
    settings = CrmSettings(
        objects={
            "Lead": {
                "sync": True,
                "poll_interval": 90,
                "rules": Group(
                    all=[
                        Condition(field="Email", op="is_not_empty"),
                        Group(
                            any=[
                                Condition(field="Status", op="in", value=["a", "b"]),
                                Condition(field="Title", op="equals", value="yes"),
                                Condition(field="Phone", op="equals", value="0123"),
                                Condition(
                                    field="LastActivityDate",
                                    op="equals",
                                    value="2024-01-31",
                                ),
                            ]
                        ),
                    ]
                ),
                "mapping": [
                    {"engage": "last_name", "salesforce": "LastName"},
                    {"engage": "first_name", "salesforce": "FirstName"},
                    {"engage": "street", "salesforce": None},
                    {"engage": "company", "salesforce": "Company", "default": "n/a"},
                ],
                "status_values": {"replied": "Working - Contacted"},
            },
            "Contact": {"poll_interval": 7200},
            "Account": {"sync": True, "poll_interval": 60},
        },
        sync_settings={
            "write_activity_history": {"Lead": False, "Contact": True},
            "phone_region": "DE",
            "match_order": ["Lead", "Contact"],
            "unmapped_user_tasks": "hold",
        },
        users={"u1": "005000000000001AAA", "u 2": "005000000000002AAA"},
    )
    text = dump_document(settings)
    assert parse_document(text) == settings
    assert "poll_interval: 90s" in text
    assert "poll_interval: 2h" in text
    assert "poll_interval: 1m" in text


def test_on_account_refused_defaults_to_creating_the_contact_and_refuses_others() -> (
    None
):
    settings = parse_document("objects: {}")
    assert settings.sync_settings.on_account_refused == "create_contact_without_account"
    skip = parse_document(
        "objects: {}\nsync_settings: {on_account_refused: skip_contact}"
    )
    assert skip.sync_settings.on_account_refused == "skip_contact"
    (problem,) = problems_of("objects: {}\nsync_settings: {on_account_refused: force}")
    assert problem.startswith("sync_settings.on_account_refused: ")
    assert "create_contact_without_account" in problem and "skip_contact" in problem
