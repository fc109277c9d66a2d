"""The API Engage reads through: a contact's Salesforce record and the Task Subject
picklist, cached, spent at the budget's lowest priority, 429 when it refuses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.salesforce.budget import Blocked, Priority
from connectors.salesforce.errors import ErrorKind, Problem, ThrottledError
from domain.contacts.models import EngageContact
from domain.crm_settings.models import MappingRow
from engage_sync.console.api import EXAMPLE_CONTACT
from engage_sync.console.app import create_app
from engage_sync.console.reads import (
    CachedReads,
    ContactRecords,
    Reads,
    TaskSubject,
    task_subject_picklist,
)
from tests.unit.test_console_security import TOKEN, _settings, _status

AUTH = {"Authorization": f"Bearer {TOKEN}"}
LEAD_ID = "00Q5e000001AbCdEAA"
MAPPING = [
    MappingRow(engage="last_name", salesforce="LastName"),
    MappingRow(engage="title", salesforce="Title"),
    MappingRow(engage="company", salesforce="Account.Name"),
    MappingRow(engage="street", salesforce=None),  # Do Not Read/Write
]
SUBJECT = {
    "name": "Subject",
    "type": "combobox",
    "restrictedPicklist": False,
    "picklistValues": [
        {"value": "Call", "label": "Call", "active": True, "defaultValue": True},
        {"value": "Old", "label": "Old", "active": False, "defaultValue": False},
        {"value": "Send Quote", "label": "Send Quote", "active": True},
    ],
}


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeBudget:
    """Refuses `Priority.CONSOLE` while `refusing`; records what was asked."""

    refusing: Blocked | None = None
    asked: list[Priority] = field(default_factory=list)
    exceeded: int = 0

    def blocked(self, priority: Priority) -> Blocked | None:
        self.asked.append(priority)
        return self.refusing

    def limit_exceeded(self) -> None:
        self.exceeded += 1


@dataclass
class FakeOrg:
    """Salesforce as the reads see it: queries answered from `rows`, counted."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)
    describes: int = 0
    subject: dict[str, Any] = field(default_factory=lambda: dict(SUBJECT))
    fail: Exception | None = None

    def first(self, soql: str) -> dict[str, Any] | None:
        self.queries.append(soql)
        if self.fail is not None:
            raise self.fail
        return next((r for i, r in self.rows.items() if f"'{i}'" in soql), None)

    def describe(self, obj: str) -> dict[str, Any]:
        assert obj == "Task"
        self.describes += 1
        return {"name": "Task", "fields": [{"name": "Id", "type": "id"}, self.subject]}


CONTACTS = {
    "e-1": EngageContact("e-1", salesforce_id=LEAD_ID, salesforce_object="Lead"),
    # The OpenAPI document's example: schemathesis reads a linked record with it.
    EXAMPLE_CONTACT: EngageContact(
        EXAMPLE_CONTACT, salesforce_id=LEAD_ID, salesforce_object="Lead"
    ),
    "e-unlinked": EngageContact("e-unlinked"),
}


@dataclass
class World:
    org: FakeOrg
    budget: FakeBudget
    clock: Clock
    client: TestClient


def _mapping(obj: str) -> Sequence[MappingRow]:
    assert obj == "Lead"
    return MAPPING


def fake_world() -> World:
    """A console wired to a fake org and budget (the schema test uses it too)."""
    org = FakeOrg(
        rows={
            LEAD_ID: {
                "Id": LEAD_ID,
                "LastName": "Ng",
                "Title": "VP Sales",
                "Account": {"Name": "Acme"},
                "Street": "1 Secret Way",
            }
        }
    )
    budget, clock = FakeBudget(), Clock()
    reads = Reads(
        ContactRecords(
            CONTACTS.get,
            _mapping,
            org.first,
            CachedReads(budget, seconds=60, retry_after=30, clock=clock),
        ),
        TaskSubject(
            org.describe, CachedReads(budget, seconds=3600, retry_after=30, clock=clock)
        ),
    )
    app = create_app(_settings(), _status, reads=reads)
    return World(org, budget, clock, TestClient(app, headers=AUTH))


@pytest.fixture
def world() -> World:
    return fake_world()


def test_a_linked_contact_answers_its_mapped_fields_from_one_query(
    world: World,
) -> None:
    answer = world.client.get("/api/v1/contacts/e-1/salesforce")
    assert answer.status_code == 200
    body = answer.json()
    assert body["salesforce_id"] == LEAD_ID and body["object"] == "Lead"
    assert {f["engage"]: f["value"] for f in body["fields"]} == {
        "last_name": "Ng",
        "title": "VP Sales",
        "company": "Acme",
    }
    assert len(world.org.queries) == 1
    assert world.budget.asked == [Priority.CONSOLE]


def test_a_do_not_read_write_field_is_never_queried_nor_answered(
    world: World,
) -> None:
    body = world.client.get("/api/v1/contacts/e-1/salesforce").json()
    assert "street" not in {f["engage"] for f in body["fields"]}
    assert "Street" not in world.org.queries[0]
    assert "Secret" not in str(body)


def test_a_second_read_within_the_cache_time_costs_no_query(world: World) -> None:
    first = world.client.get("/api/v1/contacts/e-1/salesforce").json()
    world.org.rows[LEAD_ID]["Title"] = "CEO"
    world.clock.now += 59
    second = world.client.get("/api/v1/contacts/e-1/salesforce").json()
    assert len(world.org.queries) == 1
    assert second["fields"] == first["fields"]
    assert second["age_seconds"] == 59


def test_a_copy_older_than_the_cache_time_is_read_again(world: World) -> None:
    world.client.get("/api/v1/contacts/e-1/salesforce")
    world.org.rows[LEAD_ID]["Title"] = "CEO"
    world.clock.now += 60
    body = world.client.get("/api/v1/contacts/e-1/salesforce").json()
    assert len(world.org.queries) == 2
    assert {f["engage"]: f["value"] for f in body["fields"]}["title"] == "CEO"
    assert body["age_seconds"] == 0


def test_a_budget_refusal_answers_429_with_retry_after_and_the_copy_and_its_age(
    world: World,
) -> None:
    world.client.get("/api/v1/contacts/e-1/salesforce")
    world.clock.now += 125
    world.budget.refusing = Blocked("share", "engage-sync used its share")
    answer = world.client.get("/api/v1/contacts/e-1/salesforce")
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "30"
    assert answer.headers["age"] == "125"
    body = answer.json()
    assert body["reason"] == "share" and body["cached_age_seconds"] == 125
    assert body["cached"]["fields"][0] == {
        "engage": "last_name",
        "salesforce": "LastName",
        "value": "Ng",
    }
    assert len(world.org.queries) == 1  # the refused read was not made


def test_a_budget_refusal_without_a_copy_answers_429_without_age(
    world: World,
) -> None:
    world.budget.refusing = Blocked("org-reserve", "the org has 5% left")
    answer = world.client.get("/api/v1/contacts/e-1/salesforce")
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "30"
    assert "age" not in answer.headers
    assert answer.json()["cached"] is None and world.org.queries == []


def test_request_limit_exceeded_from_salesforce_tells_the_budget_and_answers_429(
    world: World,
) -> None:
    world.org.fail = ThrottledError(
        Problem(ErrorKind.THROTTLED, "REQUEST_LIMIT_EXCEEDED", "limit", status=403)
    )
    answer = world.client.get("/api/v1/contacts/e-1/salesforce")
    assert answer.status_code == 429
    assert answer.json()["reason"] == "limit-exceeded"
    assert world.budget.exceeded == 1


@pytest.mark.parametrize(
    ("contact", "why"),
    [("e-nobody", "no contact"), ("e-unlinked", "not linked")],
)
def test_an_unknown_or_unlinked_contact_answers_404_without_a_call(
    world: World, contact: str, why: str
) -> None:
    answer = world.client.get(f"/api/v1/contacts/{contact}/salesforce")
    assert answer.status_code == 404
    assert why in answer.json()["detail"]
    assert world.org.queries == [] and world.budget.asked == []


def test_a_linked_record_gone_from_salesforce_answers_404(world: World) -> None:
    del world.org.rows[LEAD_ID]
    answer = world.client.get("/api/v1/contacts/e-1/salesforce")
    assert answer.status_code == 404
    assert "deleted or merged" in answer.json()["detail"]


def test_the_task_subject_picklist_lists_active_values_and_is_cached(
    world: World,
) -> None:
    first = world.client.get("/api/v1/picklists/task-subject")
    world.clock.now += 3599
    second = world.client.get("/api/v1/picklists/task-subject")
    assert first.status_code == second.status_code == 200
    assert first.json()["picklist"] is True
    assert [v["value"] for v in first.json()["values"]] == ["Call", "Send Quote"]
    assert first.json()["values"][0]["default"] is True
    assert world.org.describes == 1 and second.json()["age_seconds"] == 3599


def test_a_free_text_task_subject_answers_no_picklist() -> None:
    text = {"name": "Subject", "type": "string", "picklistValues": []}
    assert task_subject_picklist({"fields": [text]}) == {
        "picklist": False,
        "restricted": False,
        "values": [],
    }
    assert task_subject_picklist({"fields": []})["picklist"] is False


def test_without_salesforce_the_read_routes_answer_503() -> None:
    client = TestClient(create_app(_settings(), _status), headers=AUTH)
    for path in ("/api/v1/contacts/e-1/salesforce", "/api/v1/picklists/task-subject"):
        answer = client.get(path)
        assert answer.status_code == 503 and "retry-after" in answer.headers
