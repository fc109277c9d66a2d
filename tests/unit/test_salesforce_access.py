"""The start-up access check's decisions, against fake describes: each missing
grant, edition and API refusal gives one line naming object and permission."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from connectors.salesforce.access import AccessRefused, require_access
from connectors.salesforce.errors import ErrorKind, FatalError, Problem
from domain.crm_settings.models import CrmSettings, MappingRow, ObjectSettings

USER = "integration@example.org"
OBJECTS = ("Account", "Contact", "Lead", "User", "Task")
GRANT = "to its profile or permission set"


def _fields(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "createable": True, "updateable": True} for n in names]


ORG: dict[str, Any] = {
    "sobjects": [
        {"name": n, "queryable": True, "createable": True, "updateable": True}
        for n in OBJECTS
    ],
    "describe": {
        "Task": {"fields": _fields("Subject", "Engage_Activity_Id__c")},
        "Lead": {"fields": _fields("LastName", "Status", "HasOptedOutOfEmail")},
        "Contact": {"fields": _fields("LastName", "HasOptedOutOfEmail")},
    },
    "edition": "Enterprise Edition",
}


class FakeOrg:
    """Answers the check's calls from `ORG`-shaped data; counts them."""

    def __init__(self, org: dict[str, Any], refuse: str | None = None) -> None:
        self.org, self.refuse = org, refuse
        self.calls: list[str] = []

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls.append(path)
        if self.refuse:
            raise FatalError(Problem(ErrorKind.FATAL, self.refuse, "refused"))
        if path == "sobjects":
            return {"sobjects": self.org["sobjects"]}
        assert kwargs["params"]["q"] == "SELECT OrganizationType FROM Organization"
        return {"records": [{"OrganizationType": self.org["edition"]}]}

    def describe(self, sobject: str) -> dict[str, Any]:
        self.calls.append(f"describe {sobject}")
        if sobject not in {o["name"] for o in self.org["sobjects"]}:
            # As Salesforce answers for an object the user cannot read.
            raise FatalError(Problem(ErrorKind.FATAL, "NOT_FOUND", "no such object"))
        return dict(self.org["describe"][sobject])


def _org(**change: Any) -> dict[str, Any]:
    """ORG with object flags (`Task__createable=False`), a field's flags
    (`Lead_Status__updateable=False`, `..._hidden=True`), or `edition` changed."""
    org = copy.deepcopy(ORG)
    for key, value in change.items():
        if key == "edition":
            org["edition"] = value
            continue
        parts = key.rsplit("__", 1)
        if parts[0] in OBJECTS and parts[1] == "unlisted":
            org["sobjects"] = [o for o in org["sobjects"] if o["name"] != parts[0]]
        elif parts[0] in OBJECTS:
            next(o for o in org["sobjects"] if o["name"] == parts[0])[parts[1]] = value
        else:
            obj, field = parts[0].split("_", 1)
            fields = org["describe"][obj]["fields"]
            if parts[1] == "hidden":
                fields[:] = [f for f in fields if f["name"] != field]
            else:
                next(f for f in fields if f["name"] == field)[parts[1]] = value
    return org


def _crm(**mapped: str) -> CrmSettings:
    """Settings mapping the given Engage fields both ways, per object."""
    objects = {}
    for obj, rows in mapped.items():
        mapping = [
            MappingRow(engage="last_name", salesforce="LastName"),
            MappingRow(engage="first_name", salesforce="FirstName"),
        ] + [
            MappingRow(
                engage=engage, salesforce=field, direction="bidirectional_most_recent"
            )
            for engage, field in (pair.split("=") for pair in rows.split(","))
        ]
        objects[obj] = ObjectSettings(mapping=mapping)
    return CrmSettings(objects=objects)  # type: ignore[arg-type]


def test_an_allowed_user_passes_with_three_calls_and_gets_the_task_describe() -> None:
    org = FakeOrg(ORG)
    describes = require_access(org, None, USER)
    assert describes["Task"] == ORG["describe"]["Task"]
    assert org.calls == ["sobjects", "query", "describe Task"]


def test_describes_the_caller_has_are_not_fetched_again() -> None:
    org = FakeOrg(ORG)
    crm = _crm(Lead="status=Status")
    known = {"Lead": ORG["describe"]["Lead"]}
    assert set(require_access(org, crm, USER, known)) == {"Lead", "Task"}
    assert "describe Lead" not in org.calls


NO_LEAD = (
    "cannot read Lead, create Lead, edit Lead: grant Read on Lead, Create on Lead, "
    f"Edit on Lead {GRANT}"
)
REFUSED = {
    "no create on Task": (
        _org(Task__createable=False),
        None,
        f"Salesforce user {USER} cannot create Task: grant Create on Task {GRANT}",
    ),
    "no edit on Account": (
        _org(Account__updateable=False),
        None,
        f"cannot edit Account: grant Edit on Account {GRANT}",
    ),
    "no read on Lead": (_org(Lead__unlisted=True), None, NO_LEAD),
    "no read on Lead while its Status is mapped: not described": (
        _org(Lead__unlisted=True),
        _crm(Lead="status=Status"),
        NO_LEAD,
    ),
    "no read on User": (
        _org(User__queryable=False),
        None,
        f"cannot read User: grant Read on User {GRANT}",
    ),
    "external id hidden": (
        _org(Task_Engage_Activity_Id__c__hidden=True),
        None,
        "cannot see Task.Engage_Activity_Id__c: grant Read and Edit access on "
        f"Task.Engage_Activity_Id__c {GRANT} (if Task.Engage_Activity_Id__c does not "
        "exist, create it as a Text(255) custom field with 'External ID' and 'Unique'"
        " ticked (README: Salesforce setup))",
    ),
    "external id read-only": (
        _org(Task_Engage_Activity_Id__c__createable=False),
        None,
        "cannot create Task.Engage_Activity_Id__c: grant Edit access on "
        f"Task.Engage_Activity_Id__c {GRANT}",
    ),
    "Lead.Status read-only while mapped": (
        _org(Lead_Status__updateable=False),
        _crm(Lead="status=Status"),
        f"cannot edit Lead.Status: grant Edit access on Lead.Status {GRANT}",
    ),
    "Contact opt-out hidden while mapped": (
        _org(Contact_HasOptedOutOfEmail__hidden=True),
        _crm(Contact="email_opt_out=HasOptedOutOfEmail"),
        "cannot see Contact.HasOptedOutOfEmail: grant Read and Edit access on "
        f"Contact.HasOptedOutOfEmail {GRANT}",
    ),
    "two grants missing: one line names both": (
        _org(Task__updateable=False, Lead_HasOptedOutOfEmail__updateable=False),
        _crm(Lead="email_opt_out=HasOptedOutOfEmail"),
        "cannot edit Task, edit Lead.HasOptedOutOfEmail: grant Edit on Task, Edit "
        f"access on Lead.HasOptedOutOfEmail {GRANT}",
    ),
    "Professional Edition": (
        _org(edition="Professional Edition"),
        None,
        "the Salesforce org is Professional Edition: Engage needs Enterprise, "
        "Unlimited, Developer or Performance Edition",
    ),
    **{
        str(edition): (
            _org(edition=edition),
            None,
            f"the Salesforce org is {edition or 'of an unknown edition'}: Engage needs "
            "Enterprise, Unlimited, Developer or Performance Edition",
        )
        for edition in ("Team Edition", "Base Edition", None)
    },
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_missing_grant_or_edition_stops_with_one_line_naming_it(case: str) -> None:
    org, crm, expected = REFUSED[case]
    with pytest.raises(AccessRefused) as refused:
        require_access(FakeOrg(org), crm, USER)
    message = refused.value.message
    assert "\n" not in message
    # The line is the whole message (object refusals share the user's prefix).
    assert message.endswith(expected), message
    assert message.startswith((f"Salesforce user {USER} cannot ", "the Salesforce org"))
    assert refused.value.code == f"engage-sync: {message}"


@pytest.mark.parametrize(
    "org",
    [
        _org(Lead_Status__updateable=False, Contact_HasOptedOutOfEmail__hidden=True),
        _org(edition="Unlimited Edition"),
        _org(edition="Developer Edition"),
        _org(edition="Performance Edition"),
    ],
)
def test_what_is_not_needed_is_not_asked_for(org: dict[str, Any]) -> None:
    """Status and opt-out matter only when mapped to be written; every edition with
    API access passes."""
    require_access(FakeOrg(org), _crm(Lead="status=LeadSource"), USER)


def test_a_one_way_mapping_of_status_needs_no_edit_on_it() -> None:
    crm = CrmSettings(
        objects={
            "Lead": ObjectSettings(
                mapping=[
                    MappingRow(engage="last_name", salesforce="LastName"),
                    MappingRow(engage="first_name", salesforce="FirstName"),
                    MappingRow(engage="status", salesforce="Status"),
                ]
            )
        }
    )
    require_access(FakeOrg(_org(Lead_Status__updateable=False)), crm, USER)


def test_an_org_without_api_access_is_named_with_salesforces_code() -> None:
    org = FakeOrg(ORG, refuse="API_DISABLED_FOR_ORG")
    with pytest.raises(AccessRefused, match="API_DISABLED_FOR_ORG") as refused:
        require_access(org, None, USER)
    assert "Enterprise, Unlimited, Developer or Performance" in refused.value.message
    assert org.calls == ["sobjects"]


def test_other_fatal_errors_are_not_taken_for_missing_grants() -> None:
    with pytest.raises(FatalError, match="INVALID_SESSION_ID"):
        require_access(FakeOrg(ORG, refuse="INVALID_SESSION_ID"), None, USER)
