"""1,000 Tasks cost one API call: a Composite of five 200-record collections."""

from __future__ import annotations

from typing import Any

from connectors.salesforce.client import SalesforceClient
from ground.settings import SalesforceSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import salesforce_env

EXT = "Engage_Activity_Id__c"


def _tasks(n: int, tag: str) -> list[dict[str, Any]]:
    return [
        {"Subject": f"Call {i}", "Status": "Completed", EXT: f"{tag}-{i}"}
        for i in range(n)
    ]


def test_a_thousand_upserts_are_one_api_call_and_a_replay_creates_nothing(
    sandbox_org: Any,
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    client = SalesforceClient(SalesforceSettings(**salesforce_env(sandbox_org)))
    client.connect()
    before = admin.api_calls()
    answers = client.upsert_many("Task", EXT, _tasks(1000, "c"))
    assert admin.api_calls() - before == 1
    assert [a["success"] for a in answers] == [True] * 1000
    assert sum(bool(a["created"]) for a in answers) == 1000
    again = client.upsert_many("Task", EXT, _tasks(1000, "c"))
    assert sum(bool(a["created"]) for a in again) == 0
    assert admin.stats()["records"]["Task"] == 1000


def test_record_refusals_inside_a_composite_stay_per_record(
    sandbox_org: Any,
) -> None:
    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    admin.set_rules(
        validation_rules=[
            {
                "object": "Task",
                "name": "No_Forbidden_Subject",
                "active": True,
                "on_create": True,
                "on_update": True,
                "condition": {"kind": "equals", "field": "Subject", "value": "bad"},
                "message": "Subject may not be bad",
                "error_field": "Subject",
            }
        ]
    )
    client = SalesforceClient(SalesforceSettings(**salesforce_env(sandbox_org)))
    records = _tasks(450, "v")
    for i in (3, 250, 449):
        records[i]["Subject"] = "bad"
    answers = client.upsert_many("Task", EXT, records)
    failed = [i for i, a in enumerate(answers) if not a["success"]]
    assert failed == [3, 250, 449]
    codes = {answers[i]["errors"][0]["statusCode"] for i in failed}
    assert codes == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    assert admin.stats()["records"]["Task"] == 447
