"""sObject Collections (/composite/sobjects) and Composite (/composite) endpoints."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from sandbox.dml import Dml, WriteOptions
from sandbox.errors import ApiError, not_found, record_error
from sandbox.protocol import Request, Response
from sandbox.rest_sobjects import render_record, valid_id_or_none, write_options
from sandbox.values import normalize_key

MAX_COLLECTION = 200
MAX_SUBREQUESTS = 25
MAX_HEAVY_SUBREQUESTS = 5
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request "
    "was using AllOrNone header",
    "fields": [],
}
HALTED_MESSAGE = (
    "The transaction was rolled back since another operation in the same "
    "transaction failed."
)
_REF_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


class _RollBack(Exception):
    """Raised inside a transaction only to undo it."""


def _too_many() -> ApiError:
    return ApiError(
        400,
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call",
    )


def _records_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ApiError(400, "JSON_PARSER_ERROR", "records must be a list of objects")
    if len(records) > MAX_COLLECTION:
        raise _too_many()
    return records


class CollectionsApi:
    def __init__(self, dml: Dml) -> None:
        self.dml = dml
        self.state = dml.state

    def handle(
        self,
        req: Request,
        version: str,
        rest: list[str],
        force_all_or_none: bool = False,
    ) -> Response:
        opts = write_options(req, version)
        if not rest and req.method in ("POST", "PATCH"):
            body = req.json_object()
            records = _records_of(body)
            all_or_none = force_all_or_none or bool(body.get("allOrNone"))
            op = self._create if req.method == "POST" else self._update
            return Response(200, self._run(records, all_or_none, lambda r: op(r, opts)))
        if not rest and req.method == "DELETE":
            raw_ids = [i for i in (req.param("ids") or "").split(",") if i]
            if len(raw_ids) > MAX_COLLECTION:
                raise _too_many()
            all_or_none = force_all_or_none or req.param("allOrNone") == "true"
            return Response(
                200,
                self._run(
                    [{"id": i} for i in raw_ids],
                    all_or_none,
                    lambda r: self._delete(r["id"], opts),
                ),
            )
        if len(rest) == 1 and req.method in ("GET", "POST"):
            return self._retrieve(req, version, rest[0])
        if len(rest) == 2 and req.method == "PATCH":
            return self._upsert(req, opts, rest[0], rest[1], force_all_or_none)
        raise not_found()

    def _run(
        self,
        records: list[dict[str, Any]],
        all_or_none: bool,
        op: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Apply op per record, each in a savepoint; undo all on allOrNone failure."""
        results: list[dict[str, Any]] = []
        store = self.state.store
        try:
            with store.transaction():
                for record in records:
                    try:
                        with store.transaction():
                            results.append(op(record))
                    except ApiError as err:
                        results.append(
                            {"id": None, "success": False, "errors": [err.item()]}
                        )
                if all_or_none and any(not r["success"] for r in results):
                    raise _RollBack()
        except _RollBack:
            results = [
                r
                if not r["success"]
                else {"id": None, "success": False, "errors": [dict(ROLLED_BACK)]}
                for r in results
            ]
        return results

    def _create(self, record: dict[str, Any], opts: WriteOptions) -> dict[str, Any]:
        sobject = (record.get("attributes") or {}).get("type")
        if not sobject:
            raise record_error("INVALID_TYPE", "Must send a concrete entity type.", [])
        if self.state.api_schema.get(sobject) is None:
            raise record_error(
                "INVALID_TYPE", f"sObject type '{sobject}' is not supported.", []
            )
        if record.get("id") or record.get("Id"):
            raise record_error(
                "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
            )
        rid = self.dml.create(sobject, record, opts)
        return {"id": rid, "success": True, "errors": []}

    def _update(self, record: dict[str, Any], opts: WriteOptions) -> dict[str, Any]:
        rid = record.get("id") or record.get("Id")
        if not rid:
            raise record_error(
                "MISSING_ARGUMENT", "Id not specified in an update call", []
            )
        sobject = (record.get("attributes") or {}).get("type")
        body = {k: v for k, v in record.items() if k not in ("id", "Id", "attributes")}
        if not sobject:
            found = self.state.store.get(valid_id_or_none(rid) or "")
            if found is None:
                raise record_error(
                    "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []
                )
            sobject = found[0]
        try:
            self.dml.update(sobject, rid, body, opts)
        except ApiError as err:
            if err.status == 404:
                raise record_error(err.error_code, err.message, []) from None
            raise
        return {"id": valid_id_or_none(rid), "success": True, "errors": []}

    def _delete(self, rid: str, opts: WriteOptions) -> dict[str, Any]:
        rid18 = valid_id_or_none(rid)
        found = self.state.store.get(rid18) if rid18 else None
        if found is None:
            raise record_error(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []
            )
        if found[1].get("IsDeleted"):
            raise record_error("ENTITY_IS_DELETED", "entity is deleted", [])
        self.dml.delete(found[0], rid, opts)
        return {"id": rid18, "success": True, "errors": []}

    def _upsert(
        self,
        req: Request,
        opts: WriteOptions,
        sobject: str,
        ext: str,
        force_all_or_none: bool,
    ) -> Response:
        obj = self.dml.object(sobject)
        field = obj.field(ext)
        if field is None or not field.external_id:
            raise not_found()
        body = req.json_object()
        records = _records_of(body)
        all_or_none = force_all_or_none or bool(body.get("allOrNone"))
        keys = Counter(
            normalize_key(r[k])
            for r in records
            for k in r
            if k.lower() == field.name.lower() and r[k] not in (None, "")
        )

        def op(record: dict[str, Any]) -> dict[str, Any]:
            value = next(
                (v for k, v in record.items() if k.lower() == field.name.lower()), None
            )
            if value in (None, ""):
                raise record_error(
                    "MISSING_ARGUMENT", f"{field.name} not specified", []
                )
            if keys[normalize_key(value)] > 1:
                raise record_error(
                    "DUPLICATE_EXTERNAL_ID",
                    f"Duplicate external id specified: {value}",
                    [field.name],
                )
            fields = {k: v for k, v in record.items() if k != "attributes"}
            try:
                rid, created = self.dml.upsert(
                    obj.name, field.name, str(value), fields, opts
                )
            except ApiError as err:
                if err.status == 300:
                    raise record_error(
                        "DUPLICATE_EXTERNAL_ID",
                        f"Multiple records found for {field.name}: {value}",
                        [field.name],
                    ) from None
                raise
            return {"id": rid, "success": True, "errors": [], "created": created}

        return Response(200, self._run(records, all_or_none, op))

    def _retrieve(self, req: Request, version: str, sobject: str) -> Response:
        obj = self.dml.object(sobject)
        if req.method == "POST":
            body = req.json_object()
            raw_ids, fields = body.get("ids") or [], body.get("fields") or []
        else:
            raw_ids = [i for i in (req.param("ids") or "").split(",") if i]
            fields = [f for f in (req.param("fields") or "").split(",") if f]
        if not fields:
            raise ApiError(400, "MISSING_ARGUMENT", "fields parameter is required")
        if len(raw_ids) > 2000:
            raise ApiError(400, "EXCEEDED_ID_LIMIT", "too many ids")
        wanted = [valid_id_or_none(i) for i in raw_ids]
        rows = self.state.store.get_many(w for w in wanted if w)
        out: list[dict[str, Any] | None] = []
        for rid in wanted:
            row = rows.get(rid) if rid else None
            if row is None or row.get("IsDeleted") or row["Id"][:3] != obj.key_prefix:
                out.append(None)
            else:
                out.append(render_record(obj, row, version, fields))
        return Response(200, out)


def _resolve(path_root: Any, path: str) -> Any:
    value = path_root
    for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        key, index = part
        if key:
            if not isinstance(value, dict) or key not in value:
                raise KeyError(key)
            value = value[key]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                raise KeyError(index)
            value = value[int(index)]
    return value


def substitute(value: Any, results: dict[str, Any]) -> Any:
    """Replace @{ref.path} references with values from earlier subresponses."""
    if isinstance(value, dict):
        return {k: substitute(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, results) for v in value]
    if not isinstance(value, str) or "@{" not in value:
        return value

    def lookup(m: re.Match[str]) -> Any:
        ref, path = m.group(1), m.group(2)
        if ref not in results:
            raise KeyError(ref)
        return _resolve(results[ref], path)

    whole = _REF_RE.fullmatch(value)
    if whole:
        return lookup(whole)
    return _REF_RE.sub(lambda m: str(lookup(m)), value)


def halted(message: str = HALTED_MESSAGE) -> list[dict[str, Any]]:
    return [{"errorCode": "PROCESSING_HALTED", "message": message}]
