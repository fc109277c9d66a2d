"""/_sandbox/** admin endpoints: no auth, never counted, never faulted."""

from __future__ import annotations

from typing import Any

from sandbox.access import OrgAccess
from sandbox.admin_records import AdminInputError, AdminRecords
from sandbox.dml import Dml
from sandbox.errors import ApiError
from sandbox.faults import FaultPlan, FaultPlanError
from sandbox.protocol import Request, Response
from sandbox.rules import RuleError, RuleSet
from sandbox.seed import seed
from sandbox.state import OrgState


def _bad(message: str, status: int = 400) -> Response:
    return Response(status, {"error": message})


def ensure_integration_user(state: OrgState) -> None:
    if state.store.get(state.creds.user_id) is None:
        AdminRecords(Dml(state)).put(
            state.schema.objects["User"],
            {
                "Id": state.creds.user_id,
                "Username": state.creds.username,
                "FirstName": "Integration",
                "LastName": "User",
                "Alias": "integ",
                "Email": "integration@example.com",
                "IsActive": True,
            },
        )


class AdminApi:
    def __init__(self, state: OrgState) -> None:
        self.state = state
        self.records = AdminRecords(Dml(state))

    def handle(self, req: Request) -> Response:
        try:
            return self._route(req)
        except (
            AdminInputError,
            FaultPlanError,
            RuleError,
            ValueError,
            TypeError,
            KeyError,
        ) as exc:
            return _bad(str(exc))
        except ApiError as err:
            return _bad(err.message, err.status)

    def _route(self, req: Request) -> Response:
        segs = req.segments()[1:]
        key = (
            req.method,
            "/".join(segs[:2]) if segs[:1] == ["tokens"] else (segs[0] if segs else ""),
        )
        state = self.state
        if key == ("GET", "stats"):
            return Response(200, self.stats())
        if key == ("POST", "limits"):
            body = req.json_object()
            if "daily_api_limit" in body:
                state.set_daily_limit(int(body["daily_api_limit"]))
            if body.get("reset_usage"):
                state.store.set_counter("api_usage", 0)
            return Response(
                200, {"daily_limit": state.daily_limit, "api_calls": state.api_usage()}
            )
        if key == ("GET", "faults"):
            return Response(200, state.faults.snapshot())
        if key == ("POST", "faults"):
            state.faults.set_plan(FaultPlan.from_json(req.json() or {}))
            return Response(200, state.faults.snapshot())
        if key == ("POST", "tokens/expire"):
            body = req.json() or {}
            kinds = (
                ("access", "refresh") if body.get("include_refresh") else ("access",)
            )
            return Response(200, {"expired": state.store.revoke_tokens(kinds)})
        if key == ("GET", "rules"):
            return Response(200, state.rules.to_json())
        if key == ("POST", "rules"):
            state.set_rules(RuleSet.from_json(req.json_object()))
            return Response(200, state.rules.to_json())
        if key == ("GET", "config"):
            return Response(200, state.schema.config.to_json())
        if key == ("POST", "config"):
            state.set_config(state.schema.config.updated(req.json_object()))
            return Response(200, state.schema.config.to_json())
        if key == ("GET", "access"):
            return Response(200, state.access.to_json())
        if key == ("POST", "access"):
            state.set_access(OrgAccess.from_json(req.json_object()))
            return Response(200, state.access.to_json())
        if key[1] == "records" and len(segs) == 2:
            return self._records(req, segs[1])
        if key == ("POST", "seed"):
            body = req.json() or {}
            return Response(
                200,
                seed(
                    self.records,
                    int(body.get("leads", 0)),
                    int(body.get("contacts", 0)),
                    int(body.get("seed", 0)),
                ),
            )
        if key == ("POST", "reset"):
            self.reset()
            return Response(200, {"ok": True})
        return _bad(f"unknown admin endpoint: {req.method} {req.path}", 404)

    def stats(self) -> dict[str, Any]:
        counts = self.state.store.counts()
        return {
            "api_calls": self.state.api_usage(),
            "daily_limit": self.state.daily_limit,
            "records": {
                name: counts.get(name, 0) for name in self.state.schema.objects
            },
            "faults_injected": dict(self.state.faults.injected),
        }

    def reset(self) -> None:
        """Empty the org (records, rules, faults, usage, cursors) and give the
        integration user every permission back; tokens survive."""
        state = self.state
        state.store.delete_all_records()
        state.set_access(OrgAccess())
        state.store.set_counter("api_usage", 0)
        state.set_rules(RuleSet())
        state.faults.set_plan(FaultPlan())
        state.faults.injected.clear()
        with state.cursor_lock:
            state.cursors.clear()
        ensure_integration_user(state)

    def _records(self, req: Request, sobject: str) -> Response:
        obj = self.state.schema.get(sobject)
        if obj is None:
            return _bad(f"unknown sObject type: {sobject}", 404)
        if req.method == "GET":
            deleted = req.param("include_deleted") in ("1", "true")
            rows = [
                {k: v for k, v in r.items() if not k.startswith("_")}
                for r in self.state.store.all(obj.name, include_deleted=deleted)
            ]
            return Response(200, {"totalSize": len(rows), "records": rows})
        if req.method != "POST":
            return _bad("use GET or POST", 405)
        body = req.json_object()
        out: dict[str, Any] = {
            "ids": [],
            "created": [],
            "deleted": [],
            "merged": [],
            "converted": [],
        }
        touch = bool(body.get("touch_parents"))
        with self.state.store.transaction():
            for record in body.get("records") or []:
                rid, created = self.records.put(obj, record, touch)
                out["ids"].append(rid)
                out["created"].append(created)
            for rid in body.get("delete") or []:
                out["deleted"].append(self.records.delete(rid))
            for merge in body.get("merge") or []:
                out["merged"].append(
                    self.records.merge(merge["master_id"], list(merge["loser_ids"]))
                )
            for conv in body.get("convert") or []:
                out["converted"].append(
                    self.records.convert(
                        conv["lead_id"], conv.get("contact_id"), conv.get("account_id")
                    )
                )
        return Response(200, out)
