"""The Sync page: the On/Off toggle and poll interval per object, and the last poll."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from domain.crm_settings.document import document_data
from engage_sync.console.auth import Csrf
from engage_sync.console.pages import editing

router = APIRouter(include_in_schema=False)


def _rows(request: Request) -> tuple[list[dict[str, Any]], str, list[str]]:
    """One row per object: sync, interval, last incremental poll."""
    from engage_sync.connection.gather import last_polls

    crm = editing.crm_of(request)
    if crm is None:
        return [], "", [editing.NOT_CONFIGURED]
    settings, sha256, _ = crm.current()
    data = document_data(settings)["objects"]
    try:
        polls = {p.object: p for p in last_polls(crm.kafka) if p.kind == "incremental"}
        problems: list[str] = []
    except Exception as exc:  # the page still edits without the poller's state
        polls, problems = {}, [f"last polls unreadable: {exc}"]
    rows = [
        {
            "object": obj,
            "sync": data.get(obj, {}).get("sync", False),
            "poll_interval": data.get(obj, {}).get("poll_interval", "5m"),
            "poll": polls.get(obj),
        }
        for obj in editing.OBJECTS
    ]
    return rows, sha256, problems


def _page(
    request: Request, problems: list[str] | None = None, status_code: int = 200
) -> Response:
    rows, sha256, read_problems = _rows(request)
    return editing.render(
        request,
        "sync.html",
        "sync",
        "Sync",
        status_code=status_code,
        rows=rows,
        base_sha256=sha256,
        problems=(problems or []) + read_problems,
        saved=request.query_params.get("saved"),
    )


@router.get("/sync", response_class=HTMLResponse)
def show(request: Request) -> Response:
    return _page(request)


@router.post("/sync", response_class=HTMLResponse, dependencies=[Csrf])
async def save(request: Request) -> Response:
    form = await request.form()

    def change(data: dict[str, Any]) -> None:
        for obj in editing.OBJECTS:
            on = form.get(f"sync.{obj}") == "on"
            interval = editing.form_text(form, f"poll_interval.{obj}")
            known = obj in data.get("objects", {})
            if not (on or known):
                continue  # an object never set stays out of the document
            entry = editing.object_entry(data, obj)
            entry["sync"] = on
            if interval:
                entry["poll_interval"] = interval

    outcome = await editing.saving(request, form, change)
    if outcome.sha256:
        return outcome.redirect("/sync")
    return await run_in_threadpool(_page, request, outcome.shown, outcome.status_code)
