"""Routing of /services/data/vXX.X/** to the endpoint handlers, plus /composite."""

from __future__ import annotations

import re
from typing import Any

from sandbox.dml import Dml
from sandbox.errors import ApiError, not_found
from sandbox.protocol import Request, Response
from sandbox.rest_composite import (
    MAX_HEAVY_SUBREQUESTS,
    MAX_SUBREQUESTS,
    CollectionsApi,
    halted,
    substitute,
)
from sandbox.rest_query import QueryApi
from sandbox.rest_sobjects import SObjectsApi
from sandbox.state import OrgState

VERSIONS = ("55.0", "56.0", "57.0", "58.0", "59.0", "60.0", "61.0", "62.0")
_VERSION_RE = re.compile(r"^v(\d{2}\.\d)$")
_REFERENCE_ID_RE = re.compile(r"^[A-Za-z0-9_]+$")


def _bad_reference(ref: str) -> str:
    return (
        f"Invalid reference specified. No value for {ref} found in {ref}. "
        f"Provided referenceId ('{ref}') and field are invalid or the field "
        "doesn't exist."
    )


class _Abort(Exception):
    """Raised inside the composite transaction only to roll it back."""


def version_list() -> list[dict[str, str]]:
    return [
        {"label": f"v{v}", "url": f"/services/data/v{v}", "version": v}
        for v in VERSIONS
    ]


def _limits(state: OrgState) -> dict[str, Any]:
    used = state.api_usage()

    def pair(n: int) -> dict[str, int]:
        return {"Max": n, "Remaining": n}

    return {
        "ConcurrentAsyncGetReportInstances": pair(200),
        "DailyApiRequests": {
            "Max": state.daily_limit,
            "Remaining": max(0, state.daily_limit - used),
        },
        "DailyAsyncApexExecutions": pair(250000),
        "DailyBulkApiBatches": pair(15000),
        "DailyBulkV2QueryFileStorageMB": pair(976562),
        "DailyBulkV2QueryJobs": pair(10000),
        "DailyDurableStreamingApiEvents": pair(10000),
        "DataStorageMB": pair(1024),
        "FileStorageMB": pair(1024),
    }


class RestApi:
    def __init__(self, state: OrgState) -> None:
        self.state = state
        self.dml = Dml(state)
        self.sobjects = SObjectsApi(self.dml)
        self.query = QueryApi(state)
        self.collections = CollectionsApi(self.dml)

    def handle(self, req: Request, force_all_or_none: bool = False) -> Response:
        """Answer one (already authenticated and counted) data API request."""
        try:
            return self._route(req, force_all_or_none)
        except ApiError as err:
            return Response.error(err)

    def _route(self, req: Request, force_all_or_none: bool) -> Response:
        segs = req.segments()
        if segs[:2] != ["services", "data"] or len(segs) < 3:
            raise not_found()
        m = _VERSION_RE.match(segs[2])
        if not m:
            raise not_found()
        version, rest = m.group(1), segs[3:]
        if not rest:
            return Response(
                200,
                {
                    "sobjects": f"/services/data/v{version}/sobjects",
                    "query": f"/services/data/v{version}/query",
                    "queryAll": f"/services/data/v{version}/queryAll",
                    "composite": f"/services/data/v{version}/composite",
                    "limits": f"/services/data/v{version}/limits",
                },
            )
        head = rest[0]
        if head == "limits" and len(rest) == 1 and req.method == "GET":
            return Response(200, _limits(self.state))
        if head in ("query", "queryAll"):
            return self.query.handle(req, version, head, rest[1:])
        if head == "sobjects":
            return self.sobjects.handle(req, version, rest[1:])
        if head == "composite" and len(rest) >= 2 and rest[1] == "sobjects":
            return self.collections.handle(req, version, rest[2:], force_all_or_none)
        if head == "composite" and len(rest) == 1 and req.method == "POST":
            return self._composite(req, version)
        raise not_found()

    def _composite(self, req: Request, version: str) -> Response:
        body = req.json_object()
        subs = body.get("compositeRequest")
        if not isinstance(subs, list) or not subs:
            raise ApiError(400, "INVALID_INPUT", "compositeRequest is required")
        if len(subs) > MAX_SUBREQUESTS:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                f"Max number of subrequests allowed is {MAX_SUBREQUESTS}",
            )
        heavy = sum(
            1
            for s in subs
            if isinstance(s, dict)
            and re.search(
                r"/(query|queryAll|composite/sobjects)\b", str(s.get("url", ""))
            )
        )
        if heavy > MAX_HEAVY_SUBREQUESTS:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                "Max number of query and sObject "
                f"Collections subrequests allowed is {MAX_HEAVY_SUBREQUESTS}",
            )
        seen: set[str] = set()
        for sub in subs:
            ref = sub.get("referenceId") if isinstance(sub, dict) else None
            if (
                not isinstance(ref, str)
                or not _REFERENCE_ID_RE.match(ref)
                or ref in seen
            ):
                raise ApiError(
                    400, "INVALID_INPUT", f"Invalid or duplicate referenceId: {ref}"
                )
            seen.add(ref)
        all_or_none = bool(body.get("allOrNone"))
        out: list[dict[str, Any]] = []
        failed: dict[str, Any] | None = None
        try:
            with self.state.store.transaction():
                failed = self._run_subrequests(req, subs, all_or_none, out)
                if failed:
                    raise _Abort()
        except _Abort:
            pass  # everything is undone; report every other subrequest as halted
        if failed:
            for entry in out:
                if entry is not failed:
                    entry.update(body=halted(), httpHeaders={}, httpStatusCode=400)
            for sub in subs[len(out) :]:
                out.append(
                    {
                        "body": halted(),
                        "httpHeaders": {},
                        "httpStatusCode": 400,
                        "referenceId": sub["referenceId"],
                    }
                )
        return Response(200, {"compositeResponse": out})

    def _run_subrequests(
        self,
        req: Request,
        subs: list[dict[str, Any]],
        all_or_none: bool,
        out: list[dict[str, Any]],
    ) -> dict[str, Any] | None:
        results: dict[str, Any] = {}
        headers = {
            k: v
            for k, v in req.headers.items()
            if k.lower() == "sforce-duplicate-rule-header"
        }
        for sub in subs:
            ref = sub["referenceId"]
            try:
                url = substitute(sub.get("url", ""), results)
                payload = substitute(sub.get("body"), results)
            except KeyError as missing:
                out.append(
                    {
                        "body": halted(_bad_reference(str(missing.args[0]))),
                        "httpHeaders": {},
                        "httpStatusCode": 400,
                        "referenceId": ref,
                    }
                )
                if all_or_none:
                    return out[-1]
                continue
            sub_headers = {**headers, **(sub.get("httpHeaders") or {})}
            sub_req = Request.with_json(
                str(sub.get("method", "GET")), str(url), payload, sub_headers
            )
            resp = self.handle(sub_req, force_all_or_none=all_or_none)
            entry = {
                "body": resp.body,
                "httpHeaders": resp.headers,
                "httpStatusCode": resp.status,
                "referenceId": ref,
            }
            out.append(entry)
            if resp.status < 300:
                results[ref] = resp.body
            failed = resp.status >= 400 or (
                isinstance(resp.body, list)
                and resp.body
                and all(isinstance(r, dict) and "success" in r for r in resp.body)
                and any(not r["success"] for r in resp.body)
            )
            if failed and all_or_none:
                return entry
        return None
