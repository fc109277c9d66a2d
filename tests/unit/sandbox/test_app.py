"""The request pipeline without sockets: auth, counting, limit header, faults, admin."""

from __future__ import annotations

from typing import Any

from sandbox.faults import FaultPlan
from sandbox.protocol import Request, Response
from sandbox.server import SandboxApp
from sandbox.state import OrgState

V = "/services/data/v59.0"


def send(
    app: SandboxApp,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Response | None:
    return app.dispatch(Request.with_json(method, path, body, headers)).response


def status_of(
    app: SandboxApp,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> int:
    resp = send(app, method, path, body, headers)
    assert resp is not None
    return resp.status


def test_data_calls_are_counted_and_carry_the_usage_header(
    app: SandboxApp, state: OrgState, bearer: dict[str, str]
) -> None:
    for n in (1, 2):
        resp = send(app, "GET", f"{V}/limits", headers=bearer)
        assert resp is not None and resp.status == 200
        assert resp.headers["Sforce-Limit-Info"] == f"api-usage={n}/1000"
    assert state.api_usage() == 2


def test_unauthenticated_calls_are_not_counted(
    app: SandboxApp, state: OrgState
) -> None:
    resp = send(app, "GET", f"{V}/limits")
    assert resp is not None and resp.status == 401
    assert resp.headers["Sforce-Limit-Info"] == "api-usage=0/1000"
    assert status_of(app, "GET", "/services/data/") == 200
    assert state.api_usage() == 0


def test_limit_exceeded(
    app: SandboxApp, state: OrgState, bearer: dict[str, str]
) -> None:
    state.daily_limit = 1
    assert status_of(app, "GET", f"{V}/limits", headers=bearer) == 200
    resp = send(app, "GET", f"{V}/limits", headers=bearer)
    assert resp is not None and resp.status == 403
    assert resp.body == [
        {
            "message": "TotalRequests Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]
    assert state.api_usage() == 1


def test_admin_calls_are_free_and_never_faulted(
    app: SandboxApp, state: OrgState
) -> None:
    state.faults.set_plan(FaultPlan.from_json({"rates": {"SERVER_UNAVAILABLE": 1.0}}))
    stats = send(app, "GET", "/_sandbox/stats")
    assert stats is not None and stats.status == 200
    assert stats.body["api_calls"] == 0 and stats.body["records"]["User"] == 1
    assert state.api_usage() == 0


def test_request_faults(
    app: SandboxApp, state: OrgState, bearer: dict[str, str]
) -> None:
    state.faults.set_plan(
        FaultPlan.from_json(
            {
                "next": [
                    {"fault": "DROP_CONNECTION", "count": 1},
                    {"fault": "UNKNOWN_EXCEPTION", "count": 1},
                    {"fault": "INVALID_SESSION_ID", "count": 1},
                ]
            }
        )
    )
    assert send(app, "GET", f"{V}/limits", headers=bearer) is None
    assert status_of(app, "GET", f"{V}/limits", headers=bearer) == 500
    assert status_of(app, "GET", f"{V}/limits", headers=bearer) == 401
    # ...and the token really is expired now.
    assert status_of(app, "GET", f"{V}/limits", headers=bearer) == 401


def test_drop_after_write_commits(
    app: SandboxApp, state: OrgState, bearer: dict[str, str]
) -> None:
    state.faults.set_plan(
        FaultPlan.from_json({"next": [{"fault": "DROP_AFTER_WRITE", "count": 1}]})
    )
    assert send(app, "POST", f"{V}/sobjects/Account/", {"Name": "A"}, bearer) is None
    assert state.store.counts()["Account"] == 1


def test_admin_endpoints(app: SandboxApp, state: OrgState) -> None:
    def admin(method: str, path: str, body: Any = None) -> Any:
        resp = send(app, method, f"/_sandbox/{path}", body)
        assert resp is not None
        return resp.status, resp.body

    assert admin("POST", "limits", {"daily_api_limit": 50, "reset_usage": True}) == (
        200,
        {"daily_limit": 50, "api_calls": 0},
    )
    status, plan = admin("POST", "faults", {"latency_ms": 5})
    assert status == 200 and plan["latency_ms"] == 5
    assert admin("POST", "faults", {"rates": {"BOGUS": 1}})[0] == 400
    assert admin("POST", "rules", {"validation_rules": [{"object": "Lead"}]})[0] == 400
    assert admin("POST", "config", {"task_custom_fields": False})[1] == {
        "task_custom_fields": False,
        "ext_id_unique": True,
    }
    task = state.schema.get("Task")
    assert task is not None and task.field("Engage_Activity_Id__c") is None
    status, out = admin("POST", "records/Contact", {"records": [{"LastName": "A"}]})
    assert status == 200 and out["created"] == [True]
    assert admin("POST", "records/Contact", {"records": [{"Nope": 1}]})[0] == 400
    assert admin("GET", "records/Nope")[0] == 404
    assert admin("POST", "tokens/expire", {})[1] == {"expired": 0}
    assert admin("POST", "reset", {}) == (200, {"ok": True})
    # A reset keeps what the org itself is: its integration user.
    assert state.store.counts() == {"User": 1}
    assert admin("GET", "nothing")[0] == 404


def test_seed_is_deterministic(app: SandboxApp, state: OrgState) -> None:
    def dump() -> list[tuple[Any, ...]]:
        rows = state.store.all("Lead")
        return [
            (r["Name"], r["Email"], r["Phone"], r["Title"], r["AnnualRevenue"])
            for r in rows
        ]

    send(app, "POST", "/_sandbox/seed", {"leads": 30, "contacts": 10, "seed": 5})
    first = dump()
    send(app, "POST", "/_sandbox/reset", {})
    send(app, "POST", "/_sandbox/seed", {"leads": 30, "contacts": 10, "seed": 5})
    assert dump() == first
    revenues = sorted(r[4] for r in first)
    assert revenues[0] < 1_000_000 < revenues[-1]
    assert any(e != e.lower() for _, e, *_ in first)  # mixed-case emails
