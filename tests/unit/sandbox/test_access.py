"""The sandbox's permissions: describe, SOQL and writes reflect the integration
user's object permissions, field-level security, the edition and API access."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from sandbox.access import OrgAccess
from sandbox.protocol import Request
from sandbox.server import SandboxApp
from sandbox.state import OrgState

V = "/services/data/v59.0"


def _call(
    app: SandboxApp, auth: dict[str, str], method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    resp = app.dispatch(Request.with_json(method, V + path, body, auth)).response
    assert resp is not None
    return resp.status, resp.body


def _allow(state: OrgState, **access: Any) -> None:
    state.set_access(OrgAccess.from_json(access))


def test_defaults_allow_everything_in_an_enterprise_org(
    app: SandboxApp, bearer: dict[str, str]
) -> None:
    status, body = _call(app, bearer, "GET", "/sobjects")
    flags = {o["name"]: o for o in body["sobjects"]}
    assert all(flags[n]["createable"] for n in ("Task", "Lead", "Contact", "Account"))
    assert flags["Organization"]["createable"] is False
    q = quote("SELECT OrganizationType FROM Organization")
    status, body = _call(app, bearer, "GET", f"/query?q={q}")
    assert status == 200
    assert body["records"][0]["OrganizationType"] == "Enterprise Edition"


def test_object_permissions_show_in_describe_and_refuse_writes(
    app: SandboxApp, state: OrgState, bearer: dict[str, str]
) -> None:
    _allow(state, objects={"Task": {"create": False}, "User": {"read": False}})
    _, body = _call(app, bearer, "GET", "/sobjects")
    flags = {o["name"]: o for o in body["sobjects"]}
    assert flags["Task"]["createable"] is False and flags["Task"]["updateable"]
    assert "User" not in flags
    task = _call(app, bearer, "GET", "/sobjects/Task/describe")[1]
    assert task["createable"] is False
    assert _call(app, bearer, "GET", "/sobjects/User/describe")[0] == 404
    status, body = _call(app, bearer, "POST", "/sobjects/Task", {"Subject": "x"})
    assert (status, body[0]["errorCode"]) == (403, "INSUFFICIENT_ACCESS_OR_READONLY")
    records = {"records": [{"attributes": {"type": "Task"}, "Subject": "x"}]}
    _, items = _call(app, bearer, "POST", "/composite/sobjects", records)
    assert items[0]["errors"][0]["statusCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    q = quote("SELECT Id FROM User")
    status, body = _call(app, bearer, "GET", f"/query?q={q}")
    assert (status, body[0]["errorCode"]) == (400, "INVALID_TYPE")


def test_field_level_security_hides_and_locks_fields(
    app: SandboxApp, state: OrgState, bearer: dict[str, str]
) -> None:
    _allow(
        state,
        fields={
            "Task.Engage_Activity_Id__c": {"visible": False},
            "Lead.Status": {"updateable": False},
        },
    )
    task = _call(app, bearer, "GET", "/sobjects/Task/describe")[1]
    assert "Engage_Activity_Id__c" not in {f["name"] for f in task["fields"]}
    lead = _call(app, bearer, "GET", "/sobjects/Lead/describe")[1]
    status_field = next(f for f in lead["fields"] if f["name"] == "Status")
    assert (status_field["createable"], status_field["updateable"]) == (True, False)
    q = quote("SELECT Engage_Activity_Id__c FROM Task")
    assert _call(app, bearer, "GET", f"/query?q={q}")[1][0]["errorCode"] == (
        "INVALID_FIELD"
    )
    by_hidden = "/sobjects/Task/Engage_Activity_Id__c/e1"
    status, _ = _call(app, bearer, "PATCH", by_hidden, {"Subject": "x"})
    assert status == 404
    status, created = _call(
        app, bearer, "POST", "/sobjects/Lead", {"LastName": "L", "Company": "C"}
    )
    assert status == 201
    status, body = _call(
        app, bearer, "PATCH", f"/sobjects/Lead/{created['id']}", {"Status": "x"}
    )
    assert body[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    # Defaults still apply to what the user cannot write.
    assert state.store.get(created["id"])[1]["Status"] == "Open - Not Contacted"


@pytest.mark.parametrize("edition", ["Professional Edition", "Developer Edition"])
def test_the_edition_is_the_organization_type(
    app: SandboxApp, state: OrgState, bearer: dict[str, str], edition: str
) -> None:
    _allow(state, edition=edition)
    q = quote("SELECT OrganizationType FROM Organization")
    assert (
        _call(app, bearer, "GET", f"/query?q={q}")[1]["records"][0]["OrganizationType"]
        == edition
    )


def test_an_org_without_api_access_refuses_every_rest_call_uncounted(
    app: SandboxApp, state: OrgState, bearer: dict[str, str]
) -> None:
    _allow(state, api_enabled=False)
    status, body = _call(app, bearer, "GET", "/sobjects")
    assert (status, body[0]["errorCode"]) == (403, "API_DISABLED_FOR_ORG")
    assert state.api_usage() == 0


def test_unknown_access_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="edition"):
        OrgAccess.from_json({"edition": "Enterprise"})
    with pytest.raises(ValueError, match="unknown flag"):
        OrgAccess.from_json({"objects": {"Task": {"write": False}}})
