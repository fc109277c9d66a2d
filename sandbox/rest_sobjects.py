"""/sobjects endpoints: CRUD, upsert by external id, describe, updated/deleted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sandbox import ids
from sandbox.dml import Dml, WriteOptions, multiple_matches
from sandbox.errors import ApiError, not_found
from sandbox.metadata import SObject, describe_global_entry, describe_object
from sandbox.protocol import Request, Response
from sandbox.values import format_datetime, now, parse_datetime

Record = dict[str, Any]
_SPECIAL = ("describe", "updated", "deleted")


def write_options(req: Request, version: str) -> WriteOptions:
    header = (req.header("Sforce-Duplicate-Rule-Header") or "").replace(" ", "").lower()
    return WriteOptions(version=version, allow_save="allowsave=true" in header)


def render_record(
    obj: SObject, record: Record, version: str, fields: list[str] | None = None
) -> Record:
    out: Record = {
        "attributes": {
            "type": obj.name,
            "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}",
        }
    }
    if fields is None:
        names = [f.name for f in obj.fields]
    else:
        names = []
        for name in fields:
            f = obj.field(name)
            if f is None:
                raise ApiError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on "
                    f"entity '{obj.name}'. If you are attempting to use a "
                    "custom field, be sure to append the '__c' after the "
                    "custom field name. Please reference your WSDL or the "
                    "describe call for the appropriate names.",
                )
            names.append(f.name)
    for name in names:
        out[name] = record.get(name)
    return out


def _fields_param(req: Request) -> list[str] | None:
    raw = req.param("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def _method_not_allowed(method: str, allowed: str) -> ApiError:
    return ApiError(
        405,
        "METHOD_NOT_ALLOWED",
        f"HTTP Method '{method}' not allowed. Allowed are {allowed}",
    )


class SObjectsApi:
    def __init__(self, dml: Dml) -> None:
        self.dml = dml
        self.state = dml.state

    def handle(self, req: Request, version: str, rest: list[str]) -> Response:
        schema, access = self.state.api_schema, self.state.access
        if not rest:
            if req.method != "GET":
                raise _method_not_allowed(req.method, "GET")
            return Response(
                200,
                {
                    "encoding": "UTF-8",
                    "maxBatchSize": 200,
                    "sobjects": [
                        describe_global_entry(o, version, access.on_object(o.name))
                        for o in schema.objects.values()
                    ],
                },
            )
        obj = schema.get(rest[0])
        if obj is None:
            raise not_found()
        if len(rest) == 1:
            return self._collection(req, version, obj)
        if len(rest) == 2 and rest[1] in _SPECIAL:
            if req.method != "GET":
                raise _method_not_allowed(req.method, "GET")
            if rest[1] == "describe":
                return Response(
                    200, describe_object(obj, version, access.on_object(obj.name))
                )
            return self._replication(req, obj, rest[1])
        if len(rest) == 2:
            return self._by_id(req, version, obj, rest[1])
        if len(rest) == 3:
            return self._by_external_id(req, version, obj, rest[1], rest[2])
        raise not_found()

    def _collection(self, req: Request, version: str, obj: SObject) -> Response:
        if req.method == "GET":
            return Response(
                200,
                {
                    "objectDescribe": describe_global_entry(
                        obj, version, self.state.access.on_object(obj.name)
                    ),
                    "recentItems": [],
                },
            )
        if req.method != "POST":
            raise _method_not_allowed(req.method, "GET,POST")
        rid = self.dml.create(obj.name, req.json_object(), write_options(req, version))
        return Response(
            201,
            {"id": rid, "success": True, "errors": []},
            {"Location": f"/services/data/v{version}/sobjects/{obj.name}/{rid}"},
        )

    def _by_id(self, req: Request, version: str, obj: SObject, rid: str) -> Response:
        opts = write_options(req, version)
        if req.method == "GET":
            record = self.dml.existing(obj, rid)
            return Response(
                200, render_record(obj, record, version, _fields_param(req))
            )
        if req.method == "PATCH":
            self.dml.update(obj.name, rid, req.json_object(), opts)
            return Response(204)
        if req.method == "DELETE":
            self.dml.delete(obj.name, rid, opts)
            return Response(204)
        if req.method == "POST" and rid == "Id":
            # POST /sobjects/T/Id is "upsert with a null Id": always a create.
            new_id = self.dml.create(obj.name, req.json_object(), opts)
            return Response(
                201, {"id": new_id, "success": True, "errors": [], "created": True}
            )
        raise _method_not_allowed(req.method, "GET,PATCH,DELETE")

    def _by_external_id(
        self, req: Request, version: str, obj: SObject, field: str, value: str
    ) -> Response:
        opts = write_options(req, version)
        if req.method == "PATCH":
            rid, created = self.dml.upsert(
                obj.name, field, value, req.json_object(), opts
            )
            body = {"id": rid, "success": True, "errors": [], "created": created}
            headers = {
                "Location": f"/services/data/v{version}/sobjects/{obj.name}/{rid}"
            }
            return Response(201 if created else 200, body, headers)
        f = obj.field(field)
        if f is None or not (f.external_id or f.name == "Id"):
            raise not_found()
        matches = (
            [value]
            if f.name == "Id"
            else self.state.store.find(obj.name, f.name, value)
        )
        if not matches:
            raise not_found()
        if len(matches) > 1:
            raise multiple_matches(obj.name, matches, version)
        if req.method == "GET":
            record = self.dml.existing(obj, matches[0])
            return Response(
                200, render_record(obj, record, version, _fields_param(req))
            )
        if req.method == "DELETE":
            self.dml.delete(obj.name, matches[0], opts)
            return Response(204)
        raise _method_not_allowed(req.method, "GET,PATCH,DELETE")

    def _replication(self, req: Request, obj: SObject, kind: str) -> Response:
        start_raw, end_raw = req.param("start"), req.param("end")
        if not start_raw or not end_raw:
            raise ApiError(
                400, "MISSING_ARGUMENT", "start and end parameters are required"
            )
        start, end = parse_datetime(start_raw), parse_datetime(end_raw)
        if start is None or end is None:
            raise ApiError(
                400,
                "INVALID_REPLICATION_DATE",
                "start and end must be valid dateTime values",
            )
        # Replication works on whole minutes: seconds are ignored.
        start = start.replace(second=0, microsecond=0)
        end = end.replace(second=0, microsecond=0)
        current = now().replace(second=0)
        if end < start:
            raise ApiError(400, "INVALID_REPLICATION_DATE", "EndDate before StartDate")
        max_days = 30 if kind == "updated" else 15
        if start < current - timedelta(days=max_days):
            raise ApiError(
                400,
                "INVALID_REPLICATION_DATE",
                f"startDate cannot be more than {max_days} days ago",
            )
        # Rows up to `end` are returned, but coverage never claims the current
        # (unfinished) minute: the next poll re-reads it, so nothing is lost.
        lo, hi = format_datetime(start), format_datetime(end)
        covered = format_datetime(min(end, current))
        rows = self.state.store.all(obj.name, include_deleted=(kind == "deleted"))
        if kind == "updated":
            hits = [r["Id"] for r in rows if lo <= r["SystemModstamp"] < hi]
            return Response(200, {"ids": hits, "latestDateCovered": covered})
        deleted = [r for r in rows if r.get("IsDeleted")]
        gone = [
            {"id": r["Id"], "deletedDate": r["_DeletedDate"]}
            for r in deleted
            if lo <= (r.get("_DeletedDate") or "") < hi
        ]
        earliest = min((r.get("_DeletedDate") or hi for r in deleted), default=hi)
        earliest_dt = parse_datetime(earliest)
        assert earliest_dt is not None
        return Response(
            200,
            {
                "deletedRecords": gone,
                "earliestDateAvailable": format_datetime(
                    earliest_dt.replace(second=0, microsecond=0)
                ),
                "latestDateCovered": covered,
            },
        )


def valid_id_or_none(value: str) -> str | None:
    try:
        return ids.to18(value)
    except ValueError:
        return None
