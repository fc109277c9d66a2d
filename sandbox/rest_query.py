"""query / queryAll endpoints with nextRecordsUrl paging over in-memory cursors."""

from __future__ import annotations

import itertools
from typing import Any

from sandbox import ids
from sandbox.access import organization_row
from sandbox.errors import ApiError
from sandbox.protocol import Request, Response
from sandbox.soql_eval import execute
from sandbox.state import OrgState

_locator_seq = itertools.count(1)


def _invalid_locator() -> ApiError:
    return ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


class QueryApi:
    def __init__(self, state: OrgState) -> None:
        self.state = state

    def _page_size(self, req: Request) -> int:
        size = self.state.page_size
        option = req.header("Sforce-Query-Options") or ""
        for part in option.split(";"):
            key, _, value = part.strip().partition("=")
            if key.lower() == "batchsize" and value.isdigit():
                # batchSize is a hint within 200..2000; never exceed the org's size.
                size = min(size, max(200, min(2000, int(value))))
        return size

    def _lookup(self, rid: str) -> dict[str, Any] | None:
        found = self.state.store.get(rid)
        return found[1] if found else None

    def handle(
        self, req: Request, version: str, endpoint: str, rest: list[str]
    ) -> Response:
        if req.method != "GET":
            raise ApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{req.method}' not allowed. Allowed are GET",
            )
        include_deleted = endpoint == "queryAll"
        if rest:
            return self._more(version, endpoint, rest[0], self._page_size(req))
        text = req.param("q")
        if text is None:
            raise ApiError(400, "MALFORMED_QUERY", "unexpected token: <EOF>")
        state, store = self.state, self.state.store

        def rows_of(name: str) -> list[dict[str, Any]]:
            if name == "Organization":
                return [organization_row(state.creds.org_id, state.access)]
            return store.all(name, include_deleted)

        with store.locked():
            # The user's schema: hidden fields and unreadable objects do not exist.
            result = execute(state.api_schema, text, rows_of, self._lookup, version)
        page_size = self._page_size(req)
        rows = result.records
        if len(rows) <= page_size:
            return Response(
                200, {"totalSize": result.total, "done": True, "records": rows}
            )
        qid = ids.make_id("01g", next(_locator_seq))
        self.state.save_cursor(qid, rows)
        return Response(200, self._page(version, endpoint, qid, rows, 0, page_size))

    def _more(
        self, version: str, endpoint: str, locator: str, page_size: int
    ) -> Response:
        qid, _, offset_text = locator.rpartition("-")
        rows = self.state.cursor(qid) if qid else None
        if rows is None or not offset_text.isdigit():
            raise _invalid_locator()
        offset = int(offset_text)
        if offset > len(rows):
            raise _invalid_locator()
        return Response(
            200, self._page(version, endpoint, qid, rows, offset, page_size)
        )

    @staticmethod
    def _page(
        version: str,
        endpoint: str,
        qid: str,
        rows: list[dict[str, Any]],
        offset: int,
        page_size: int,
    ) -> dict[str, Any]:
        end = offset + page_size
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows)}
        if end < len(rows):
            body["nextRecordsUrl"] = f"/services/data/v{version}/{endpoint}/{qid}-{end}"
        body["records"] = rows[offset:end]
        return body
